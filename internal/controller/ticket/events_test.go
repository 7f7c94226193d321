package ticket

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A person follows a Ticket with kubectl describe: an Event at each step,
// once — the commit it rendered, each sync it asked Argo CD for, and its
// verdict with why.
func TestTicketEventsTellItsSteps(t *testing.T) {
	cases := map[string]struct {
		health string
		want   []string // "<type> <reason>: <message prefix>"
	}{
		"Verified": {
			health: "Healthy",
			want: []string{
				"Normal RenderedCommit: rendered change CHANGE into env/dev: commit ",
				"Normal SyncRequested: asked Argo CD to sync Application ARGONS/guestbook-dev to commit ",
				"Normal Verified: change CHANGE verified at dev: every Application Synced at commit ",
			},
		},
		"Failed": {
			health: "Degraded",
			want: []string{
				"Normal RenderedCommit: rendered change CHANGE into env/dev: commit ",
				"Normal SyncRequested: asked Argo CD to sync Application ARGONS/guestbook-dev to commit ",
				"Warning Failed: change CHANGE failed at dev: Application ARGONS/guestbook-dev is Degraded at ",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.application("guestbook-dev", "env/dev")
			key := client.ObjectKey{Namespace: f.ns, Name: "guestbook-dev"}
			ch := change(f.source, "1.2.3")
			f.ticket(key.Name, ch, "guestbook-dev")
			eventually(t, "an operation", func() (bool, string) {
				_, ok := f.app("guestbook-dev").Object["operation"]
				return ok, "no operation"
			})
			rev := f.argoStartOperation("guestbook-dev")
			f.argoFinishSync("guestbook-dev", rev, tc.health, "")

			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.NewReplacer("CHANGE", ch.ID, "ARGONS", f.argoNS).Replace(w)
			}
			var got []string
			eventually(t, "the Ticket's step Events", func() (bool, string) {
				got = ticketEvents(t, key)
				return len(got) == len(want), strings.Join(got, "\n")
			})
			// Messages end with commits; compare up to them.
			for i := range got {
				if i < len(want) && strings.HasPrefix(got[i], want[i]) {
					got[i] = want[i]
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Events: -want, +got:\n%s", diff)
			}
		})
	}
}

// ticketEvents lists the step Events of the Ticket at key, oldest first, as
// "<type> <reason>: <message>".
func ticketEvents(t *testing.T, key client.ObjectKey) []string {
	t.Helper()
	l := &corev1.EventList{}
	must(t, kube.List(context.Background(), l, client.InNamespace(key.Namespace)))
	// An Event's name ends with its creation time in hexadecimal
	// nanoseconds: name order is time order.
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	steps := map[string]bool{string(ReasonRenderedCommit): true, string(ReasonSyncRequested): true, string(ReasonVerified): true, string(ReasonFailed): true, string(ReasonBlocked): true}
	var out []string
	for _, ev := range l.Items {
		if ev.InvolvedObject.Name != key.Name || !steps[ev.Reason] {
			continue
		}
		for range max(ev.Count, 1) {
			out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
		}
	}
	return out
}
