package subscription

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// maxRegistryWait bounds how long a registry's Retry-After may put a
// Subscription's next poll off.
const maxRegistryWait = time.Hour

// sweepRegistryWaits is the number of waits past which setting one forgets
// those that are over.
const sweepRegistryWaits = 1024

// registryWaits holds, for each Subscription a registry asked to wait
// (429 or 503, with Retry-After or the client's back-off), when that wait
// ends: its next poll is not before. A poll within the wait would make no
// request (the registry client fails fast), yet write a status that says
// a shorter wait, and so wake the Track for nothing.
type registryWaits struct {
	mu    sync.Mutex
	until map[types.NamespacedName]time.Time
}

func newRegistryWaits() *registryWaits {
	return &registryWaits{until: map[types.NamespacedName]time.Time{}}
}

// set records that key's registries asked it to wait d from now; d <= 0
// (no registry asked) forgets key.
func (w *registryWaits) set(key types.NamespacedName, now time.Time, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.until) >= sweepRegistryWaits {
		// A Subscription deleted during its wait is never polled again:
		// forget the waits that are over.
		for k, until := range w.until {
			if !until.After(now) {
				delete(w.until, k)
			}
		}
	}
	if d <= 0 {
		delete(w.until, key)
		return
	}
	w.until[key] = now.Add(min(d, maxRegistryWait))
}

// next is when key polls next, from now: after interval, or when the wait
// a registry asked for ends, whichever is later.
func (w *registryWaits) next(key types.NamespacedName, now time.Time, interval time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(interval, w.until[key].Sub(now))
}
