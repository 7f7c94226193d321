package kubectlk8sta

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStatusHeader(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		reason   string
		promoted *Condition
		want     string
	}{
		"PromotedSaysItOnce": {
			reason:   "A Promoted condition whose reason is Promoted reads as its status and message, not Promoted twice.",
			promoted: &Condition{Status: "True", Reason: "Promoted", Message: "every station (1) holds its newest verified change; dev: frozen by alice until lifted"},
			want:     "Promoted: True: every station (1) holds its newest verified change; dev: frozen by alice until lifted",
		},
		"HeldSaysWhy": {
			reason:   "A held Track's reason names what holds it.",
			promoted: &Condition{Status: "False", Reason: "Frozen", Message: "dev: frozen by alice until lifted"},
			want:     "Promoted: False, Frozen: dev: frozen by alice until lifted",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			b := &strings.Builder{}
			tr := &Track{Name: "guestbook", Namespace: "team-a", Promoted: tc.promoted,
				Stations: []Station{{Path: "dev", Change: "0123456789ab", Phase: "Verified", Since: now.Add(-time.Minute)}}}
			if err := (Printer{Now: now}).WriteStatus(b, tr, nil); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(b.String(), "\n")
			if diff := cmp.Diff(tc.want, lines[1]); diff != "" {
				t.Errorf("%s\nthe status's second line: -want, +got:\n%s\nwhole output:\n%s", tc.reason, diff, b.String())
			}
		})
	}
}
