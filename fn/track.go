package fn

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/bounded"
)

// A Track is the part of a Track's spec the function works with.
type Track struct {
	// Name is the Track's name: the claim's name for a legacy XTrack.
	Name string
	Repo v1alpha1.Repository
	// Subscriptions is spec.subscriptions as written, nil when the Track
	// has none (a section).
	Subscriptions *structpb.Struct
	// GitPaths is spec.subscriptions.git.paths: the repository paths
	// whose changes are the Track's; none means every path.
	GitPaths []string
	Stations []Station
	// Windows are spec.windows: when changes may enter its stations.
	Windows           []TrackWindow
	ProviderConfigRef ProviderConfigRef
}

// A Station is one station of a Track, defaults applied.
type Station struct {
	Name         string
	Overlay      string
	Branch       string
	Applications []v1alpha1.ApplicationReference
	Tracks       []string
	Soak         time.Duration
	Pin          string
	// Manual is true for approval: Manual: a change enters the station
	// only once an Approval names it.
	Manual bool
}

// The values of spec.stations[].approval.
const (
	ApprovalAutomatic = "Automatic"
	ApprovalManual    = "Manual"
)

// A ProviderConfigRef names the (Cluster)ProviderConfig of the Track's
// Tickets and Subscription.
type ProviderConfigRef = xpv2.ProviderConfigReference

// Reasons of the Valid condition when a Track cannot be expanded.
const (
	ReasonInvalidTrack            = "InvalidTrack"
	ReasonCycle                   = "JunctionCycle"
	ReasonMissingTrack            = "MissingTrack"
	ReasonSectionHasSubscriptions = "SectionHasSubscriptions"
	ReasonDuplicateBranch         = "DuplicateBranch"
	ReasonTooDeep                 = "JunctionsTooDeep"
	ReasonRepoMismatch            = "SectionRepoMismatch"
	ReasonSharedSection           = "SharedSection"
	ReasonTooManyStations         = "TooManyStations"
	ReasonBranchIsSource          = "RenderedBranchIsSourceBranch"
)

// A TrackError is a problem with a Track tree the user must fix. It becomes
// the Track's Valid condition.
type TrackError struct {
	Reason  string
	Message string
}

func (e TrackError) Error() string { return e.Message }

// maxProblems is how many problems the Valid condition names; it counts the
// rest. A Track tree can have thousands, and the condition is written to
// the Track, its claim and an Event.
const maxProblems = 5

// Problems are what keeps a Track tree from being expanded: the first
// maxProblems found, and how many more there are.
type Problems struct {
	First []TrackError
	More  int
}

// Problem is p alone.
func Problem(p TrackError) Problems { return Problems{First: []TrackError{p}} }

// None reports whether there are no problems.
func (p Problems) None() bool { return len(p.First) == 0 }

func (p *Problems) add(e TrackError) {
	if len(p.First) == maxProblems {
		p.More++
		return
	}
	p.First = append(p.First, e)
}

// isDNSLabel reports whether s is a DNS label (RFC 1123).
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isDNSSubdomain reports whether s is a DNS subdomain (RFC 1123), the form
// of most Kubernetes object names.
func isDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

// ParseTrack reads and validates a Track's spec and applies its defaults.
// The XRD validates the same rules; they are checked again here because
// sections arrive as required resources and older objects may predate the
// schema. A problem names the field to edit; a repository URL is never
// quoted, as it may carry credentials.
func ParseTrack(name string, spec *structpb.Struct) (*Track, error) {
	t := &Track{
		Name: name,
		Repo: v1alpha1.Repository{URL: str(spec, "repo", "url"), SourceBranch: str(spec, "repo", "sourceBranch")},
		ProviderConfigRef: ProviderConfigRef{
			Kind: str(spec, "providerConfigRef", "kind"),
			Name: str(spec, "providerConfigRef", "name"),
		},
		Subscriptions: obj(spec, "subscriptions"),
	}
	invalid := func(format string, a ...any) error {
		return TrackError{Reason: ReasonInvalidTrack, Message: fmt.Sprintf("Track %s: ", name) + fmt.Sprintf(format, a...)}
	}
	if t.Repo.URL == "" {
		return nil, invalid("spec.repo.url is empty: set it to the config repository's URL")
	}
	if p := checkRepoURL(t.Repo.URL); p != "" {
		return nil, invalid("spec.repo.url %s", p)
	}
	if t.Repo.SourceBranch == "" {
		t.Repo.SourceBranch = v1alpha1.DefaultSourceBranch
	}
	if p := checkBranch(t.Repo.SourceBranch); p != "" {
		return nil, invalid("spec.repo.sourceBranch %s", p)
	}
	if t.ProviderConfigRef.Kind == "" {
		t.ProviderConfigRef.Kind = "ProviderConfig"
	}
	if k := t.ProviderConfigRef.Kind; k != "ProviderConfig" && k != "ClusterProviderConfig" {
		return nil, invalid("spec.providerConfigRef.kind must be ProviderConfig or ClusterProviderConfig")
	}
	if t.ProviderConfigRef.Name == "" {
		t.ProviderConfigRef.Name = "default"
	}
	if !isDNSSubdomain(t.ProviderConfigRef.Name) {
		return nil, invalid("spec.providerConfigRef.name must be the name of a ProviderConfig: a DNS subdomain of at most 253 characters")
	}
	if n := len(list(t.Subscriptions, "images")); n > maxImages {
		return nil, invalid("spec.subscriptions.images has %d images, more than %d: split the Track", n, maxImages)
	}
	if n := len(list(t.Subscriptions, "git", "paths")); n > maxGitPaths {
		return nil, invalid("spec.subscriptions.git.paths has %d paths, more than %d: name their parent directories instead", n, maxGitPaths)
	}
	t.GitPaths = strs(t.Subscriptions, "git", "paths")
	for i, p := range t.GitPaths {
		if problem := checkGitPath(p); problem != "" {
			return nil, invalid("spec.subscriptions.git.paths[%d] %s", i, problem)
		}
	}
	ss := list(spec, "stations")
	if len(ss) == 0 {
		return nil, invalid("spec.stations is empty: a Track needs at least one station")
	}
	if len(ss) > maxStations {
		return nil, invalid("spec.stations has %d stations, more than %d: split the Track into sections fed by a junction", len(ss), maxStations)
	}
	t.Stations = make([]Station, 0, len(ss))
	seen := make(map[string]bool, len(ss))
	for i, v := range ss {
		s, err := parseStation(i, v.GetStructValue())
		if err != nil {
			return nil, invalid("%s", err)
		}
		if seen[s.Name] {
			return nil, invalid("two stations are named %q: station names must be unique", s.Name)
		}
		seen[s.Name] = true
		t.Stations = append(t.Stations, s)
	}
	windows, err := parseWindows(name, spec, t.Stations, t.Subscriptions == nil)
	if err != nil {
		return nil, invalid("%s", err)
	}
	t.Windows = windows
	for i, s := range t.Stations {
		if s.Branch != t.Repo.SourceBranch {
			continue
		}
		how := "is"
		if str(ss[i].GetStructValue(), "branch") == "" {
			how = "defaults to"
		}
		return nil, TrackError{Reason: ReasonBranchIsSource, Message: fmt.Sprintf(
			"Track %s: spec.stations[%d].branch %s %s, the source branch (spec.repo.sourceBranch): publishing replaces a branch's whole tree; set spec.stations[%d].branch to another branch",
			name, i, how, s.Branch, i)}
	}
	return t, nil
}

func parseStation(i int, v *structpb.Struct) (Station, error) {
	s := Station{
		Name:    str(v, "name"),
		Overlay: str(v, "overlay"),
		Branch:  str(v, "branch"),
		Tracks:  strs(v, "tracks"),
		Pin:     str(v, "pin"),
	}
	field := func(f string) string { return fmt.Sprintf("spec.stations[%d].%s", i, f) }
	if !isDNSLabel(s.Name) {
		return s, errors.Errorf("spec.stations[%d]: name %q is not a DNS label (lower-case letters, digits and '-', at most 63)", i, quoted(s.Name))
	}
	if s.Branch == "" {
		s.Branch = "env/" + s.Name
	}
	if p := checkBranch(s.Branch); p != "" {
		return s, errors.Errorf("%s %s", field("branch"), p)
	}
	if p := checkOverlay(s.Overlay); p != "" {
		return s, errors.Errorf("%s %s", field("overlay"), p)
	}
	if s.Pin != "" && !v1alpha1.IsChangeID(s.Pin) {
		return s, errors.Errorf("%s must be a change id, 12 hexadecimal digits as status.stations[].change shows", field("pin"))
	}
	switch a := str(v, "approval"); a {
	case "", ApprovalAutomatic:
	case ApprovalManual:
		s.Manual = true
	default:
		return s, errors.Errorf("%s %q must be Automatic or Manual: Manual stops each change before the station until an Approval names it", field("approval"), quoted(a))
	}
	if len(s.Tracks) > maxTracks {
		return s, errors.Errorf("%s names %d Tracks, more than %d: feed fewer sections from this junction", field("tracks"), len(s.Tracks), maxTracks)
	}
	for j, tr := range s.Tracks {
		if !isDNSSubdomain(tr) {
			return s, errors.Errorf("%s[%d] must be the name of a Track in this namespace: a DNS subdomain of at most 253 characters", field("tracks"), j)
		}
	}
	apps := list(v, "applications")
	if len(apps) > maxApplications {
		return s, errors.Errorf("%s has %d Applications, more than %d: split the station", field("applications"), len(apps), maxApplications)
	}
	for j, a := range apps {
		r := v1alpha1.ApplicationReference{Name: str(a.GetStructValue(), "name"), Namespace: str(a.GetStructValue(), "namespace")}
		if r.Name == "" {
			return s, errors.Errorf("spec.stations[%d]: station %s: an application has no name", i, s.Name)
		}
		if !isDNSSubdomain(r.Name) {
			return s, errors.Errorf("%s[%d].name must be the name of an Argo CD Application: a DNS subdomain of at most 253 characters", field("applications"), j)
		}
		if r.Namespace == "" {
			r.Namespace = v1alpha1.DefaultApplicationNamespace
		}
		if !isDNSLabel(r.Namespace) {
			return s, errors.Errorf("%s[%d].namespace must be a namespace: a DNS label of at most 63 characters", field("applications"), j)
		}
		s.Applications = append(s.Applications, r)
	}
	if len(s.Applications) == 0 && len(s.Tracks) == 0 {
		return s, errors.Errorf("spec.stations[%d]: station %s has neither applications nor tracks: give it one or both", i, s.Name)
	}
	if len(s.Applications) > 0 && s.Overlay == "" {
		return s, errors.Errorf("spec.stations[%d]: station %s has applications but no overlay: set overlay to its kustomize directory", i, s.Name)
	}
	if d := str(v, "soak"); d != "" {
		soak, err := time.ParseDuration(d)
		if err != nil || soak < 0 {
			return s, errors.Errorf("spec.stations[%d]: station %s: soak %q is not a duration such as 10m or 1h30m", i, s.Name, quoted(d))
		}
		s.Soak = soak
	}
	return s, nil
}

// maxQuotedBytes bounds what a message quotes of a value the user wrote.
const maxQuotedBytes = 64

// quoted is s cut to what a message quotes of it, on a rune boundary.
func quoted(s string) string {
	return bounded.Text(s, maxQuotedBytes)
}
