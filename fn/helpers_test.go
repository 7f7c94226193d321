package fn

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

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

func changeYAML(c *v1alpha1.Change) string {
	if c == nil {
		return "null"
	}
	j, _ := encodeChange(c).MarshalJSON()
	return string(j)
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
// change live, Ready status ready, phase and verifiedAt.
type obsTicket struct {
	path       string
	spec, live *v1alpha1.Change
	ready      string
	phase      string
	verified   *metav1.Time
	message    string
	// apps is status.atProvider.applications, a YAML flow sequence.
	apps string
}

func (o obsTicket) resource(t testing.TB) *fnv1.Resource {
	live := ""
	if o.live != nil {
		live = fmt.Sprintf("change: %s,", changeYAML(o.live))
	}
	verified := ""
	if o.verified != nil {
		verified = fmt.Sprintf("verifiedAt: %s,", o.verified.UTC().Format(time.RFC3339))
	}
	if o.apps != "" {
		verified += "applications: " + o.apps + ","
	}
	r := y(t, fmt.Sprintf(`apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {name: guestbook-%s, namespace: team-a, annotations: {crossplane.io/composition-resource-name: ticket-%s}}
spec:
  forProvider: {track: guestbook, station: %s, change: %s}
status:
  atProvider: {%s %s phase: %s}
  conditions:
  - {type: Ready, status: "%s", reason: R, message: "%s", lastTransitionTime: "2026-11-25T10:00:00Z"}
`, strings.ReplaceAll(o.path, ".", "-"), o.path, o.path, changeYAML(o.spec), live, verified, o.phase, o.ready, o.message))
	return &fnv1.Resource{Resource: r}
}

// verifiedTicket is a Ticket that verified c d ago.
func verifiedTicket(path string, c *v1alpha1.Change, d time.Duration) obsTicket {
	return obsTicket{path: path, spec: c, live: c, ready: "True", phase: v1alpha1.PhaseVerified, verified: ago(d)}
}

func subscriptionResource(t testing.TB, newest *v1alpha1.Change, overlayChanges string) *fnv1.Resource {
	if overlayChanges == "" {
		overlayChanges = "[]"
	}
	return &fnv1.Resource{Resource: y(t, fmt.Sprintf(`apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {name: guestbook-sub, namespace: team-a}
spec: {forProvider: {track: guestbook}}
status:
  atProvider: {newest: %s, overlayChanges: %s}
  conditions: [{type: Ready, status: "True", reason: Available}]
`, changeYAML(newest), overlayChanges))}
}

// ticketWant is a desired Ticket.
func ticketWant(t testing.TB, track, path, overlay, app string, c *v1alpha1.Change, ready fnv1.Ready) *fnv1.Resource {
	branch := "env/" + path[strings.LastIndex(path, ".")+1:]
	return &fnv1.Resource{Ready: ready, Resource: y(t, fmt.Sprintf(`apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {namespace: team-a}
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
`, track, path, changeYAML(c), repoURL, overlay, branch, app))}
}

// stationsWant is status.stations, each "path change phase" with since now.
func stationsWant(t testing.TB, rows ...string) *structpb.Struct {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		// "path change phase | message": the message is optional.
		r, message, _ := strings.Cut(r, " | ")
		msg := ""
		if message != "" {
			msg = fmt.Sprintf(", message: %q", message)
		}
		f := strings.Fields(r)
		if f[1] == "-" {
			out = append(out, fmt.Sprintf("{path: %s, phase: %s, since: '2026-11-25T12:00:00Z'%s}", f[0], f[2], msg))
			continue
		}
		out = append(out, fmt.Sprintf("{path: %s, change: %s, phase: %s, since: '2026-11-25T12:00:00Z'%s}", f[0], f[1], f[2], msg))
	}
	return y(t, "status: {stations: ["+strings.Join(out, ", ")+"]}")
}

func condWant(typ string, s fnv1.Status, reason, message string) *fnv1.Condition {
	return cond(typ, s, reason, message)
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
