package ticket

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Every Ticket status write wakes its Track's composition. While Argo CD
// syncs, refreshes and rewrites its operation message, the Ticket's status
// changes only at the steps a reader acts on, and the provider sends no
// status update that changes nothing.
func TestTicketStatusChangesOnlyAtDeliverySteps(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-int-a", "env/dev")
	f.application("guestbook-int-b", "env/dev")
	// Watched from before it exists: its first status is a change too.
	key := client.ObjectKey{Namespace: f.ns, Name: "guestbook-int"}
	seen := f.watchTicketStatus(key)
	f.ticket(key.Name, change(f.source, "1.2.3"), "guestbook-int-a", "guestbook-int-b")

	for _, app := range []string{"guestbook-int-a", "guestbook-int-b"} {
		eventually(t, "an operation on "+app, func() (bool, string) {
			_, ok := f.app(app).Object["operation"]
			return ok, "no operation"
		})
	}
	revA := f.argoStartOperation("guestbook-int-a")
	revB := f.argoStartOperation("guestbook-int-b")
	// Argo CD rewrites an Application many times a sync: each write wakes
	// the Ticket, and none of them is a step.
	for i := range 5 {
		f.argoOperationMessage("guestbook-int-a", fmt.Sprintf("one or more tasks are running (%d)", i))
		f.argoOperationMessage("guestbook-int-b", fmt.Sprintf("one or more tasks are running (%d)", i))
	}
	f.argoFinishSync("guestbook-int-a", revA, "Progressing", "")
	eventually(t, "guestbook-int-a deployed", func() (bool, string) {
		a := getTicket(t, key).Status.AtProvider.Applications
		return len(a) == 2 && a[0].Sync == "Synced", fmt.Sprint(a)
	})
	f.argoFinishSync("guestbook-int-b", revB, "Progressing", "")
	eventually(t, "phase Progressing", func() (bool, string) {
		p := getTicket(t, key).Status.AtProvider.Phase
		return p == v1alpha1.PhaseProgressing, p
	})
	for range 3 {
		f.argoReportHealth("guestbook-int-a", "Progressing", "")
	}
	f.argoReportHealth("guestbook-int-b", "Healthy", "")
	f.argoReportHealth("guestbook-int-a", "Healthy", "")
	eventually(t, "phase Verified", func() (bool, string) {
		p := getTicket(t, key).Status.AtProvider.Phase
		return p == v1alpha1.PhaseVerified, p
	})

	rendered := getTicket(t, key).Status.AtProvider.RenderedCommit
	outOfSync := func(name string) v1alpha1.ApplicationStatus {
		return v1alpha1.ApplicationStatus{Name: name, Namespace: f.argoNS, Sync: "OutOfSync"}
	}
	at := func(name, health string) v1alpha1.ApplicationStatus {
		return v1alpha1.ApplicationStatus{Name: name, Namespace: f.argoNS, Sync: "Synced", Health: health, Revision: rendered}
	}
	want := []ticketStep{
		{Phase: v1alpha1.PhaseSyncing, Applications: []v1alpha1.ApplicationStatus{outOfSync("guestbook-int-a"), outOfSync("guestbook-int-b")}},
		{Phase: v1alpha1.PhaseSyncing, Applications: []v1alpha1.ApplicationStatus{at("guestbook-int-a", "Progressing"), outOfSync("guestbook-int-b")}},
		{Phase: v1alpha1.PhaseProgressing, Applications: []v1alpha1.ApplicationStatus{at("guestbook-int-a", "Progressing"), at("guestbook-int-b", "Progressing")}},
		{Phase: v1alpha1.PhaseProgressing, Applications: []v1alpha1.ApplicationStatus{at("guestbook-int-a", "Progressing"), at("guestbook-int-b", "Healthy")}},
		{Phase: v1alpha1.PhaseVerified, Applications: []v1alpha1.ApplicationStatus{at("guestbook-int-a", "Healthy"), at("guestbook-int-b", "Healthy")}},
	}
	got := seen.steps(t, v1alpha1.PhaseVerified)
	// Two Applications reported within one reconcile make one step of two:
	// every step seen must be one of these, in this order, ending Verified.
	if !isSubsequence(got, want) || len(got) == 0 || got[len(got)-1].Phase != v1alpha1.PhaseVerified {
		t.Errorf("status steps: -want +got (got must be want, or want with steps left out):\n%s", cmp.Diff(want, got))
	}

	path := fmt.Sprintf("/apis/provider.k8sta.io/v1alpha1/namespaces/%s/tickets/%s/status", key.Namespace, key.Name)
	// The provider counts an update once its response is read, the test's
	// watch counts a change once delivered: either may be a moment behind.
	// An update that changes nothing makes no change, and the counts never
	// meet.
	eventually(t, "one accepted status update per status change, none that changes nothing", func() (bool, string) {
		puts, changes := providerRequests.count(http.MethodPut, path), seen.changes()
		return puts == changes, fmt.Sprintf("the provider's accepted status updates: %d, status changes: %d", puts, changes)
	})
}

// argoOperationMessage is Argo CD reporting the progress of a running
// operation.
func (f *fixture) argoOperationMessage(name, message string) {
	f.t.Helper()
	u := f.app(name)
	must(f.t, unstructured.SetNestedField(u.Object, message, "status", "operationState", "message"))
	must(f.t, kube.Update(context.Background(), u))
}

// A ticketStep is what a Ticket's status says of its delivery.
type ticketStep struct {
	Phase        string
	Applications []v1alpha1.ApplicationStatus
}

// statusLog records, from a watch, every stored version of one Ticket whose
// status differs from the one before.
type statusLog struct {
	mu       sync.Mutex
	statuses []v1alpha1.TicketStatus
	last     *v1alpha1.TicketStatus
}

func (f *fixture) watchTicketStatus(key client.ObjectKey) *statusLog {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: kube.Scheme()})
	must(f.t, err)
	w, err := wc.Watch(ctx, &v1alpha1.TicketList{}, client.InNamespace(key.Namespace), client.MatchingFields{"metadata.name": key.Name})
	must(f.t, err)
	l := &statusLog{}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			tk, ok := ev.Object.(*v1alpha1.Ticket)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			l.mu.Lock()
			if l.last == nil || !cmp.Equal(*l.last, tk.Status, cmp.Comparer(func(a, b metav1.Time) bool { return a.Equal(&b) })) {
				l.statuses = append(l.statuses, tk.Status)
				l.last = &tk.Status
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// steps waits until the log holds a status of the final phase, and returns
// the delivery steps seen, in order, repeats of one step left out.
func (l *statusLog) steps(t *testing.T, final string) []ticketStep {
	t.Helper()
	var steps []ticketStep
	eventually(t, "the watch to see phase "+final, func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		steps = nil
		for _, s := range l.statuses {
			st := ticketStep{Phase: s.AtProvider.Phase, Applications: s.AtProvider.Applications}
			if st.Phase == "" || (len(steps) > 0 && cmp.Equal(steps[len(steps)-1], st)) {
				continue
			}
			steps = append(steps, st)
		}
		return len(steps) > 0 && steps[len(steps)-1].Phase == final, fmt.Sprint(steps)
	})
	return steps
}

// changes is how many times the stored status changed, its creation aside.
func (l *statusLog) changes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.statuses) - 1
}

func isSubsequence(got, want []ticketStep) bool {
	i := 0
	for _, g := range got {
		for i < len(want) && !cmp.Equal(g, want[i]) {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}
