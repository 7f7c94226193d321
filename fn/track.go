package fn

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A Track is the part of a Track's spec the function works with.
type Track struct {
	// Name is the Track's name: the claim's name for a legacy XTrack.
	Name string
	Repo v1alpha1.Repository
	// Subscriptions is spec.subscriptions as written, nil when the Track
	// has none (a section).
	Subscriptions     *structpb.Struct
	Stations          []Station
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
}

// A ProviderConfigRef names the (Cluster)ProviderConfig of the Track's
// Tickets and Subscription.
type ProviderConfigRef struct {
	Kind string
	Name string
}

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

// ParseTrack reads and validates a Track's spec and applies its defaults.
// The XRD validates the same rules; they are checked again here because
// sections arrive as required resources and older objects may predate the
// schema.
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
	if t.Repo.SourceBranch == "" {
		t.Repo.SourceBranch = "main"
	}
	if t.ProviderConfigRef.Kind == "" {
		t.ProviderConfigRef.Kind = "ProviderConfig"
	}
	if t.ProviderConfigRef.Name == "" {
		t.ProviderConfigRef.Name = "default"
	}
	ss := list(spec, "stations")
	if len(ss) == 0 {
		return nil, invalid("spec.stations is empty: a Track needs at least one station")
	}
	t.Stations = make([]Station, 0, len(ss))
	seen := make(map[string]bool, len(ss))
	for i, v := range ss {
		s, err := parseStation(v.GetStructValue())
		if err != nil {
			return nil, invalid("spec.stations[%d]: %s", i, err)
		}
		if seen[s.Name] {
			return nil, invalid("two stations are named %q: station names must be unique", s.Name)
		}
		seen[s.Name] = true
		t.Stations = append(t.Stations, s)
	}
	return t, nil
}

func parseStation(v *structpb.Struct) (Station, error) {
	s := Station{
		Name:    str(v, "name"),
		Overlay: str(v, "overlay"),
		Branch:  str(v, "branch"),
		Tracks:  strs(v, "tracks"),
		Pin:     str(v, "pin"),
	}
	if !isDNSLabel(s.Name) {
		return s, fmt.Errorf("name %q is not a DNS label (lower-case letters, digits and '-', at most 63)", s.Name)
	}
	if s.Branch == "" {
		s.Branch = "env/" + s.Name
	}
	for _, a := range list(v, "applications") {
		r := v1alpha1.ApplicationReference{Name: str(a.GetStructValue(), "name"), Namespace: str(a.GetStructValue(), "namespace")}
		if r.Name == "" {
			return s, fmt.Errorf("station %s: an application has no name", s.Name)
		}
		if r.Namespace == "" {
			r.Namespace = "argocd"
		}
		s.Applications = append(s.Applications, r)
	}
	if len(s.Applications) == 0 && len(s.Tracks) == 0 {
		return s, fmt.Errorf("station %s has neither applications nor tracks: give it one or both", s.Name)
	}
	if len(s.Applications) > 0 && s.Overlay == "" {
		return s, fmt.Errorf("station %s has applications but no overlay: set overlay to its kustomize directory", s.Name)
	}
	if d := str(v, "soak"); d != "" {
		soak, err := time.ParseDuration(d)
		if err != nil || soak < 0 {
			return s, fmt.Errorf("station %s: soak %q is not a duration such as 10m or 1h30m", s.Name, d)
		}
		s.Soak = soak
	}
	return s, nil
}
