package ticket

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A new change on a Ticket re-renders the station on top of the previous
// rendered commit and asks Argo CD to sync the new commit.
func TestTicketRerendersANewChange(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "the first operation", func() (bool, string) {
		_, ok := f.app("guestbook-dev").Object["operation"]
		return ok, "no operation"
	})
	first := f.argoStartOperation("guestbook-dev")
	f.argoFinishSync("guestbook-dev", first, "Healthy", "")

	next := change(f.source, "1.3.0")
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tk := getTicket(t, key)
		tk.Spec.ForProvider.Change = next
		return kube.Update(context.Background(), tk)
	}))

	var second string
	eventually(t, "a sync of the new rendered commit", func() (bool, string) {
		second, _, _ = unstructured.NestedString(f.app("guestbook-dev").Object, "operation", "sync", "revision")
		return second != "" && second != first, second
	})
	if head := f.git.Head(t, f.repo, "env/dev"); head != second {
		t.Errorf("synced %s, rendered branch head is %s", second, head)
	}
	if log := f.git.Log(t, f.repo, "env/dev"); len(log) != 2 {
		t.Errorf("rendered branch has %d commits, want 2 (one per change): %q", len(log), log)
	}
	if m := string(f.git.Files(t, f.repo, "env/dev")["manifests.yaml"]); !strings.Contains(m, "ghcr.io/acme/guestbook:1.3.0") {
		t.Errorf("new change's image not rendered:\n%s", m)
	}
}
