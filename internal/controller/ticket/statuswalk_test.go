package ticket

import (
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Argo CD's status walk OutOfSync → Synced+Progressing → Healthy, written as
// Argo CD writes it, makes the Ticket Ready only at the end, for both of its
// Applications. The time from the last Application status change to Ready
// is logged: the watch on Applications, not the poll, delivers it.
func TestTicketBecomesReadyWhenEveryApplicationIsSyncedAndHealthy(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-int-a", "env/dev")
	f.application("guestbook-int-b", "env/dev")
	f.argoOutOfSync("guestbook-int-a")
	f.argoOutOfSync("guestbook-int-b")
	tk := f.ticket("guestbook-int", change(f.source, "1.2.3"), "guestbook-int-a", "guestbook-int-b")
	key := client.ObjectKeyFromObject(tk)

	for _, app := range []string{"guestbook-int-a", "guestbook-int-b"} {
		eventually(t, "an operation on "+app, func() (bool, string) {
			_, ok := f.app(app).Object["operation"]
			return ok, "no operation"
		})
	}
	revA := f.argoStartOperation("guestbook-int-a")
	revB := f.argoStartOperation("guestbook-int-b")
	f.argoFinishSync("guestbook-int-a", revA, "Progressing", "")
	f.argoFinishSync("guestbook-int-b", revB, "Healthy", "")
	eventually(t, "phase Progressing", func() (bool, string) {
		tk := getTicket(t, key)
		return tk.Status.AtProvider.Phase == v1alpha1.PhaseProgressing, tk.Status.AtProvider.Phase
	})
	if got := condition(getTicket(t, key), xpv2.TypeReady).Status; got != corev1.ConditionFalse {
		t.Fatalf("Ready = %s while guestbook-int-a is Progressing, want False", got)
	}

	f.argoReportHealth("guestbook-int-a", "Healthy", "")
	lastChange := time.Now()
	eventually(t, "Ready", func() (bool, string) {
		c := condition(getTicket(t, key), xpv2.TypeReady)
		return c.Status == corev1.ConditionTrue, c.Message
	})
	t.Logf("MEASURED: last Application status change to Ticket Ready: %v", time.Since(lastChange))

	got := getTicket(t, key).Status.AtProvider
	if got.Phase != v1alpha1.PhaseVerified || got.VerifiedAt == nil {
		t.Errorf("phase %q verifiedAt %v, want Verified with a time", got.Phase, got.VerifiedAt)
	}
	for _, a := range got.Applications {
		if a.Sync != "Synced" || a.Health != "Healthy" || a.Revision != got.RenderedCommit {
			t.Errorf("application %s: %+v, want Synced/Healthy at %s", a.Name, a, got.RenderedCommit)
		}
	}
}
