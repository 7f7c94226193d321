package subscription

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// WakeEvent is the event, for the Subscription controller's Wake channel,
// that wakes s for news that arrived at at: when the webhook announcing it
// was received. s then polls from a git fetch and tags lists that started no
// earlier than at, so it never misses what woke it, while the Subscriptions
// one webhook wakes together share one fetch and one list. A later at is
// correct too: a wake that a rate limit held back passes the time it is
// delivered, since it stands for every webhook held back before. An event
// on the channel that is not a WakeEvent counts as news that arrived when
// the controller reads it.
func WakeEvent(s *v1alpha1.Subscription, at time.Time) event.GenericEvent {
	return event.GenericEvent{Object: &wokenSubscription{Subscription: s, at: at}}
}

// wokenSubscription carries a wake's time through the channel source; only
// its namespace and name reach the work queue.
type wokenSubscription struct {
	*v1alpha1.Subscription
	at time.Time
}

// maxWakes bounds the wake times remembered; past it, times older than
// staleWake are forgotten (a poll needs a view newer than the fetch window
// anyway, and windows are seconds).
const (
	maxWakes  = 4096
	staleWake = time.Hour
)

// wakes remembers, for each Subscription a webhook woke, when the newest
// news it was woken for arrived, until a poll has seen it.
type wakes struct {
	mu sync.Mutex
	at map[types.NamespacedName]time.Time
	// sweepAt is the size at which record next sweeps stale times: twice
	// what the last sweep kept, and at least maxWakes. Sweeping on every
	// record past maxWakes would cost O(n) per wake, O(n²) for n
	// Subscriptions woken at once; doubling makes it O(1) amortized.
	sweepAt int
	// swept counts the entries sweeps visited, so that a test proves it.
	swept int
}

func newWakes() *wakes { return &wakes{at: map[types.NamespacedName]time.Time{}, sweepAt: maxWakes} }

// record notes news for key that arrived at at.
func (w *wakes) record(key types.NamespacedName, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.at) >= w.sweepAt {
		for k, t := range w.at {
			w.swept++
			if time.Since(t) > staleWake {
				delete(w.at, k)
			}
		}
		w.sweepAt = max(maxWakes, 2*len(w.at))
	}
	if at.After(w.at[key]) {
		w.at[key] = at
	}
}

// since is when the newest news key was woken for arrived; zero if none is
// waiting for a poll.
func (w *wakes) since(key types.NamespacedName) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at[key]
}

// seen forgets the news that arrived at at, once a poll has seen it, unless
// newer news arrived meanwhile.
func (w *wakes) seen(key types.NamespacedName, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.at[key]; ok && !t.After(at) {
		delete(w.at, key)
	}
}

// handler enqueues each woken Subscription after noting when its news
// arrived.
func (w *wakes) handler() handler.Funcs {
	return handler.Funcs{
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.Object == nil {
				return
			}
			at := time.Now()
			if ws, ok := e.Object.(*wokenSubscription); ok && ws.at.Before(at) {
				at = ws.at
			}
			key := types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()}
			w.record(key, at)
			q.Add(reconcile.Request{NamespacedName: key})
		},
	}
}
