package render

import (
	"context"
	"sync"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/google/go-cmp/cmp"
)

// gatedSource is a test double: a real Source whose first IsDir call (the
// first read a render makes, slot held) says so on entered and then waits
// for release. It holds a render slot for as long as the test wants, as an
// overlay that runs to the time limit does, without a clock.
type gatedSource struct {
	Source
	name    string
	entered chan<- string
	release <-chan struct{}
	once    sync.Once
}

func (g *gatedSource) IsDir(p string) (bool, error) {
	g.once.Do(func() {
		g.entered <- g.name
		<-g.release
	})
	return g.Source.IsDir(p)
}

// workerCounter counts the render workers started per tenant.
type workerCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *workerCounter) started(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[tenant]++
}

func (c *workerCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyCounts(c.n)
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestTenantHoldsAtMostOneSlot: with two render slots, a tenant whose
// render holds one (as a render running to its time limit does) is refused
// a second at once, before anything is read or a worker started, and
// another tenant gets the other slot. A third tenant renders once a slot is
// free; so does the first tenant's next render, once its first is done. On main, the tenant's second render took the second slot and the
// other tenant waited behind it.
func TestTenantHoldsAtMostOneSlot(t *testing.T) {
	var workers workerCounter
	r := NewRenderer(Limits{MaxParallel: 2}, WithWorkerStarted(workers.started))
	ctx := context.Background()
	entered := make(chan string)
	release := make(chan struct{})
	gated := func(name string) Source {
		return &gatedSource{Source: MapSource(fixture()), name: name, entered: entered, release: release}
	}
	results := make(chan error, 3)
	build := func(tenant string, src Source) {
		_, err := r.Build(ctx, tenant, src, "overlays/dev", nil)
		results <- errors.Wrap(err, tenant)
	}

	go build("team-a", gated("team-a's first render"))
	if got := <-entered; got != "team-a's first render" {
		t.Fatalf("entered: %s", got)
	}

	// team-a's second render, while its first holds a slot: refused now.
	if _, err := r.Build(ctx, "team-a", MapSource(fixture()), "overlays/dev", nil); !errors.Is(err, ErrTenantBusy) {
		t.Fatalf("team-a's second Build(...): %v, want ErrTenantBusy", err)
	}

	// team-b gets the second slot while team-a's first render holds one.
	go build("team-b", gated("team-b's render"))
	if got := <-entered; got != "team-b's render" {
		t.Fatalf("entered: %s", got)
	}

	// Both slots are held: team-c renders once one is free.
	go build("team-c", MapSource(fixture()))

	close(release)
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("Build(...): %v", err)
		}
	}
	// team-a renders again once its render is done.
	if _, err := r.Build(ctx, "team-a", MapSource(fixture()), "overlays/dev", nil); err != nil {
		t.Errorf("team-a's Build(...) after its first render: %v", err)
	}

	if diff := cmp.Diff(map[string]int{"team-a": 2, "team-b": 1, "team-c": 1}, workers.counts()); diff != "" {
		t.Errorf("render workers started per tenant: -want +got:\n%s", diff)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.running) != 0 {
		t.Errorf("renders still counted as running: %v", r.running)
	}
}

// TestTenantShareIsBoundedBySlots: a tenant's share defaults to one render,
// and is never more than every slot.
func TestTenantShareIsBoundedBySlots(t *testing.T) {
	cases := map[string]struct {
		limits Limits
		want   int
	}{
		"Default":         {limits: Limits{}, want: 1},
		"Configured":      {limits: Limits{MaxParallel: 4, MaxParallelPerTenant: 2}, want: 2},
		"MoreThanSlots":   {limits: Limits{MaxParallel: 2, MaxParallelPerTenant: 5}, want: 2},
		"NegativeIsUnset": {limits: Limits{MaxParallelPerTenant: -1}, want: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, NewRenderer(tc.limits).Limits().MaxParallelPerTenant); diff != "" {
				t.Errorf("MaxParallelPerTenant: -want +got:\n%s", diff)
			}
		})
	}
}

// TestBusyTenantIsToldWhenFreed: while a tenant's render holds its share,
// Busy says so (and another tenant is not busy); when it ends, every
// OnTenantFreed function hears the tenant, and Busy says it is free.
func TestBusyTenantIsToldWhenFreed(t *testing.T) {
	r := NewRenderer(Limits{MaxParallel: 2})
	var freed []string
	var mu sync.Mutex
	r.OnTenantFreed(func(tenant string) {
		mu.Lock()
		defer mu.Unlock()
		freed = append(freed, tenant)
	})
	entered := make(chan string)
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := r.Build(context.Background(), "team-a", &gatedSource{Source: MapSource(fixture()), name: "team-a", entered: entered, release: release}, "overlays/dev", nil)
		done <- err
	}()
	<-entered
	if !r.Busy("team-a") || r.Busy("team-b") || r.Busy("") {
		t.Errorf("while team-a renders: Busy(team-a) = %v, Busy(team-b) = %v, Busy(\"\") = %v; want true, false, false", r.Busy("team-a"), r.Busy("team-b"), r.Busy(""))
	}
	mu.Lock()
	if len(freed) != 0 {
		t.Errorf("freed before the render ended: %v", freed)
	}
	mu.Unlock()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Build(...): %v", err)
	}
	if r.Busy("team-a") {
		t.Error("Busy(team-a) after its render ended, want false")
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"team-a"}, freed); diff != "" {
		t.Errorf("tenants freed: -want +got:\n%s", diff)
	}
}
