package webhook

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock the test moves, and the timers it holds.
type fakeClock struct {
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), f: f})
}

// advance moves the clock and fires the timers due by then.
func (c *fakeClock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	var keep []fakeTimer
	var due []func()
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t.f)
		} else {
			keep = append(keep, t)
		}
	}
	c.timers = keep
	for _, f := range due {
		f()
	}
}

// A flood of authenticated webhooks for one Subscription wakes it a burst
// of times, then once per interval: never more, however many arrive. The
// wakes held back in an interval become one trailing wake, so the last
// push is not missed. Another Subscription is not held back.
func TestWakeLimiter(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := NewWakeLimiter(10*time.Second, 3, WithLimiterClock(clock.Now, clock.AfterFunc))
	wakes := map[string]int{}
	send := func(key string, n int) {
		for range n {
			l.Wake(key, func() { wakes[key]++ })
		}
	}

	send("team-a.sub", 1000)
	if diff := cmp.Diff(map[string]int{"team-a.sub": 3}, wakes); diff != "" {
		t.Errorf("after 1000 webhooks at once, -want +got wakes:\n%s", diff)
	}
	if len(clock.timers) != 1 {
		t.Fatalf("%d trailing wakes scheduled, want 1", len(clock.timers))
	}
	if got, want := clock.timers[0].at.Sub(clock.now), 10*time.Second; got != want {
		t.Errorf("trailing wake in %v, want %v", got, want)
	}

	send("team-b.sub", 1)
	clock.advance(10 * time.Second)
	if diff := cmp.Diff(map[string]int{"team-a.sub": 4, "team-b.sub": 1}, wakes); diff != "" {
		t.Errorf("after 10 s, -want +got wakes:\n%s", diff)
	}

	// 1000 more webhooks spread over 100 s: one wake per 10 s.
	for range 100 {
		send("team-a.sub", 10)
		clock.advance(time.Second)
	}
	clock.advance(10 * time.Second)
	if got := wakes["team-a.sub"]; got != 4+10 {
		t.Errorf("after 1000 webhooks over 100 s: %d wakes, want %d (one per 10 s)", got, 4+10)
	}
	if len(clock.timers) != 0 {
		t.Errorf("%d wakes still scheduled after the flood stopped, want 0", len(clock.timers))
	}

	// A quiet Subscription gets its burst back.
	clock.advance(time.Hour)
	before := wakes["team-a.sub"]
	send("team-a.sub", 3)
	if got := wakes["team-a.sub"] - before; got != 3 {
		t.Errorf("after an hour's quiet: %d immediate wakes of 3, want 3", got)
	}
}

func TestWakeLimiterDisabled(t *testing.T) {
	l := NewWakeLimiter(0, 1)
	n := 0
	for range 100 {
		l.Wake("k", func() { n++ })
	}
	if n != 100 {
		t.Errorf("%d wakes of 100 with the limit off", n)
	}
}

// Past maxLimitedKeys busy keys, forgetting idle keys runs only when the
// keys have doubled since it last ran: n new keys cost O(n) visits, not a
// visit of every key per new key (O(n²), 50 million visits here). Keys
// that went idle are still forgotten.
func TestWakeLimiterForgetsInLinearTime(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := NewWakeLimiter(10*time.Second, 3, WithLimiterClock(clock.Now, clock.AfterFunc))
	const n = 3 * maxLimitedKeys
	for i := range n {
		l.Wake(fmt.Sprintf("team-a.sub-%d", i), func() {})
	}
	if l.visited > 2*n {
		t.Errorf("%d new keys visited %d keys, want at most %d", n, l.visited, 2*n)
	}
	if len(l.keys) != n {
		t.Errorf("remembers %d keys, want every busy one (%d)", len(l.keys), n)
	}

	clock.advance(time.Hour) // every bucket is full again: idle
	for i := 0; len(l.keys) > n/2; i++ {
		if i > 2*n {
			t.Fatalf("idle keys are never forgotten: %d kept", len(l.keys))
		}
		l.Wake(fmt.Sprintf("team-b.sub-%d", i), func() {})
	}
}
