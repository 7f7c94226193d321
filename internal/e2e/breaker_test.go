//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// breakerTally counts what Crossplane's XR circuit breaker charges a Track
// for: every watch event on the Track, on what it composes (Subscription,
// Tickets) and on what it requires (its sections). The breaker's map
// function runs once for a create and twice for an update (old and new
// object), so an update costs two tokens. Crossplane's defaults allow a
// burst of 100 tokens refilled at 1 per second; a Track that spends more
// waits out a 5 minute cooldown, probed every 30 s.
type breakerTally struct {
	mu     sync.Mutex
	tokens int
	by     map[string]int // "Kind fields changed" → tokens
	last   map[string]map[string]any
	// crossplane is Crossplane's own breaker counters when the tally began
	// or was last reset.
	crossplane map[string]float64
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

// tallyBreaker watches the namespace's Tracks, Tickets and Subscriptions
// until the test ends.
func tallyBreaker(t *testing.T, ns string) *breakerTally {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &breakerTally{by: map[string]int{}, last: map[string]map[string]any{}, cancel: cancel, crossplane: crossplaneBreakerCounters()}
	for _, gvr := range []schema.GroupVersionResource{trackGVR, ticketGVR, subscriptionGVR} {
		wi, err := st.kube.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
		must(t, err)
		b.done.Add(1)
		go func() {
			defer b.done.Done()
			defer wi.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-wi.ResultChan():
					if !ok {
						return
					}
					if u, isObj := ev.Object.(*unstructured.Unstructured); isObj {
						b.record(ev.Type, u)
					}
				}
			}
		}()
	}
	t.Cleanup(b.stop)
	return b
}

func (b *breakerTally) stop() {
	b.cancel()
	b.done.Wait()
}

func (b *breakerTally) record(typ watch.EventType, u *unstructured.Unstructured) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := u.GetKind() + "/" + u.GetName()
	obj := u.DeepCopy().Object
	prev := b.last[key]
	b.last[key] = obj
	switch typ {
	case watch.Added:
		b.tokens++
		b.by[u.GetKind()+" created"]++
	case watch.Modified:
		b.tokens += 2
		b.by[u.GetKind()+" "+changedFields(prev, obj)] += 2
	}
}

// reset returns the tokens spent since the last reset and what spent them,
// the costliest first.
func (b *breakerTally) reset() (int, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	type cost struct {
		what   string
		tokens int
	}
	costs := make([]cost, 0, len(b.by))
	for w, n := range b.by {
		costs = append(costs, cost{w, n})
	}
	sort.Slice(costs, func(i, j int) bool {
		if costs[i].tokens != costs[j].tokens {
			return costs[i].tokens > costs[j].tokens
		}
		return costs[i].what < costs[j].what
	})
	var s strings.Builder
	for _, c := range costs {
		fmt.Fprintf(&s, "\n  %3d  %s", c.tokens, c.what)
	}
	now := crossplaneBreakerCounters()
	fmt.Fprintf(&s, "\n  Crossplane's own count meanwhile, every Track of the stack: %s", describeCounters(b.crossplane, now))
	n := b.tokens
	b.tokens, b.by, b.crossplane = 0, map[string]int{}, now
	return n, s.String()
}

// crossplaneBreakerCounters scrapes Crossplane core's circuit breaker
// counters for Tracks (events by result, opens) from its metrics endpoint;
// nil when it cannot be read.
func crossplaneBreakerCounters() map[string]float64 {
	resp, err := http.Get("http://127.0.0.1:" + st.env["CROSSPLANE_METRICS_PORT"] + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil
	}
	counters := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "circuit_breaker_") || !strings.Contains(line, `controller="composite/tracks.k8sta.io"`) {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		name = strings.Replace(name, `controller="composite/tracks.k8sta.io"`, "", 1)
		name = strings.NewReplacer("{,", "{", ",}", "}", "{}", "").Replace(name)
		counters[name] = v
	}
	return counters
}

func describeCounters(before, after map[string]float64) string {
	if after == nil {
		return "unreadable"
	}
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s +%.0f", n, after[n]-before[n]))
	}
	return strings.Join(parts, ", ")
}

// changedFields names the top-level fields of metadata, spec and status
// that differ between two versions of an object, or "(managedFields only)".
func changedFields(prev, cur map[string]any) string {
	if prev == nil {
		return "(first seen)"
	}
	var changed []string
	for _, part := range []string{"metadata", "spec", "status"} {
		p, _ := prev[part].(map[string]any)
		c, _ := cur[part].(map[string]any)
		keys := map[string]bool{}
		for k := range p {
			keys[k] = true
		}
		for k := range c {
			keys[k] = true
		}
		for k := range keys {
			if k == "resourceVersion" || k == "managedFields" || k == "generation" {
				continue
			}
			if !reflect.DeepEqual(p[k], c[k]) {
				changed = append(changed, part+"."+k+conditionTypes(k, p[k], c[k])+atProviderFields(k, p[k], c[k]))
			}
		}
	}
	if len(changed) == 0 {
		return "(managedFields only)"
	}
	sort.Strings(changed)
	return strings.Join(changed, " ")
}

// conditionTypes names which conditions changed.
func conditionTypes(field string, prev, cur any) string {
	if field != "conditions" {
		return ""
	}
	byType := func(v any) map[string]any {
		m := map[string]any{}
		l, _ := v.([]any)
		for _, c := range l {
			if cm, ok := c.(map[string]any); ok {
				m[fmt.Sprint(cm["type"])] = cm
			}
		}
		return m
	}
	p, c := byType(prev), byType(cur)
	var types []string
	for typ := range c {
		if !reflect.DeepEqual(p[typ], c[typ]) {
			types = append(types, typ)
		}
	}
	sort.Strings(types)
	return "[" + strings.Join(types, ",") + "]"
}

// atProviderFields names which fields of status.atProvider changed.
func atProviderFields(field string, prev, cur any) string {
	if field != "atProvider" {
		return ""
	}
	p, _ := prev.(map[string]any)
	c, _ := cur.(map[string]any)
	var fields []string
	for k := range c {
		if !reflect.DeepEqual(p[k], c[k]) {
			fields = append(fields, k)
		}
	}
	for k := range p {
		if _, ok := c[k]; !ok {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	return "{" + strings.Join(fields, ",") + "}"
}
