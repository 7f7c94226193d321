package webhook

import (
	"sync"
	"time"
)

// DefaultWakeEvery and DefaultWakeBurst are the wake rate of each
// Subscription: a burst of 3, then one wake per 10 s. A sender holding a
// leaked key can force no more polls than that.
const (
	DefaultWakeEvery = 10 * time.Second
	DefaultWakeBurst = 3
)

// maxLimitedKeys bounds the keys a WakeLimiter remembers; idle keys (full
// bucket, nothing pending) are forgotten beyond it.
const maxLimitedKeys = 4096

// A WakeLimiter lets each key wake at most burst times at once, then once
// per every (a token bucket per key). A wake held back is not lost: one
// trailing wake per key runs when the bucket next holds a token, so a push
// that arrives just after a wake is still seen within every.
type WakeLimiter struct {
	every time.Duration
	burst int
	now   func() time.Time
	after func(time.Duration, func())

	mu   sync.Mutex
	keys map[string]*bucket
	// forgetAt is the size at which a new key next makes forgetIdle run:
	// twice what it last kept, and at least maxLimitedKeys. Running it for
	// every new key past maxLimitedKeys would cost O(n) per wake while n
	// keys are busy; doubling makes it O(1) amortized.
	forgetAt int
	// visited counts the keys forgetIdle looked at, so that a test proves it.
	visited int
}

type bucket struct {
	tokens  float64
	at      time.Time
	pending bool
}

// A WakeLimiterOption configures a WakeLimiter.
type WakeLimiterOption func(*WakeLimiter)

// WithLimiterClock replaces time.Now and time.AfterFunc, so that tests
// drive the limiter without sleeping.
func WithLimiterClock(now func() time.Time, after func(time.Duration, func())) WakeLimiterOption {
	return func(l *WakeLimiter) { l.now, l.after = now, after }
}

// NewWakeLimiter returns a limiter of one wake per every per key, with a
// burst of burst. every <= 0 disables it.
func NewWakeLimiter(every time.Duration, burst int, opts ...WakeLimiterOption) *WakeLimiter {
	l := &WakeLimiter{
		every: every, burst: max(burst, 1), now: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		keys:  map[string]*bucket{}, forgetAt: maxLimitedKeys,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Wake calls wake now if key has a token left, or schedules one trailing
// call for when it has, unless one is scheduled already.
func (l *WakeLimiter) Wake(key string, wake func()) {
	if l.every <= 0 {
		wake()
		return
	}
	l.mu.Lock()
	now := l.now()
	b := l.refill(key, now)
	switch {
	case b.tokens >= 1:
		b.tokens--
		l.mu.Unlock()
		wake()
	case b.pending:
		l.mu.Unlock()
	default:
		b.pending = true
		wait := time.Duration((1 - b.tokens) * float64(l.every))
		l.mu.Unlock()
		l.after(wait, func() {
			l.mu.Lock()
			b := l.refill(key, l.now())
			b.pending = false
			b.tokens = max(b.tokens-1, 0)
			l.mu.Unlock()
			wake()
		})
	}
}

// refill returns key's bucket, topped up for the time since it was last
// seen. l.mu is held.
func (l *WakeLimiter) refill(key string, now time.Time) *bucket {
	b, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.forgetAt {
			l.forgetIdle(now)
			l.forgetAt = max(maxLimitedKeys, 2*len(l.keys))
		}
		b = &bucket{tokens: float64(l.burst), at: now}
		l.keys[key] = b
		return b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(b.tokens+float64(elapsed)/float64(l.every), float64(l.burst))
		b.at = now
	}
	return b
}

// forgetIdle drops the keys whose bucket would be full by now: forgetting
// them changes nothing. l.mu is held.
func (l *WakeLimiter) forgetIdle(now time.Time) {
	for k, b := range l.keys {
		l.visited++
		if !b.pending && b.tokens+float64(now.Sub(b.at))/float64(l.every) >= float64(l.burst) {
			delete(l.keys, k)
		}
	}
}
