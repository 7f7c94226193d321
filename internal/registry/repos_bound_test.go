package registry

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A Client remembers at most WithMaxRepositories repositories: a new one
// past the bound makes it forget the one polled longest ago, and a
// repository polled again is remembered as just used.
func TestClientRemembersABoundedNumberOfRepositories(t *testing.T) {
	c := NewClient(WithMaxRepositories(3))
	clock := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for _, r := range []string{"r1", "r2", "r3", "r1", "r4", "r5"} {
		c.repo(r)
	}
	var got []string
	for k := range c.repos {
		got = append(got, k)
	}
	sort.Strings(got)
	// r2 and then r3 were the least recently used when r4 and r5 came.
	if diff := cmp.Diff([]string{"r1", "r4", "r5"}, got); diff != "" {
		t.Errorf("repositories remembered: -want +got:\n%s", diff)
	}
}

// The default bound holds under many distinct repositories.
func TestClientRepositoriesStayWithinTheDefaultBound(t *testing.T) {
	c := NewClient()
	for i := range DefaultMaxRepositories + 10 {
		c.repo(fmt.Sprintf("registry.example.com/acme/app-%d", i))
	}
	if n := len(c.repos); n != DefaultMaxRepositories {
		t.Errorf("remembers %d repositories, want %d", n, DefaultMaxRepositories)
	}
}
