package fn

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// now is the clock of every test.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const repoURL = "https://git.example.com/acme/guestbook-config.git"

func ago(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }

// y is a Struct from YAML.
func y(t testing.TB, s string) *structpb.Struct {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		t.Fatalf("cannot convert YAML: %v\n%s", err, s)
	}
	st := &structpb.Struct{}
	if err := st.UnmarshalJSON(j); err != nil {
		t.Fatalf("cannot unmarshal JSON: %v", err)
	}
	return st
}

// change is a change with one image, tag tag, discovered d ago.
func change(tag string, d time.Duration) *v1alpha1.Change {
	commit := strings.Repeat(fmt.Sprintf("%x", len(tag)%16), 40)
	images := []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: tag}}
	return &v1alpha1.Change{ID: v1alpha1.ChangeID(commit, images), Commit: commit, Images: images, DiscoveredAt: ago(d)}
}

var (
	changeA = change("v1.0.0", 3*time.Hour)
	changeB = change("v1.1.0-b", 2*time.Hour)
	changeC = change("v1.2.0-rc.1", time.Hour)
)

// changeYAML is c as encoding/json writes it, which YAML reads.
func changeYAML(c *v1alpha1.Change) string {
	j, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(j)
}

// asStruct is the typed object o as the API server would serve it: through
// encoding/json, independently of the function's own codec.
func asStruct(t testing.TB, o any) *structpb.Struct {
	t.Helper()
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("cannot marshal %T: %v", o, err)
	}
	s := &structpb.Struct{}
	if err := s.UnmarshalJSON(j); err != nil {
		t.Fatalf("cannot unmarshal %T: %v", o, err)
	}
	return s
}

// track is a Track XR's YAML with the given stations (YAML flow list items).
func trackYAML(name string, subscribes bool, stations ...string) string {
	subs := ""
	if subscribes {
		subs = "  subscriptions: {images: [{repository: ghcr.io/acme/guestbook, strategy: SemVer}], git: {}}\n"
	}
	return fmt.Sprintf(`apiVersion: k8sta.io/v1alpha1
kind: Track
metadata: {name: %s, namespace: team-a}
spec:
  repo: {url: %s}
%s  stations:
  - %s
`, name, repoURL, subs, strings.Join(stations, "\n  - "))
}

// st is a station with one Application named after it.
func st(name string, extra ...string) string {
	e := ""
	if len(extra) > 0 {
		e = ", " + strings.Join(extra, ", ")
	}
	return fmt.Sprintf("{name: %s, overlay: overlays/%s, applications: [{name: app-%s}]%s}", name, name, name, e)
}

// obsTicket is an observed Ticket at path given change spec, with live
// change live, Ready status ready (reason R, message message, since two hours
// ago), phase and verifiedAt.
type obsTicket struct {
	path       string
	spec, live *v1alpha1.Change
	ready      corev1.ConditionStatus
	phase      string
	verified   *metav1.Time
	message    string
	// apps is status.atProvider.applications.
	apps []v1alpha1.ApplicationStatus
	// blockedOn is status.atProvider.blockedOn.
	blockedOn *v1alpha1.BlockedOn
	// uid and resourceVersion are the version of the Ticket, as the API
	// server writes them; none if empty.
	uid             types.UID
	resourceVersion string
}

func (o obsTicket) typed() *v1alpha1.Ticket {
	t := &v1alpha1.Ticket{
		TypeMeta: metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Ticket"},
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook-" + strings.ReplaceAll(o.path, ".", "-"), Namespace: "team-a",
			UID: o.uid, ResourceVersion: o.resourceVersion,
			Annotations: map[string]string{"crossplane.io/composition-resource-name": "ticket-" + o.path}},
		Spec: v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{Track: "guestbook", Station: o.path}},
	}
	if o.spec != nil {
		t.Spec.ForProvider.Change = *o.spec
	}
	t.Status.AtProvider = v1alpha1.TicketObservation{Change: o.live, Phase: o.phase, VerifiedAt: o.verified, Applications: o.apps, BlockedOn: o.blockedOn}
	t.Status.SetConditions(xpv2.Condition{Type: xpv2.TypeReady, Status: o.ready, Reason: "R", Message: o.message, LastTransitionTime: *ago(2 * time.Hour)})
	return t
}

func (o obsTicket) resource(t testing.TB) *fnv1.Resource {
	return &fnv1.Resource{Resource: asStruct(t, o.typed())}
}

// verifiedTicket is a Ticket that verified c d ago.
func verifiedTicket(path string, c *v1alpha1.Change, d time.Duration) obsTicket {
	return obsTicket{path: path, spec: c, live: c, ready: corev1.ConditionTrue, phase: v1alpha1.PhaseVerified, verified: ago(d)}
}

func subscriptionResource(t testing.TB, newest *v1alpha1.Change, overlayChanges ...v1alpha1.OverlayChange) *fnv1.Resource {
	s := &v1alpha1.Subscription{
		TypeMeta:   metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Subscription"},
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook-sub", Namespace: "team-a"},
		Spec:       v1alpha1.SubscriptionSpec{ForProvider: v1alpha1.SubscriptionParameters{}},
		Status:     v1alpha1.SubscriptionStatus{AtProvider: v1alpha1.SubscriptionObservation{Newest: newest, OverlayChanges: overlayChanges}},
	}
	s.Status.SetConditions(xpv2.Condition{Type: xpv2.TypeReady, Status: corev1.ConditionTrue, Reason: "Available"})
	return &fnv1.Resource{Resource: asStruct(t, s)}
}

// ticketWant is the desired Ticket name of section track at path.
func ticketWant(t testing.TB, name, track, path, overlay, app string, c *v1alpha1.Change, ready fnv1.Ready) *fnv1.Resource {
	branch := "env/" + path[strings.LastIndex(path, ".")+1:]
	return &fnv1.Resource{Ready: ready, Resource: y(t, fmt.Sprintf(`apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {name: %s, namespace: team-a}
spec:
  forProvider:
    track: %s
    station: %s
    change: %s
    repo: {url: %s, sourceBranch: main}
    overlay: %s
    branch: %s
    applications: [{name: %s, namespace: argocd}]
  providerConfigRef: {kind: ProviderConfig, name: default}
`, name, track, path, changeYAML(c), repoURL, overlay, branch, app))}
}

// stationsWant is status.stations, each "path change phase [key=value...] |
// message ^ history" with since now: the message (a station's) and the
// history (a YAML flow list, see verifiedAs) are optional, and so are the
// keys next, heldBy and until.
func stationsWant(t testing.TB, rows ...string) *structpb.Struct {
	return stationsSince(t, "2026-11-25T12:00:00Z", rows...)
}

// stationsSince is stationsWant with each station's since at since.
func stationsSince(t testing.TB, since string, rows ...string) *structpb.Struct {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		r, history, _ := strings.Cut(r, " ^ ")
		r, message, _ := strings.Cut(r, " | ")
		extra := ""
		if message != "" {
			extra += fmt.Sprintf(", message: %q", message)
		}
		if history != "" {
			extra += ", history: " + history
		}
		f := strings.Fields(r)
		for _, kv := range f[3:] {
			k, v, _ := strings.Cut(kv, "=")
			extra += fmt.Sprintf(", %s: '%s'", k, v)
		}
		if f[1] == "-" {
			out = append(out, fmt.Sprintf("{path: %s, phase: %s, since: '%s'%s}", f[0], f[2], since, extra))
			continue
		}
		out = append(out, fmt.Sprintf("{path: %s, change: %s, phase: %s, since: '%s'%s}", f[0], f[1], f[2], since, extra))
	}
	return y(t, "status: {stations: ["+strings.Join(out, ", ")+"]}")
}

// verifiedAs is a status.stations[].history entry: c, verified at (RFC
// 3339), in YAML flow style.
func verifiedAs(c *v1alpha1.Change, at string) string {
	images := make([]string, 0, len(c.Images))
	for _, i := range c.Images {
		images = append(images, fmt.Sprintf("{repository: %s, tag: %s}", i.Repository, i.Tag))
	}
	return fmt.Sprintf("{change: '%s', commit: '%s', images: [%s], discoveredAt: '%s', verifiedAt: '%s'}",
		c.ID, c.Commit, strings.Join(images, ", "), c.DiscoveredAt.UTC().Format(time.RFC3339), at)
}

// history is a row's history: the entries newest first.
func history(entries ...string) string { return " ^ [" + strings.Join(entries, ", ") + "]" }

// requiringControls are the function's requirements for a Track's
// operator controls in team-a.
func requiringControls(r *fnv1.Requirements) *fnv1.Requirements {
	if r == nil {
		r = &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{}}
	}
	ns := "team-a"
	for key, kind := range map[string]string{RequirementApprovals: "Approval", RequirementFreezes: "Freeze", RequirementPins: "Pin"} {
		r.Resources[key] = &fnv1.ResourceSelector{ApiVersion: "provider.k8sta.io/v1alpha1", Kind: kind, Namespace: &ns,
			Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{}}}}
	}
	return r
}

// withControls is required with what Crossplane fetched for the
// controls' requirements: objs, Approvals, Freezes and Pins, as the API
// server serves them. A requirement already in required is kept.
func withControls(t testing.TB, required map[string]*fnv1.Resources, objs ...any) map[string]*fnv1.Resources {
	out := map[string]*fnv1.Resources{RequirementApprovals: {}, RequirementFreezes: {}, RequirementPins: {}}
	for _, o := range objs {
		key := map[string]string{"Approval": RequirementApprovals, "Freeze": RequirementFreezes, "Pin": RequirementPins}[fmt.Sprintf("%T", o)[len("*v1alpha1."):]]
		out[key].Items = append(out[key].Items, &fnv1.Resource{Resource: asStruct(t, o)})
	}
	for k, v := range required {
		out[k] = v
	}
	return out
}

func condWant(typ string, s fnv1.Status, reason, message string) *fnv1.Condition {
	return &fnv1.Condition{Type: typ, Status: s, Reason: reason, Message: &message, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

func ttl(d time.Duration) *fnv1.ResponseMeta { return &fnv1.ResponseMeta{Ttl: durationpb.New(d)} }

// fanOut is the Track tree of issue 9: the root Track's n stations are each
// a junction feeding the same n sections l1-0 to l1-<n-1>, whose n stations
// each feed the n sections of the next level, levels deep; the last level's
// stations have Applications, each its own rendered branch. Expanded in full
// it has n + n³ + ... + n^(2·levels+1) stations: 3,208,020 for 20 and 2.
// It returns the root's and the sections' Track stations (YAML flow items)
// by Track name, the root's under "".
func fanOut(n, levels int) map[string][]string {
	level := func(l int) []string {
		out := make([]string, 0, n)
		for k := 0; k < n; k++ {
			out = append(out, fmt.Sprintf("l%d-%d", l, k))
		}
		return out
	}
	stationsOf := func(l int, track string) []string {
		out := make([]string, 0, n)
		for s := 0; s < n; s++ {
			if l < levels {
				out = append(out, fmt.Sprintf("{name: j%d, tracks: [%s]}", s, strings.Join(level(l+1), ", ")))
				continue
			}
			out = append(out, fmt.Sprintf("{name: s%d, overlay: o, branch: env/%s-s%d, applications: [{name: a}]}", s, track, s))
		}
		return out
	}
	tracks := map[string][]string{"": stationsOf(0, "root")}
	for l := 1; l <= levels; l++ {
		for _, name := range level(l) {
			tracks[name] = stationsOf(l, name)
		}
	}
	return tracks
}

// fanOutSpec is the spec of fanOut's root Track.
func fanOutSpec(n, levels int) string {
	return fmt.Sprintf("{repo: {url: %s}, stations: [%s]}", repoURL, strings.Join(fanOut(n, levels)[""], ", "))
}

// fanOutSections are the specs of fanOut's sections by name.
func fanOutSections(n, levels int) map[string]string {
	out := map[string]string{}
	for name, ss := range fanOut(n, levels) {
		if name != "" {
			out[name] = fmt.Sprintf("{repo: {url: %s}, stations: [%s]}", repoURL, strings.Join(ss, ", "))
		}
	}
	return out
}

// specLookup is a SectionLookup of the sections' specs that specs returns,
// each parsed as requireSections parses what Crossplane fetched.
func specLookup(specs func(name string) (*structpb.Struct, bool)) SectionLookup {
	return func(name string) (*Track, bool, error) {
		spec, ok := specs(name)
		if !ok {
			return nil, false, nil
		}
		t, err := ParseTrack(name, spec)
		return t, true, err
	}
}
