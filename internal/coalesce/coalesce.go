// Package coalesce shares one call of an expensive read (a git fetch, a
// registry's tags list) among the callers that need its result at the same
// time, and reuses a recent result for a while: a webhook that wakes 100
// pollers of one repository costs one request, not 100.
//
// A caller says how fresh a result it needs: one from a call that started no
// earlier than a moment (notBefore). It is never handed an older one. A call
// that started too early for a caller is not shared with it: the caller
// waits for that call to end and shares the next one, which starts once it
// has. So concurrent callers cost at most two calls, whatever their number.
package coalesce

import (
	"context"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// A Flight runs one call of its function at a time, and shares each call,
// and the newest call's result while it is fresh enough, among its callers.
// The zero value is ready to use. A Flight must not be copied after first
// use.
type Flight[V any] struct {
	// Timeout bounds each call. A call runs under a context of its own, not
	// its callers' (one caller giving up must not fail the others), so it
	// needs a bound of its own: zero means none beyond the function's.
	Timeout time.Duration

	// OnWait, when set, is called each time a caller of Do starts to wait
	// for a call, after it chose which: tests coordinate on it. Set it
	// before first use.
	OnWait func()

	// Keep is how long the newest result is kept after its call succeeded:
	// then it is dropped, for the memory it holds, and the next caller gets
	// a new call. Zero keeps it until a newer one replaces it (or Forget);
	// negative keeps none: a result goes to the callers of its call only.
	Keep time.Duration

	// OnIdle, when set, is called, without the Flight's lock, each time the
	// Flight comes to hold no call and no result (see Idle): a call ended
	// without a result to keep and none is queued, or Keep dropped the
	// result. Its owner may then let the Flight go. Set it before first use.
	OnIdle func()

	// AfterFunc, when set, replaces time.AfterFunc to drop a result once
	// Keep has passed: tests fire it themselves. It returns a function that
	// stops it. Set it before first use.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)

	mu      sync.Mutex
	running *call[V]    // the call in progress, if any
	queued  *call[V]    // the call that starts once running ends, if any
	last    *call[V]    // the newest call that succeeded, if any
	gen     uint64      // Forget's count: a call started before it is not reused
	expire  func() bool // stops the timer that drops last, if any
}

type call[V any] struct {
	ctx   context.Context // its creator's, for its values only
	fn    func(context.Context) (V, error)
	start time.Time // set when it starts
	gen   uint64
	done  chan struct{}
	val   V
	err   error
}

// Do returns the result of a call of fn that started no earlier than
// notBefore, or of the newest one that succeeded if it did. A notBefore in
// the future means now. It starts a call if none is running; if the running
// call started too early, it waits for the call after it. An error is
// returned to the callers of the call that failed, and never reused.
//
// fn runs under a context that carries the values of the context of the
// caller that started it but not its cancellation, bounded by Timeout. All
// callers of one Flight must pass functions that do the same thing: only one
// of them runs. When ctx ends first, Do returns ctx's error at once and the
// call goes on for the others.
func (f *Flight[V]) Do(ctx context.Context, notBefore time.Time, fn func(context.Context) (V, error)) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	f.mu.Lock()
	now := time.Now()
	if notBefore.After(now) {
		notBefore = now
	}
	if l := f.last; l != nil && !l.start.Before(notBefore) {
		f.mu.Unlock()
		return l.val, nil
	}
	var c *call[V]
	switch r := f.running; {
	case r == nil:
		c = f.newCall(ctx, fn)
		f.startLocked(c, now)
	case !r.start.Before(notBefore):
		c = r
	default:
		if f.queued == nil {
			f.queued = f.newCall(ctx, fn)
		}
		c = f.queued
	}
	f.mu.Unlock()
	if f.OnWait != nil {
		f.OnWait()
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		select {
		case <-c.done: // both: the result is there, take it
			return c.val, c.err
		default:
			return zero, ctx.Err()
		}
	}
}

// Forget drops the newest result: the next caller gets a new call, and a
// call already started when Forget is called is not reused after it ends.
// Call it when what the result describes is gone (a clone was deleted).
func (f *Flight[V]) Forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropLocked()
	f.gen++
}

// Idle reports whether the Flight holds no call, running or queued, and no
// result.
func (f *Flight[V]) Idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.idleLocked()
}

func (f *Flight[V]) idleLocked() bool {
	return f.running == nil && f.queued == nil && f.last == nil
}

// keepLocked makes c the newest result, dropped once Keep has passed;
// f.mu is held.
func (f *Flight[V]) keepLocked(c *call[V]) {
	f.dropLocked()
	f.last = c
	if f.Keep <= 0 {
		return
	}
	after := f.AfterFunc
	if after == nil {
		after = func(d time.Duration, fn func()) func() bool { return time.AfterFunc(d, fn).Stop }
	}
	f.expire = after(f.Keep, func() { f.expired(c) })
}

// dropLocked drops the newest result and stops its timer; f.mu is held.
func (f *Flight[V]) dropLocked() {
	if f.expire != nil {
		f.expire()
		f.expire = nil
	}
	f.last = nil
}

// expired drops c once Keep has passed, unless a newer result replaced it
// (its timer may fire while it is being stopped).
func (f *Flight[V]) expired(c *call[V]) {
	f.mu.Lock()
	if f.last != c {
		f.mu.Unlock()
		return
	}
	f.expire = nil
	f.last = nil
	idle := f.idleLocked()
	f.mu.Unlock()
	if idle && f.OnIdle != nil {
		f.OnIdle()
	}
}

// Fresh reports whether a call that started no earlier than notBefore
// succeeded, so that Do would return at once without calling fn.
func (f *Flight[V]) Fresh(notBefore time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last != nil && !f.last.start.Before(notBefore)
}

func (f *Flight[V]) newCall(ctx context.Context, fn func(context.Context) (V, error)) *call[V] {
	return &call[V]{ctx: ctx, fn: fn, done: make(chan struct{})}
}

// startLocked starts c; f.mu is held. Its start time is taken before fn
// runs, so what fn reads is at least as new as it.
func (f *Flight[V]) startLocked(c *call[V], now time.Time) {
	c.start, c.gen = now, f.gen
	f.running = c
	go f.run(c)
}

func (f *Flight[V]) run(c *call[V]) {
	ctx := context.WithoutCancel(c.ctx)
	if f.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.Timeout)
		defer cancel()
	}
	v, err := callSafely(ctx, c.fn)

	f.mu.Lock()
	c.val, c.err = v, err
	c.ctx, c.fn = nil, nil
	if err == nil && f.Keep >= 0 && c.gen == f.gen && (f.last == nil || c.start.After(f.last.start)) {
		f.keepLocked(c)
	}
	f.running = nil
	close(c.done)
	if q := f.queued; q != nil {
		f.queued = nil
		f.startLocked(q, time.Now())
	}
	idle := f.idleLocked()
	f.mu.Unlock()
	if idle && f.OnIdle != nil {
		f.OnIdle()
	}
}

// callSafely calls fn, turning a panic into an error: fn runs on a goroutine
// of its own, where a panic, say on a hostile server's answer, would
// otherwise end the process rather than fail one call.
func callSafely[V any](ctx context.Context, fn func(context.Context) (V, error)) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx)
}
