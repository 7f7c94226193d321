package ticket

import (
	"context"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
)

// Reconciling a Ticket again for the change it already delivered makes no
// commit, asks Argo CD for no second sync, and makes no git request at all:
// the cached clone already holds the rendered change.
func TestTicketReconciledAgainMakesNoCommitAndNoSecondSync(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-dev").Object["operation"]
		return ok, "no operation"
	})
	rev := f.argoStartOperation("guestbook-dev")
	f.argoFinishSync("guestbook-dev", rev, "Healthy", "")
	eventually(t, "Ready", func() (bool, string) {
		c := condition(getTicket(t, key), xpv2.TypeReady)
		return c.Status == corev1.ConditionTrue, c.Message
	})

	commits := f.git.Log(t, f.repo, "env/dev")
	opState, _, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "status", "operationState")

	requests := f.git.Requests()
	for _, token := range []string{"again-1", "again-2"} {
		requestReconcile(t, key, token)
	}
	if n := f.git.Requests() - requests; n != 0 {
		t.Errorf("two reconciles of a delivered change made %d git requests, want 0", n)
	}

	if diff := cmp.Diff(commits, f.git.Log(t, f.repo, "env/dev")); diff != "" {
		t.Errorf("rendered branch changed on a second reconcile: -before +after:\n%s", diff)
	}
	app := f.app("guestbook-dev")
	if op, ok := app.Object["operation"]; ok {
		t.Errorf("a second sync was requested: %v", op)
	}
	after, _, _ := unstructured.NestedMap(app.Object, "status", "operationState")
	if diff := cmp.Diff(opState, after); diff != "" {
		t.Errorf("operation state changed: -before +after:\n%s", diff)
	}
	if c := condition(getTicket(t, key), xpv2.TypeReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %s %q after a second reconcile, want True", c.Status, c.Message)
	}
}

// requestReconcile asks crossplane-runtime's reconciler for one more
// reconcile and waits until it has handled it.
func requestReconcile(t *testing.T, key client.ObjectKey, token string) {
	t.Helper()
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tk := getTicket(t, key)
		meta.SetReconcileRequest(tk, token)
		return kube.Update(context.Background(), tk)
	}))
	eventually(t, "reconcile "+token, func() (bool, string) {
		got := getTicket(t, key).Status.LastHandledReconcileAt
		return got == token, got
	})
}
