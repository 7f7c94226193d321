package bounded

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestText(t *testing.T) {
	cases := map[string]struct {
		s    string
		n    int
		want string
	}{
		"FitsWhole":      {s: "abc", n: 3, want: "abc"},
		"CutAndMarked":   {s: "abcdefgh", n: 6, want: "abc…"},
		"OnRuneBoundary": {s: strings.Repeat("é", 4), n: 6, want: "é…"},
		"NoRoomButMark":  {s: "abcdefgh", n: 2, want: "…"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Text(tc.s, tc.n)); diff != "" {
				t.Errorf("Text(%q, %d): -want, +got:\n%s", tc.s, tc.n, diff)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	cases := map[string]struct {
		s    string
		n    int
		want string
	}{
		"FitsWhole":      {s: "abc", n: 3, want: "abc"},
		"Cut":            {s: "abcdefgh", n: 6, want: "abcdef"},
		"OnRuneBoundary": {s: strings.Repeat("é", 4), n: 5, want: "éé"},
		"Nothing":        {s: "abc", n: -1, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Prefix(tc.s, tc.n)); diff != "" {
				t.Errorf("Prefix(%q, %d): -want, +got:\n%s", tc.s, tc.n, diff)
			}
		})
	}
}
