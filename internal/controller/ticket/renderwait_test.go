package ticket

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

// The line of Tickets waiting for a namespace's render share: first come,
// first woken; only its head is rechecked; a Ticket that goes on to render
// (or is gone) leaves the line and is not woken for a share it no longer
// needs.
func TestRenderWaitersLine(t *testing.T) {
	key := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	a1, a2, a3, b1 := key("a", "1"), key("a", "2"), key("a", "3"), key("b", "1")
	w := newRenderWaiters(1)
	for _, k := range []types.NamespacedName{a1, a2, a3, b1, a1} {
		w.wait(k)
	}
	heads := func() []bool { return []bool{w.atHead(a1), w.atHead(a2), w.atHead(a3), w.atHead(b1)} }
	if diff := cmp.Diff([]bool{true, false, false, true}, heads()); diff != "" {
		t.Errorf("at the head, a1 a2 a3 b1: -want +got:\n%s", diff)
	}

	w.done(a1) // a1 rendered on its own recheck
	if diff := cmp.Diff([]bool{false, true, false, true}, heads()); diff != "" {
		t.Errorf("at the head after a1 left, a1 a2 a3 b1: -want +got:\n%s", diff)
	}

	var woken []string
	wake := func() {
		select {
		case e := <-w.wake:
			woken = append(woken, e.Object.GetNamespace()+"/"+e.Object.GetName())
		default:
		}
	}
	w.freed("a")
	wake()
	w.freed("a")
	wake()
	w.freed("a") // nobody left in a
	wake()
	if diff := cmp.Diff([]string{"a/2", "a/3"}, woken); diff != "" {
		t.Errorf("woken in a, in order: -want +got:\n%s", diff)
	}
	if w.atHead(a2) || w.atHead(a3) || !w.atHead(b1) {
		t.Errorf("after a's line emptied: a2 %v a3 %v b1 %v at the head, want false false true", w.atHead(a2), w.atHead(a3), w.atHead(b1))
	}
}
