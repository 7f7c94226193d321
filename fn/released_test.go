package fn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// withoutReleases is rsp without the k8sta.io/released-at annotation of
// its desired Tickets, which TestReleases checks: the other tests are about
// what moves where.
func withoutReleases(rsp *fnv1.RunFunctionResponse) *fnv1.RunFunctionResponse {
	rsp = proto.Clone(rsp).(*fnv1.RunFunctionResponse)
	for _, r := range rsp.GetDesired().GetResources() {
		md := obj(r.GetResource(), "metadata")
		a := obj(md, "annotations")
		if a == nil {
			continue
		}
		delete(a.GetFields(), v1alpha1.AnnotationReleasedAt)
		if len(a.GetFields()) == 0 {
			delete(md.GetFields(), "annotations")
		}
	}
	return rsp
}

// releasesOf is the released-at annotation of each desired Ticket, by
// station path.
func releasesOf(rsp *fnv1.RunFunctionResponse) map[string]string {
	out := map[string]string{}
	for name, r := range rsp.GetDesired().GetResources() {
		if at := str(r.GetResource(), "metadata", "annotations", v1alpha1.AnnotationReleasedAt); at != "" {
			out[name[len(PrefixTicket):]] = at
		}
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Each Ticket says when its change was released to its station, for the
// provider to measure the hop to its push: at the first station the
// change's discovery, further down when the station before (through
// junctions) verified it; and a time once given stays while the station
// keeps that change, whatever the station before does since.
func TestReleases(t *testing.T) {
	A, B := changeA, changeB
	// kept is observed with the Ticket o in place of its station's, annotated
	// as released at at.
	kept := func(observed map[string]*fnv1.Resource, o obsTicket, at string) map[string]*fnv1.Resource {
		tk := o.typed()
		tk.Annotations[v1alpha1.AnnotationReleasedAt] = at
		observed[TicketName(o.path)] = &fnv1.Resource{Resource: asStruct(t, tk)}
		return observed
	}
	cases := map[string]struct {
		reason   string
		xr       string
		observed map[string]*fnv1.Resource
		required map[string]*fnv1.Resources
		want     map[string]string
	}{
		"FirstStationFromDiscovery": {
			reason:   "The first station's change was released when it was discovered.",
			xr:       linear(t),
			observed: observed(t, subscriptionResource(t, A)),
			want:     map[string]string{"dev": rfc3339(A.DiscoveredAt.Time)},
		},
		"NextStationFromTheVerificationBefore": {
			reason:   "int's change was released when dev verified it, an hour ago.",
			xr:       linear(t),
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour)),
			want:     map[string]string{"dev": rfc3339(A.DiscoveredAt.Time), "int": rfc3339(now.Add(-time.Hour))},
		},
		"KeptWhileTheStationBeforeMovesOn": {
			reason: "dev moved on to B; int still delivers A and keeps the time it was given.",
			xr:     linear(t),
			observed: kept(observed(t, subscriptionResource(t, B), obsTicket{path: "dev", spec: B, ready: "False", phase: v1alpha1.PhaseSyncing}),
				obsTicket{path: "int", spec: A, ready: "False", phase: v1alpha1.PhaseSyncing}, "2026-11-25T10:00:00Z"),
			want: map[string]string{"dev": rfc3339(B.DiscoveredAt.Time), "int": "2026-11-25T10:00:00Z"},
		},
		"NotKeptWhenNotATime": {
			reason: "int's annotation holds no time (a hand edit, a megabyte of it): the function does not copy it into what it composes, and int's release is unknown.",
			xr:     linear(t),
			observed: kept(observed(t, subscriptionResource(t, B), obsTicket{path: "dev", spec: B, ready: "False", phase: v1alpha1.PhaseSyncing}),
				obsTicket{path: "int", spec: A, ready: "False", phase: v1alpha1.PhaseSyncing}, strings.Repeat("x", 1<<20)),
			want: map[string]string{"dev": rfc3339(B.DiscoveredAt.Time)},
		},
		"UnknownWhenNobodySaysWhen": {
			reason: "dev moved on before the function saw int given A with a time: int's release is unknown.",
			xr:     linear(t),
			observed: observed(t, subscriptionResource(t, B),
				obsTicket{path: "dev", spec: B, ready: "False", phase: v1alpha1.PhaseSyncing},
				obsTicket{path: "int", spec: A, ready: "False", phase: v1alpha1.PhaseSyncing}),
			want: map[string]string{"dev": rfc3339(B.DiscoveredAt.Time)},
		},
		"SectionFedByTheJunctionBefore": {
			reason: "A junction without Applications passes on int's change: each section's first station was released when int verified it.",
			xr:     trackYAML("guestbook", true, st("dev"), st("int"), "{name: regions, tracks: [guestbook-us, guestbook-eu]}"),
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, 3*time.Hour), verifiedTicket("int", A, 2*time.Hour),
				verifiedTicket("regions.guestbook-us.us-prod", A, time.Hour)),
			required: tracks(t, trackYAML("guestbook-us", false, st("us-prod"), st("us-2")), trackYAML("guestbook-eu", false, st("eu-prod"))),
			want: map[string]string{
				"dev": rfc3339(A.DiscoveredAt.Time), "int": rfc3339(now.Add(-3 * time.Hour)),
				"regions.guestbook-us.us-prod": rfc3339(now.Add(-2 * time.Hour)), "regions.guestbook-eu.eu-prod": rfc3339(now.Add(-2 * time.Hour)),
				"regions.guestbook-us.us-2": rfc3339(now.Add(-time.Hour)),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.xr)}, Resources: tc.observed},
				RequiredResources: withControls(t, tc.required),
			}
			f := New(WithClock(func() time.Time { return now }))
			for call := range 2 {
				// The second call answers from what the first kept.
				got, err := f.RunFunction(context.Background(), req)
				if err != nil {
					t.Fatalf("RunFunction: %v", err)
				}
				if diff := cmp.Diff(tc.want, releasesOf(got)); diff != "" {
					t.Errorf("%s\ncall %d: released-at by station: -want, +got:\n%s", tc.reason, call, diff)
				}
			}
		})
	}
}
