package ticket

import (
	"context"
	"testing"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Deleting a Ticket leaves its rendered branch, and so what Argo CD deploys,
// alone: Argo CD would prune it otherwise.
func TestTicketDeleteLeavesTheRenderedBranch(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
		return ok, "no operation"
	})
	head := f.git.Head(t, f.repo, "env/dev")

	must(t, kube.Delete(context.Background(), tk))
	eventually(t, "the Ticket gone", func() (bool, string) {
		err := kube.Get(context.Background(), key, &v1alpha1.Ticket{})
		return kerrors.IsNotFound(err), "still there"
	})
	if got := f.git.Head(t, f.repo, "env/dev"); got != head {
		t.Errorf("env/dev moved from %s to %s on delete", head, got)
	}
}

// A Ticket costs no write for a finalizer or an external-name annotation:
// its deletion has nothing to clean up, and it names nothing outside.
// Tickets that an earlier provider gave its finalizer can still be deleted.
func TestTicketHasNoFinalizerAndOldOnesAreRemoved(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
		return ok, "no operation"
	})
	got := getTicket(t, key)
	if len(got.GetFinalizers()) != 0 || meta.GetExternalName(got) != "" {
		t.Errorf("finalizers %v, external name %q; want none", got.GetFinalizers(), meta.GetExternalName(got))
	}

	old := f.ticketWith("guestbook-old", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
		tk.SetFinalizers([]string{managed.FinalizerName})
	}, "guestbook-dev")
	oldKey := client.ObjectKeyFromObject(old)
	must(t, kube.Delete(context.Background(), old))
	eventually(t, "the Ticket with the old finalizer gone", func() (bool, string) {
		err := kube.Get(context.Background(), oldKey, &v1alpha1.Ticket{})
		return kerrors.IsNotFound(err), "still there"
	})
}
