package subscription

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Wakes the channel cannot take at once wait for it, none lost; and adding
// never blocks, though nothing reads the channel yet. (A Subscription woken
// again while its wake is being handed over may be handed over twice, which
// costs one more reconcile: the test counts distinct Subscriptions.)
func TestWakeQueueLosesNoWake(t *testing.T) {
	out := make(chan event.GenericEvent)
	q := newWakeQueue(out)
	var want []string
	for round := range 3 {
		for i := range 500 {
			s := &v1alpha1.Subscription{}
			s.SetNamespace("team-a")
			s.SetName(fmt.Sprintf("s-%03d", i))
			q.add(s)
			if round == 0 {
				want = append(want, client.ObjectKeyFromObject(s).String())
			}
		}
	}
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < len(want) {
		select {
		case e := <-out:
			seen[client.ObjectKeyFromObject(e.Object).String()] = true
		case <-timeout:
			t.Fatalf("received wakes of %d of %d Subscriptions", len(seen), len(want))
		}
	}
	got := make([]string, 0, len(seen))
	for k := range seen {
		got = append(got, k)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("woken: -want +got:\n%s", diff)
	}
}
