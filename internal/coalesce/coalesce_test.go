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

func do(f *Flight[int], ctx context.Context, notBefore time.Time, g *gate) <-chan outcome {
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
		outs = append(outs, do(f, context.Background(), asked, g))
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
	later := do(f, context.Background(), time.Now(), g)
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
	first := do(f, context.Background(), time.Time{}, g)
	w.await(t, 1)
	<-g.started
	after := time.Now() // after the running call started
	second := do(f, context.Background(), after, g)
	third := do(f, context.Background(), after, g)
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
	a := do(f, context.Background(), time.Time{}, g)
	b := do(f, context.Background(), time.Time{}, g)
	w.await(t, 2)
	g.finish(1, 0, errors.New("remote said no"))
	if diff := cmp.Diff([]outcome{{Err: "remote said no"}, {Err: "remote said no"}}, collect(t, a, b)); diff != "" {
		t.Errorf("callers of the failed call: -want +got:\n%s", diff)
	}
	c := do(f, context.Background(), time.Time{}, g)
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
	starter := do(f, ctx, time.Time{}, g)
	w.await(t, 1)
	other := do(f, context.Background(), time.Time{}, g)
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
	a := do(f, context.Background(), time.Time{}, g)
	w.await(t, 1)
	<-g.started
	f.Forget() // while call 1 runs
	g.finish(1, 1, nil)
	collect(t, a)
	if f.Fresh(time.Time{}) {
		t.Error("the result of a call running at Forget is reused")
	}
	b := do(f, context.Background(), time.Time{}, g)
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
