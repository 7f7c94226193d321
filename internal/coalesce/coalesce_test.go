package coalesce

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// gate is a function whose calls each wait for the test to end them, so a
// test decides what is running when.
type gate struct {
	mu      sync.Mutex
	n       int
	started chan int            // a call's number, as it starts
	end     map[int]chan result // closed by the test to end call n
	ctxErr  map[int]error       // the call's context's error when it ended
}

type result struct {
	v   int
	err error
}

func newGate() *gate {
	return &gate{started: make(chan int, 16), end: map[int]chan result{}, ctxErr: map[int]error{}}
}

func (g *gate) ch(n int) chan result {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.end[n] == nil {
		g.end[n] = make(chan result, 1)
	}
	return g.end[n]
}

func (g *gate) fn(ctx context.Context) (int, error) {
	g.mu.Lock()
	g.n++
	n := g.n
	g.mu.Unlock()
	g.started <- n
	r := <-g.ch(n)
	g.mu.Lock()
	g.ctxErr[n] = ctx.Err()
	g.mu.Unlock()
	return r.v, r.err
}

// finish ends call n with v, err.
func (g *gate) finish(n, v int, err error) { g.ch(n) <- result{v, err} }

func (g *gate) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// waiters counts the callers that started to wait (Flight.OnWait).
type waiters chan struct{}

func (w waiters) await(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-w:
		case <-time.After(time.Minute):
			t.Fatalf("fewer than %d callers waited", n)
		}
	}
}

func newFlight() (*Flight[int], waiters) {
	w := make(waiters, 64)
	return &Flight[int]{OnWait: func() { w <- struct{}{} }}, w
}

type outcome struct {
	V   int
	Err string
}

func do(ctx context.Context, f *Flight[int], notBefore time.Time, g *gate) <-chan outcome {
	out := make(chan outcome, 1)
	go func() {
		v, err := f.Do(ctx, notBefore, g.fn)
		o := outcome{V: v}
		if err != nil {
			o.Err = err.Error()
		}
		out <- o
	}()
	return out
}

func collect(t *testing.T, chs ...<-chan outcome) []outcome {
	t.Helper()
	var got []outcome
	for _, ch := range chs {
		select {
		case o := <-ch:
			got = append(got, o)
		case <-time.After(time.Minute):
			t.Fatal("a caller never returned")
		}
	}
	return got
}

// Callers that arrive while a call they may share runs all get its result:
// one call for all of them.
func TestDoSharesOneCall(t *testing.T) {
	const n = 10
	f, w := newFlight()
	g := newGate()
	asked := time.Now()
	var outs []<-chan outcome
	for range n {
		outs = append(outs, do(context.Background(), f, asked, g))
	}
	w.await(t, n) // all n wait, for the one call that started
	g.finish(1, 7, nil)
	want := make([]outcome, n)
	for i := range want {
		want[i] = outcome{V: 7}
	}
	if diff := cmp.Diff(want, collect(t, outs...)); diff != "" {
		t.Errorf("results: -want +got:\n%s", diff)
	}
	if got := g.calls(); got != 1 {
		t.Errorf("calls: want 1, got %d", got)
	}

	// Afterwards, the result is reused for callers it is fresh enough for,
	// and a caller that needs a newer one gets a new call.
	if v, err := f.Do(context.Background(), asked, g.fn); v != 7 || err != nil || g.calls() != 1 {
		t.Errorf("Do(fresh enough): got %d, %v after %d calls, want 7 from the first call", v, err, g.calls())
	}
	later := do(context.Background(), f, time.Now(), g)
	w.await(t, 1)
	g.finish(2, 8, nil)
	if diff := cmp.Diff([]outcome{{V: 8}}, collect(t, later)); diff != "" {
		t.Errorf("Do(newer than the last call): -want +got:\n%s", diff)
	}
}

// A caller that needs a result newer than the running call's start is not
// handed that call's result: it waits for it to end and shares the single
// call that starts next.
func TestDoNewerWaitsForTheNextCall(t *testing.T) {
	f, w := newFlight()
	g := newGate()
	first := do(context.Background(), f, time.Time{}, g)
	w.await(t, 1)
	<-g.started
	after := time.Now() // after the running call started
	second := do(context.Background(), f, after, g)
	third := do(context.Background(), f, after, g)
	w.await(t, 2)
	g.finish(1, 1, nil)
	if diff := cmp.Diff([]outcome{{V: 1}}, collect(t, first)); diff != "" {
		t.Errorf("first caller: -want +got:\n%s", diff)
	}
	select {
	case n := <-g.started:
		if n != 2 {
			t.Fatalf("call %d started, want 2", n)
		}
	case <-time.After(time.Minute):
		t.Fatal("no second call")
	}
	g.finish(2, 2, nil)
	if diff := cmp.Diff([]outcome{{V: 2}, {V: 2}}, collect(t, second, third)); diff != "" {
		t.Errorf("callers that needed a newer call: -want +got:\n%s", diff)
	}
	if got := g.calls(); got != 2 {
		t.Errorf("calls: want 2, got %d", got)
	}
}

// An error goes to the callers of the call that failed, and is never
// reused: the next caller gets a new call.
func TestDoErrorIsNotReused(t *testing.T) {
	f, w := newFlight()
	g := newGate()
	a := do(context.Background(), f, time.Time{}, g)
	b := do(context.Background(), f, time.Time{}, g)
	w.await(t, 2)
	g.finish(1, 0, errors.New("remote said no"))
	if diff := cmp.Diff([]outcome{{Err: "remote said no"}, {Err: "remote said no"}}, collect(t, a, b)); diff != "" {
		t.Errorf("callers of the failed call: -want +got:\n%s", diff)
	}
	c := do(context.Background(), f, time.Time{}, g)
	w.await(t, 1)
	g.finish(2, 5, nil)
	if diff := cmp.Diff([]outcome{{V: 5}}, collect(t, c)); diff != "" {
		t.Errorf("caller after the failure: -want +got:\n%s", diff)
	}
}

// A caller whose context ends stops waiting at once; the call it started
// goes on, uncancelled, for the other callers.
func TestDoCancelledCallerCancelsNobodyElse(t *testing.T) {
	f, w := newFlight()
	g := newGate()
	ctx, cancel := context.WithCancel(context.Background())
	starter := do(ctx, f, time.Time{}, g)
	w.await(t, 1)
	other := do(context.Background(), f, time.Time{}, g)
	w.await(t, 1)
	cancel()
	if diff := cmp.Diff([]outcome{{Err: context.Canceled.Error()}}, collect(t, starter)); diff != "" {
		t.Errorf("cancelled caller: -want +got:\n%s", diff)
	}
	g.finish(1, 3, nil)
	if diff := cmp.Diff([]outcome{{V: 3}}, collect(t, other)); diff != "" {
		t.Errorf("other caller: -want +got:\n%s", diff)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.ctxErr[1]; err != nil {
		t.Errorf("the call's context ended with its starter's: %v", err)
	}
}

// A Timeout bounds the call's own context.
func TestDoTimeoutBoundsTheCall(t *testing.T) {
	f := &Flight[int]{Timeout: time.Hour}
	v, err := f.Do(context.Background(), time.Time{}, func(ctx context.Context) (int, error) {
		d, ok := ctx.Deadline()
		if !ok || time.Until(d) > time.Hour {
			return 0, errors.New("no deadline within the timeout")
		}
		return 1, nil
	})
	if v != 1 || err != nil {
		t.Errorf("Do: got %d, %v", v, err)
	}
}

// After Forget, the last result is not reused, nor is that of a call that
// was running when Forget was called.
func TestForget(t *testing.T) {
	f, w := newFlight()
	g := newGate()
	a := do(context.Background(), f, time.Time{}, g)
	w.await(t, 1)
	<-g.started
	f.Forget() // while call 1 runs
	g.finish(1, 1, nil)
	collect(t, a)
	if f.Fresh(time.Time{}) {
		t.Error("the result of a call running at Forget is reused")
	}
	b := do(context.Background(), f, time.Time{}, g)
	w.await(t, 1)
	g.finish(2, 2, nil)
	if diff := cmp.Diff([]outcome{{V: 2}}, collect(t, b)); diff != "" {
		t.Errorf("after Forget: -want +got:\n%s", diff)
	}
	if !f.Fresh(time.Time{}) {
		t.Error("a call after Forget is not reused")
	}
}

// A call that panics fails its callers with an error, and the Flight goes
// on.
func TestDoPanicIsAnError(t *testing.T) {
	f := &Flight[int]{}
	_, err := f.Do(context.Background(), time.Time{}, func(context.Context) (int, error) { panic("bad answer") })
	if err == nil || err.Error() != "panic: bad answer" {
		t.Errorf("Do(panicking fn): got %v, want the panic as an error", err)
	}
	if v, err := f.Do(context.Background(), time.Time{}, func(context.Context) (int, error) { return 1, nil }); v != 1 || err != nil {
		t.Errorf("Do after a panic: got %d, %v", v, err)
	}
}

// timers is a fake time.AfterFunc (Flight.AfterFunc): the test fires the
// timers itself instead of waiting for them.
type timers struct {
	mu  sync.Mutex
	all []*timer
}

type timer struct {
	d       time.Duration
	fn      func()
	stopped bool
}

func (ts *timers) after(d time.Duration, fn func()) func() bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tm := &timer{d: d, fn: fn}
	ts.all = append(ts.all, tm)
	return func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		was := !tm.stopped
		tm.stopped = true
		return was
	}
}

// fire runs every timer, as if its time had passed.
func (ts *timers) fire() {
	ts.mu.Lock()
	all := ts.all
	ts.mu.Unlock()
	for _, tm := range all {
		tm.fn()
	}
}

// kept reports whether f holds a result: memory it keeps.
func kept(f *Flight[int]) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last != nil
}

func (ts *timers) durations() []time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var ds []time.Duration
	for _, tm := range ts.all {
		ds = append(ds, tm.d)
	}
	return ds
}

// TestKeep: a result is dropped once Keep has passed, so that it holds no
// memory and the next caller gets a new call; zero Keep keeps it until a
// newer one replaces it; negative Keep keeps none.
func TestKeep(t *testing.T) {
	type state struct {
		Timers     []time.Duration // the timers started to drop a result
		KeptBefore bool            // a result is held before the timers fire
		KeptAfter  bool            // ... and after
		Idle       int             // OnIdle calls
		Second     outcome         // the next caller's result
		Calls      int
	}
	cases := map[string]struct {
		keep time.Duration
		want state
	}{
		"ZeroKeepsUntilReplaced": {
			keep: 0,
			want: state{KeptBefore: true, KeptAfter: true, Second: outcome{V: 1}, Calls: 1},
		},
		"PositiveDropsOncePassed": {
			keep: time.Minute,
			want: state{Timers: []time.Duration{time.Minute}, KeptBefore: true, Idle: 1, Second: outcome{V: 2}, Calls: 2},
		},
		"NegativeKeepsNone": {
			keep: -1,
			want: state{Idle: 2, Second: outcome{V: 2}, Calls: 2},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ts := &timers{}
			idles := make(chan struct{}, 16)
			f := &Flight[int]{Keep: tc.keep, AfterFunc: ts.after, OnIdle: func() { idles <- struct{}{} }}
			g := newGate()
			first := do(context.Background(), f, time.Time{}, g)
			g.finish(<-g.started, 1, nil)
			collect(t, first)

			got := state{Timers: ts.durations(), KeptBefore: kept(f)}
			ts.fire()
			got.KeptAfter = kept(f)

			second := do(context.Background(), f, time.Time{}, g)
			if tc.want.Calls == 2 {
				g.finish(<-g.started, 2, nil)
			}
			got.Second = collect(t, second)[0]
			got.Calls, got.Idle = g.calls(), count(idles, tc.want.Idle)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// TestKeepReplaced: a newer result stops the timer of the one it replaces,
// and that timer firing anyway (a real one may, while it is being stopped)
// does not drop the newer result before its own time.
func TestKeepReplaced(t *testing.T) {
	ts := &timers{}
	f := &Flight[int]{Keep: time.Minute, AfterFunc: ts.after}
	g := newGate()
	for v := 1; v <= 2; v++ {
		ch := do(context.Background(), f, time.Now(), g)
		g.finish(<-g.started, v, nil)
		collect(t, ch)
	}
	ts.mu.Lock()
	old, stopped := ts.all[0].fn, ts.all[0].stopped
	ts.mu.Unlock()
	old()
	type state struct {
		Timers       int
		FirstStopped bool
		Kept         bool
		Got          outcome
	}
	got := state{Timers: len(ts.durations()), FirstStopped: stopped, Kept: kept(f)}
	got.Got = collect(t, do(context.Background(), f, time.Time{}, g))[0]
	if diff := cmp.Diff(state{Timers: 2, FirstStopped: true, Kept: true, Got: outcome{V: 2}}, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// count counts what arrives on ch: up to want, which it waits for, and any
// more that already arrived.
func count(ch <-chan struct{}, want int) int {
	n := 0
	for ; n < want; n++ {
		select {
		case <-ch:
		case <-time.After(time.Minute):
			return n
		}
	}
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}
