package subscription

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
)

// A Subscription's wake time is the newest news it was woken for, until a
// poll that started from no earlier has seen it; news that arrives during
// that poll is kept for the next one.
func TestWakes(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := types.NamespacedName{Namespace: "team-a", Name: "app"}
	b := types.NamespacedName{Namespace: "team-b", Name: "app"}
	cases := map[string]struct {
		steps func(w *wakes)
		want  map[types.NamespacedName]time.Time
	}{
		"NewestKept": {
			steps: func(w *wakes) { w.record(a, t0.Add(2)); w.record(a, t0.Add(1)) },
			want:  map[types.NamespacedName]time.Time{a: t0.Add(2)},
		},
		"SeenForgets": {
			steps: func(w *wakes) { w.record(a, t0); w.record(b, t0); w.seen(a, t0) },
			want:  map[types.NamespacedName]time.Time{b: t0},
		},
		"NewerNewsSurvivesTheOlderPoll": {
			steps: func(w *wakes) { w.record(a, t0); w.record(a, t0.Add(1)); w.seen(a, t0) },
			want:  map[types.NamespacedName]time.Time{a: t0.Add(1)},
		},
		"AFresherPollSeesIt": {
			steps: func(w *wakes) { w.record(a, t0); w.seen(a, t0.Add(time.Second)) },
			want:  map[types.NamespacedName]time.Time{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWakes()
			tc.steps(w)
			if diff := cmp.Diff(tc.want, w.at); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// Past maxWakes fresh wake times, a sweep for stale ones runs only when the
// map has doubled since the last: n records visit O(n) entries, not every
// entry per record (O(n²), 50 million visits here).
func TestWakesSweepInLinearTime(t *testing.T) {
	w := newWakes()
	const n = 3 * maxWakes
	now := time.Now()
	for i := range n {
		w.record(types.NamespacedName{Namespace: "team-a", Name: fmt.Sprintf("app-%d", i)}, now)
	}
	if w.swept > 2*n {
		t.Errorf("%d records visited %d entries, want at most %d", n, w.swept, 2*n)
	}
	if len(w.at) != n {
		t.Errorf("remembers %d wakes, want every fresh one (%d)", len(w.at), n)
	}
}
