package fn

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/testing/protocmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// atVersion is obsTicket o at version rv of the object uid-<path>.
func atVersion(o obsTicket, rv string) obsTicket {
	o.uid, o.resourceVersion = types.UID("uid-"+o.path), rv
	return o
}

func request(t testing.TB, xr string, sub *fnv1.Resource, tickets ...obsTicket) *fnv1.RunFunctionRequest {
	return &fnv1.RunFunctionRequest{Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, xr)}, Resources: observed(t, sub, tickets...)},
		RequiredResources: withControls(t, nil)}
}

func TestRunFunctionKeepsBetweenCalls(t *testing.T) {
	progressing := obsTicket{path: "dev", spec: changeB, live: changeA, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseProgressing}
	cases := map[string]struct {
		reason string
		// calls are the requests of each call, in order.
		calls func(t *testing.T) []*fnv1.RunFunctionRequest
		// wantObserved are the observed Tickets kept after: the version of
		// each, by uid.
		wantObserved map[types.UID]string
	}{
		"SameStateAgain": {
			reason: "Called again with the same observed state, the function answers as it did, from what it kept.",
			calls: func(t *testing.T) []*fnv1.RunFunctionRequest {
				r := request(t, linear(t), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeA, time.Hour), "1"), atVersion(verifiedTicket("int", changeA, time.Hour), "1"))
				return []*fnv1.RunFunctionRequest{r, r}
			},
			wantObserved: map[types.UID]string{"uid-dev": "1", "uid-int": "1"},
		},
		"TicketAtNewVersion": {
			reason: "A Ticket at a new resourceVersion is read again: dev has verified B now, so int is given B.",
			calls: func(t *testing.T) []*fnv1.RunFunctionRequest {
				return []*fnv1.RunFunctionRequest{
					request(t, linear(t), subscriptionResource(t, changeB), atVersion(progressing, "1"), atVersion(verifiedTicket("int", changeA, time.Hour), "1")),
					request(t, linear(t), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeB, time.Hour), "2"), atVersion(verifiedTicket("int", changeA, time.Hour), "1")),
				}
			},
			// Only the version last read is kept.
			wantObserved: map[types.UID]string{"uid-dev": "2", "uid-int": "1"},
		},
		"TrackChanged": {
			reason: "A desired Ticket is composed again when anything it is made of changes: here dev's overlay.",
			calls: func(t *testing.T) []*fnv1.RunFunctionRequest {
				return []*fnv1.RunFunctionRequest{
					request(t, linear(t), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeA, time.Hour), "1")),
					request(t, strings.Replace(linear(t), "overlay: overlays/dev", "overlay: overlays/dev-2", 1), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeA, time.Hour), "1")),
				}
			},
			wantObserved: map[types.UID]string{"uid-dev": "1"},
		},
		"NewChange": {
			reason: "A desired Ticket is composed again for a new change, and a change discovered at another time is another change.",
			calls: func(t *testing.T) []*fnv1.RunFunctionRequest {
				rediscovered := *changeB
				rediscovered.DiscoveredAt = ago(time.Minute)
				return []*fnv1.RunFunctionRequest{
					request(t, linear(t), subscriptionResource(t, changeB)),
					request(t, linear(t), subscriptionResource(t, changeC)),
					request(t, linear(t), subscriptionResource(t, &rediscovered)),
				}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := New(WithClock(func() time.Time { return now }))
			var prev *fnv1.RunFunctionResponse
			for i, req := range tc.calls(t) {
				got, err := f.RunFunction(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				// What a function that kept nothing answers.
				want, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
					t.Errorf("%s\ncall %d: RunFunction(...): -want (nothing kept), +got:\n%s", tc.reason, i, diff)
				}
				if i > 0 && name != "SameStateAgain" && cmp.Equal(prev, got, protocmp.Transform()) {
					t.Errorf("%s\ncall %d: want another answer than call %d's", tc.reason, i, i-1)
				}
				prev = got
			}
			kept := map[types.UID]string{}
			for uid := range tc.wantObserved {
				if rt, ok := f.caches.observed.Get(uid); ok {
					kept[uid] = rt.resourceVersion
				}
			}
			if diff := cmp.Diff(tc.wantObserved, kept, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nobserved Tickets kept: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(len(tc.wantObserved), f.caches.observed.Len()); diff != "" {
				t.Errorf("%s\nhow many observed Tickets kept: -want, +got:\n%s", tc.reason, diff)
			}
			// Each object composed is kept once, as last composed.
			if diff := cmp.Diff(len(prev.GetDesired().GetResources()), f.caches.desired.Len()); diff != "" {
				t.Errorf("%s\ndesired resources kept: -want (those of the last call), +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestRunFunctionConcurrentCalls is many Tracks composed at once by one
// function process sharing what it keeps: each answer is what a function that
// kept nothing gives. Run with -race, it also shows the sharing is safe.
func TestRunFunctionConcurrentCalls(t *testing.T) {
	reqs := []*fnv1.RunFunctionRequest{
		request(t, linear(t), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeA, time.Hour), "1"), atVersion(verifiedTicket("int", changeA, time.Hour), "1")),
		request(t, linear(t), subscriptionResource(t, changeB), atVersion(verifiedTicket("dev", changeB, time.Hour), "2"), atVersion(verifiedTicket("int", changeA, time.Hour), "1")),
		request(t, strings.ReplaceAll(linear(t), "team-a", "team-b"), subscriptionResource(t, changeC)),
	}
	want := make([]*fnv1.RunFunctionResponse, len(reqs))
	for i, req := range reqs {
		rsp, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = rsp
	}
	f := New(WithClock(func() time.Time { return now }))
	const workers, calls = 4, 20
	got := make([][]*fnv1.RunFunctionResponse, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				rsp, err := f.RunFunction(context.Background(), reqs[(w+c)%len(reqs)])
				if err != nil {
					t.Error(err)
					return
				}
				got[w] = append(got[w], rsp)
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		for c, rsp := range got[w] {
			if diff := cmp.Diff(want[(w+c)%len(reqs)], rsp, protocmp.Transform()); diff != "" {
				t.Errorf("worker %d call %d: RunFunction(...): -want (nothing kept), +got:\n%s", w, c, diff)
			}
		}
	}
}
