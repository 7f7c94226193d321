package ticket

import (
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A Degraded Application makes the Ticket Ready False with a reason that
// names the Application and carries Argo CD's own message.
func TestTicketIsNotReadyWhenAnApplicationIsDegraded(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-prod", "env/dev")
	tk := f.ticket("guestbook-prod", change(f.source, "1.2.3"), "guestbook-prod")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-prod").Object["operation"]
		return ok, "no operation"
	})
	rev := f.argoStartOperation("guestbook-prod")
	const why = `Deployment "guestbook" exceeded its progress deadline`
	f.argoFinishSync("guestbook-prod", rev, "Degraded", why)

	eventually(t, "phase Failed", func() (bool, string) {
		tk := getTicket(t, key)
		return tk.Status.AtProvider.Phase == v1alpha1.PhaseFailed, tk.Status.AtProvider.Phase
	})
	c := condition(getTicket(t, key), xpv2.TypeReady)
	if c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, f.argoNS+"/guestbook-prod") || !strings.Contains(c.Message, why) {
		t.Errorf("Ready = %s %q, want False naming argocd/guestbook-prod and %q", c.Status, c.Message, why)
	}
	if getTicket(t, key).Status.AtProvider.VerifiedAt != nil {
		t.Error("a Degraded station has verifiedAt set")
	}
}
