package ticket

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/render"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// heldSource is a test double: a real Source whose first IsDir call (the
// first read a render makes, its namespace's share taken) says so on
// entered and waits for release, as a render running long does.
type heldSource struct {
	render.Source
	entered chan<- struct{}
	release <-chan struct{}
	once    sync.Once
}

func (h *heldSource) IsDir(p string) (bool, error) {
	h.once.Do(func() {
		h.entered <- struct{}{}
		<-h.release
	})
	return h.Source.IsDir(p)
}

// Tickets whose namespace's render share is taken wait for it without
// failing their reconcile (Synced stays True, no Warning Event, no
// back-off), saying why, and each renders when a render of the namespace
// ends, without being polled.
func TestTicketsWaitForTheirNamespacesRenderShare(t *testing.T) {
	f := newFixture(t)
	entered, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := renderer.Build(context.Background(), f.ns, &heldSource{Source: render.MapSource(gitserver.KustomizeTree()), entered: entered, release: release}, "overlays/dev", nil)
		held <- err
	}()
	<-entered

	var keys []client.ObjectKey
	for i := range 3 {
		name := fmt.Sprintf("s-%d", i)
		f.application("app-"+name, "env/"+name)
		tk := f.ticketWith("t-"+name, change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
			tk.Spec.ForProvider.Station = name
			tk.Spec.ForProvider.Branch = "env/" + name
		}, "app-"+name)
		keys = append(keys, client.ObjectKeyFromObject(tk))
	}
	for _, k := range keys {
		eventually(t, k.Name+" waiting for the render share", func() (bool, string) {
			c := condition(getTicket(t, k), xpv2.TypeReady)
			return strings.Contains(c.Message, "waiting for another render in namespace "+f.ns), c.Message
		})
		if c := condition(getTicket(t, k), xpv2.TypeSynced); c.Status != corev1.ConditionTrue {
			t.Errorf("%s: Synced %s %q while it waits, want True: waiting is not a failed reconcile", k.Name, c.Status, c.Message)
		}
	}

	close(release)
	if err := <-held; err != nil {
		t.Fatalf("the held render: %v", err)
	}
	for i := range 3 {
		app := fmt.Sprintf("app-s-%d", i)
		eventually(t, "a sync of "+app, func() (bool, string) {
			_, ok := f.app(app).Object["operation"]
			return ok, "no operation"
		})
	}
	events := &corev1.EventList{}
	must(t, kube.List(context.Background(), events, client.InNamespace(f.ns)))
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning {
			t.Errorf("Warning Event %s on %s: %s", e.Reason, e.InvolvedObject.Name, e.Message)
		}
	}
}
