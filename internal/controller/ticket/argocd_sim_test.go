package ticket

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Argo CD is not running in these tests. The helpers below write an
// Application the way Argo CD's application-controller does, so that the
// Ticket controller sees the same objects it sees in a cluster: it moves a
// requested .operation into status.operationState, runs it, and reports sync
// and health with status.reconciledAt.

// argoStartOperation takes the pending .operation and marks it Running.
func (f *fixture) argoStartOperation(name string) (revision string) {
	t := f.t
	t.Helper()
	u := f.app(name)
	op, ok, _ := unstructured.NestedMap(u.Object, "operation")
	if !ok {
		t.Fatalf("Application %s has no pending operation", name)
	}
	revision, _, _ = unstructured.NestedString(op, "sync", "revision")
	unstructured.RemoveNestedField(u.Object, "operation")
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{
		"operation": op,
		"phase":     "Running",
		"message":   "one or more tasks are running",
		"startedAt": now(),
	}, "status", "operationState"))
	must(t, kube.Update(context.Background(), u))
	return revision
}

// argoFinishSync completes the running operation: Succeeded, Synced to
// revision, with the given health.
func (f *fixture) argoFinishSync(name, revision, health, healthMessage string) {
	t := f.t
	t.Helper()
	u := f.app(name)
	finished := now()
	must(t, unstructured.SetNestedField(u.Object, "Succeeded", "status", "operationState", "phase"))
	must(t, unstructured.SetNestedField(u.Object, "successfully synced (all tasks run)", "status", "operationState", "message"))
	must(t, unstructured.SetNestedField(u.Object, finished, "status", "operationState", "finishedAt"))
	must(t, unstructured.SetNestedField(u.Object, revision, "status", "operationState", "syncResult", "revision"))
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{"status": "Synced", "revision": revision}, "status", "sync"))
	argoSetHealth(t, u, health, healthMessage)
}

// argoReportHealth is a later refresh of the Application: new health,
// reconciledAt moved on.
func (f *fixture) argoReportHealth(name, health, message string) {
	f.t.Helper()
	argoSetHealth(f.t, f.app(name), health, message)
}

func argoSetHealth(t testing.TB, u *unstructured.Unstructured, health, message string) {
	t.Helper()
	h := map[string]any{"status": health}
	if message != "" {
		h["message"] = message
	}
	must(t, unstructured.SetNestedMap(u.Object, h, "status", "health"))
	must(t, unstructured.SetNestedField(u.Object, now(), "status", "reconciledAt"))
	must(t, kube.Update(context.Background(), u))
}

// argoOutOfSync is what Argo CD reports before anything was synced.
func (f *fixture) argoOutOfSync(name string) {
	t := f.t
	t.Helper()
	u := f.app(name)
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{"status": "OutOfSync"}, "status", "sync"))
	argoSetHealth(t, u, "Missing", "")
}

// now is an RFC 3339 time one second ahead of the last, as Argo CD's
// second-resolution timestamps would be between two distinct events.
func now() string {
	return time.Now().UTC().Add(time.Second).Format(time.RFC3339)
}
