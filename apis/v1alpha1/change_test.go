package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsChangeID(t *testing.T) {
	cases := map[string]struct {
		reason string
		id     string
		want   bool
	}{
		"Made":      {reason: "What ChangeID makes is a change id.", id: ChangeID("0123456789abcdef0123456789abcdef01234567", []Image{{Repository: "ghcr.io/acme/guestbook", Tag: "v1.2.3"}}), want: true},
		"UpperCase": {reason: "A change id is lower case.", id: "0123456789AB"},
		"TooLong":   {reason: "A change id has 12 digits, not a commit's 40.", id: "0123456789abc"},
		"TooShort":  {reason: "A change id has 12 digits.", id: "0123456789a"},
		"NotHex":    {reason: "A tag is not a change id.", id: "v1.2.3-rc.10"},
		"Empty":     {reason: "Nothing is no change id.", id: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, IsChangeID(tc.id)); diff != "" {
				t.Errorf("%s\nIsChangeID(%q): -want, +got:\n%s", tc.reason, tc.id, diff)
			}
		})
	}
}
