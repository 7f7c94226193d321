package ticket

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// renderWaitRecheck is how often the Tickets at the head of their
// namespace's line are reconciled even if no render of the namespace ends:
// a safety net, since the Ticket woken for a freed share may no longer need
// it. The others wait for their turn without being reconciled.
const renderWaitRecheck = 10 * time.Second

// renderWaiters are the Tickets that found their namespace's render share
// taken (render.Renderer.Busy), in the order they came, per namespace. When
// a render of that namespace ends, the first is woken to render: a Ticket
// waits without holding a reconcile worker, and without the backoff of a
// failed reconcile, which would grow with every Ticket ahead of it. At most
// one entry per Ticket, so bounded by the Tickets.
type renderWaiters struct {
	wake chan event.GenericEvent
	// head is how many Tickets at the head of a namespace's line are
	// rechecked: as many as may render at once.
	head int

	mu      sync.Mutex
	queue   map[string][]types.NamespacedName
	waiting map[types.NamespacedName]bool
}

func newRenderWaiters(head int) *renderWaiters {
	return &renderWaiters{wake: make(chan event.GenericEvent, 1024), head: max(head, 1), queue: map[string][]types.NamespacedName{}, waiting: map[types.NamespacedName]bool{}}
}

// wait queues the Ticket key behind its namespace's renders.
func (w *renderWaiters) wait(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting[key] {
		return
	}
	w.waiting[key] = true
	w.queue[key.Namespace] = append(w.queue[key.Namespace], key)
}

// done takes the Ticket key out of line: it renders, needs no render, or is
// gone.
func (w *renderWaiters) done(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.waiting[key] {
		return
	}
	delete(w.waiting, key)
	q := w.queue[key.Namespace]
	for i, k := range q {
		if k == key {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(w.queue, key.Namespace)
		return
	}
	w.queue[key.Namespace] = q
}

// atHead reports whether the Ticket key is among the first of its
// namespace's line, those rechecked every renderWaitRecheck.
func (w *renderWaiters) atHead(key types.NamespacedName) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue[key.Namespace]
	for i := 0; i < len(q) && i < w.head; i++ {
		if q[i] == key {
			return true
		}
	}
	return false
}

// freed wakes the first Ticket waiting in namespace, if any. It never
// blocks: it is called as a render ends.
func (w *renderWaiters) freed(namespace string) {
	w.mu.Lock()
	q := w.queue[namespace]
	if len(q) == 0 {
		w.mu.Unlock()
		return
	}
	key := q[0]
	if len(q) == 1 {
		delete(w.queue, namespace)
	} else {
		w.queue[namespace] = q[1:]
	}
	delete(w.waiting, key)
	w.mu.Unlock()

	t := &v1alpha1.Ticket{}
	t.SetNamespace(key.Namespace)
	t.SetName(key.Name)
	ev := event.GenericEvent{Object: client.Object(t)}
	select {
	case w.wake <- ev:
	default:
		// Full: hand it over when the controller has drained some.
		go func() { w.wake <- ev }()
	}
}
