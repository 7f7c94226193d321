package writes

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
)

// DefaultRepeatWindow is how long an Event that repeats the last one
// recorded for its object is held back: a reconcile that fails the same way
// at every retry says so once, and again at most this often.
const DefaultRepeatWindow = 10 * time.Minute

// maxRemembered bounds the objects whose last Event is remembered; past it,
// the oldest are forgotten (and may repeat once).
const maxRemembered = 10000

// DropRepeats returns a Recorder that records through r every Event except
// one equal (type, reason, message) to the last Event recorded for the same
// object less than window ago.
func DropRepeats(r event.Recorder, window time.Duration) event.Recorder {
	return &repeatFilter{next: r, seen: &lastEvents{window: window, now: time.Now, last: map[types.UID]recorded{}}}
}

type recorded struct {
	typ     event.Type
	reason  event.Reason
	message string
	at      time.Time
}

type repeatFilter struct {
	next event.Recorder
	// seen is shared with every Recorder WithAnnotations derives: the
	// managed reconciler records through a new one each reconcile.
	seen *lastEvents
}

// lastEvents remembers the last Event recorded for each object.
type lastEvents struct {
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[types.UID]recorded
}

func (f *repeatFilter) Event(obj runtime.Object, e event.Event) {
	if f.seen.repeats(obj, e) {
		return
	}
	f.next.Event(obj, e)
}

func (f *repeatFilter) WithAnnotations(keysAndValues ...string) event.Recorder {
	return &repeatFilter{next: f.next.WithAnnotations(keysAndValues...), seen: f.seen}
}

// repeats reports whether e repeats obj's last Event within the window, and
// remembers e as obj's last Event when it does not.
func (f *lastEvents) repeats(obj runtime.Object, e event.Event) bool {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetUID() == "" {
		return false
	}
	now := f.now()
	this := recorded{typ: e.Type, reason: e.Reason, message: e.Message, at: now}
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.last[m.GetUID()]; ok && l.typ == this.typ && l.reason == this.reason && l.message == this.message && now.Sub(l.at) < f.window {
		return true
	}
	if len(f.last) >= maxRemembered {
		f.forgetOldest()
	}
	f.last[m.GetUID()] = this
	return false
}

// forgetOldest forgets the objects whose last Event is older than the
// window, or, if none is, the one recorded longest ago.
func (f *lastEvents) forgetOldest() {
	now := f.now()
	var oldest types.UID
	var oldestAt time.Time
	for uid, l := range f.last {
		if now.Sub(l.at) >= f.window {
			delete(f.last, uid)
			continue
		}
		if oldest == "" || l.at.Before(oldestAt) {
			oldest, oldestAt = uid, l.at
		}
	}
	if len(f.last) >= maxRemembered {
		delete(f.last, oldest)
	}
}
