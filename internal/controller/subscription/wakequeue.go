package subscription

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// A wakeQueue hands woken Subscriptions to the controller's wake channel.
// The webhook request that wakes them must not wait for the controller, and
// a wake the sender was told succeeded must not be lost: one event on a
// config's webhook may wake hundreds of Subscriptions at once, more than
// the channel holds. A wake the channel cannot take now waits in a set,
// one entry per Subscription (a second wake of a Subscription already
// waiting adds nothing: its reconcile reads it afresh), which one goroutine
// moves into the channel as the controller drains it. The set holds at most
// one entry per Subscription in the cache, so it is bounded by them; on a
// replica that is not the leader, where nothing reads the channel, that is
// all it ever holds.
type wakeQueue struct {
	out chan<- event.GenericEvent

	mu       sync.Mutex
	pending  map[types.NamespacedName]client.Object
	draining bool
}

func newWakeQueue(out chan<- event.GenericEvent) *wakeQueue {
	return &wakeQueue{out: out, pending: map[types.NamespacedName]client.Object{}}
}

// add wakes o. It never blocks.
func (q *wakeQueue) add(o client.Object) {
	select {
	case q.out <- event.GenericEvent{Object: o}:
		return
	default:
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending[client.ObjectKeyFromObject(o)] = o
	if !q.draining {
		q.draining = true
		go q.drain()
	}
}

// drain moves the waiting wakes into the channel, blocking on it, and ends
// once none waits.
func (q *wakeQueue) drain() {
	for {
		q.mu.Lock()
		var o client.Object
		for k, v := range q.pending {
			o = v
			delete(q.pending, k)
			break
		}
		if o == nil {
			q.draining = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		q.out <- event.GenericEvent{Object: o}
	}
}
