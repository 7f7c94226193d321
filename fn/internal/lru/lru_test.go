package lru

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type add struct {
	key, value string
	size       int
}

func TestCache(t *testing.T) {
	cases := map[string]struct {
		reason     string
		maxEntries int
		maxBytes   int
		// ops are adds, and gets of the keys named by a get.
		ops       []any
		wantKeys  []string // the keys it holds, most recently used first
		wantBytes int
	}{
		"KeepsWithinBounds": {
			reason:     "Entries within both bounds are all kept.",
			maxEntries: 3, maxBytes: 100,
			ops:       []any{add{"a", "A", 10}, add{"b", "B", 10}, add{"c", "C", 10}},
			wantKeys:  []string{"c", "b", "a"},
			wantBytes: 30,
		},
		"EvictsLeastRecentlyUsedByCount": {
			reason:     "Past maxEntries the least recently used entry goes; a get makes an entry the most recently used.",
			maxEntries: 2, maxBytes: 100,
			ops:       []any{add{"a", "A", 10}, add{"b", "B", 10}, get("a"), add{"c", "C", 10}},
			wantKeys:  []string{"c", "a"},
			wantBytes: 20,
		},
		"EvictsByBytes": {
			reason:     "Past maxBytes the least recently used entries go until the rest fit.",
			maxEntries: 10, maxBytes: 100,
			ops:       []any{add{"a", "A", 40}, add{"b", "B", 40}, add{"c", "C", 90}},
			wantKeys:  []string{"c"},
			wantBytes: 90,
		},
		"TooLargeNotKept": {
			reason:     "A value larger than the whole byte bound is not kept, and evicts nothing.",
			maxEntries: 10, maxBytes: 100,
			ops:       []any{add{"a", "A", 40}, add{"b", "B", 101}},
			wantKeys:  []string{"a"},
			wantBytes: 40,
		},
		"ReplacesValue": {
			reason:     "Adding a key again replaces its value and size.",
			maxEntries: 10, maxBytes: 100,
			ops:       []any{add{"a", "A", 40}, add{"b", "B", 10}, add{"a", "A2", 20}},
			wantKeys:  []string{"a", "b"},
			wantBytes: 30,
		},
		"TooLargeReplacementDropsOld": {
			reason:     "A value too large to keep does not leave the old value of its key behind.",
			maxEntries: 10, maxBytes: 100,
			ops:       []any{add{"a", "A", 40}, add{"a", "A2", 200}},
			wantKeys:  []string{},
			wantBytes: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := New[string, string](tc.maxEntries, tc.maxBytes)
			for _, op := range tc.ops {
				switch op := op.(type) {
				case add:
					c.Add(op.key, op.value, op.size)
				case get:
					c.Get(string(op))
				}
			}
			got := []string{}
			for e := c.root.next; e != &c.root; e = e.next {
				got = append(got, e.key)
			}
			if diff := cmp.Diff(tc.wantKeys, got); diff != "" {
				t.Errorf("%s\nkeys, most recently used first: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(len(tc.wantKeys), c.Len()); diff != "" {
				t.Errorf("%s\nLen(): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantBytes, c.Bytes()); diff != "" {
				t.Errorf("%s\nBytes(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

type get string

func TestCacheGet(t *testing.T) {
	c := New[string, string](2, 100)
	c.Add("a", "A", 1)
	cases := map[string]struct {
		reason string
		key    string
		want   string
		wantOK bool
	}{
		"Held":    {reason: "A key the cache holds has its value.", key: "a", want: "A", wantOK: true},
		"NotHeld": {reason: "A key it does not hold has none.", key: "b"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := c.Get(tc.key)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nGet(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantOK, ok); diff != "" {
				t.Errorf("%s\nGet(...) ok: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
