package ticket

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// renderWaitRecheck is how often a Ticket waiting for its namespace's
// render share is reconciled even if no render of its namespace ends: a
// safety net, since the Ticket woken for a freed share may no longer need
// it.
const renderWaitRecheck = 10 * time.Second

// renderWaiters are the Tickets that found their namespace's render share
// taken (render.Renderer.Busy), in the order they came, per namespace. When
// a render of that namespace ends, the first is woken to render: a Ticket
// waits without holding a reconcile worker, and without the backoff of a
// failed reconcile, which would grow with every Ticket ahead of it. At most
// one entry per Ticket, so bounded by the Tickets.
type renderWaiters struct {
	wake chan event.GenericEvent

	mu      sync.Mutex
	queue   map[string][]types.NamespacedName
	waiting map[types.NamespacedName]bool
}

func newRenderWaiters() *renderWaiters {
	return &renderWaiters{wake: make(chan event.GenericEvent, 1024), queue: map[string][]types.NamespacedName{}, waiting: map[types.NamespacedName]bool{}}
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

// isWaiting reports whether the Ticket key waits for a render share.
func (w *renderWaiters) isWaiting(key types.NamespacedName) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.waiting[key]
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
