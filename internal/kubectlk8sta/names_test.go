package kubectlk8sta

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestControlName(t *testing.T) {
	long := strings.Repeat("a", 60)
	cases := map[string]struct {
		track, path string
		want        string
	}{
		"Station":          {track: "guestbook", path: "prod", want: "guestbook-prod"},
		"StationOfSection": {track: "shop", path: "regions.us.us", want: "shop-regions-us-us"},
		"WholeTrack":       {track: "guestbook", want: "guestbook"},
		// 63 characters are kept whole.
		"AtTheLimit": {track: long, path: "ab", want: long + "-ab"},
		// Longer is cut to 54 and ends in 8 hex of sha256("<track>/<path>").
		"TooLong": {track: long, path: "abc", want: long[:54] + "-569e591b"},
		// A cut never leaves a dash before the hash.
		"CutAtADash":       {track: strings.Repeat("a", 53), path: "b.cccccccccc", want: strings.Repeat("a", 53) + "-766b314e"},
		"TooLongTrackOnly": {track: strings.Repeat("t", 70), want: strings.Repeat("t", 54) + "-4b076f21"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ControlName(tc.track, tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ControlName(%q, %q): -want +got:\n%s", tc.track, tc.path, diff)
			}
			if len(got) > 63 {
				t.Errorf("ControlName(%q, %q) = %q: %d characters, more than 63", tc.track, tc.path, got, len(got))
			}
		})
	}
}

// TestClean keeps what a tenant wrote from driving the terminal the
// transit map is printed on.
func TestClean(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"Plain":         {in: `deny window "release-freeze" until 2026-12-27T00:00Z`, want: `deny window "release-freeze" until 2026-12-27T00:00Z`},
		"Unicode":       {in: "Degraded: ünïcødé ✓", want: "Degraded: ünïcødé ✓"},
		"Escape":        {in: "\x1b[2J\x1b[31mred\x1b[0m", want: `\x1b[2J\x1b[31mred\x1b[0m`},
		"NewlineAndCR":  {in: "line\r\nforged line", want: `line\r\nforged line`},
		"BidiOverride":  {in: "txt.\u202eexe", want: `txt.\u202eexe`},
		"InvalidUTF8":   {in: "a\xffb", want: `a\xffb`},
		"C1ControlByte": {in: "\x9b31m", want: `\x9b31m`},
		"C1ControlRune": {in: "\u009b31m", want: `\u009b31m`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, clean(tc.in)); diff != "" {
				t.Errorf("clean(%q): -want +got:\n%s", tc.in, diff)
			}
		})
	}
}

// TestWriteJSONEscapes: -o json escapes what encoding/json would write raw
// to a terminal, and still means the same string.
func TestWriteJSONEscapes(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"Plain":         {in: "Degraded: ünïcødé ✓", want: `"Degraded: ünïcødé ✓"`},
		"Escape":        {in: "\x1b[2Jred", want: `"\u001b[2Jred"`},
		"NewlineAndCR":  {in: "line\r\nforged", want: `"line\r\nforged"`},
		"Delete":        {in: "a\x7fb", want: `"a\u007fb"`},
		"C1ControlRune": {in: "\u009b31m", want: `"\u009b31m"`},
		"BidiOverride":  {in: "txt.\u202eexe", want: `"txt.\u202eexe"`},
		"BidiIsolate":   {in: "\u2066x\u2069", want: `"\u2066x\u2069"`},
		"InvalidUTF8":   {in: "a\xffb", want: `"a\ufffdb"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := &strings.Builder{}
			if err := WriteJSON(b, map[string]string{"message": tc.in}); err != nil {
				t.Fatal(err)
			}
			want := "{\n  \"message\": " + tc.want + "\n}\n"
			if diff := cmp.Diff(want, b.String()); diff != "" {
				t.Errorf("WriteJSON(%q): -want +got:\n%s", tc.in, diff)
			}
			var back map[string]string
			if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
				t.Fatalf("WriteJSON(%q) wrote invalid JSON: %v", tc.in, err)
			}
			if name != "InvalidUTF8" && back["message"] != tc.in {
				t.Errorf("WriteJSON(%q) reads back as %q", tc.in, back["message"])
			}
		})
	}
}
