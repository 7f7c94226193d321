package ticket

import (
	"context"
	"testing"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
