package fn

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestTicketObjectName(t *testing.T) {
	cases := map[string]struct {
		reason      string
		track, path string
		want        string
	}{
		"Station": {
			reason: "A station of the root Track reads <track>-<station>.",
			track:  "guestbook", path: "dev",
			want: "guestbook-dev",
		},
		"ThroughJunctions": {
			reason: "A path through junctions has its dots replaced by dashes.",
			track:  "guestbook", path: "regions.us.us",
			want: "guestbook-regions-us-us",
		},
		"TrackNameWithDots": {
			reason: "A Track's name is a DNS subdomain: its dots are replaced too.",
			track:  "guestbook.team-a", path: "dev",
			want: "guestbook-team-a-dev",
		},
		"Exactly63": {
			reason: "A name of 63 characters is kept whole.",
			track:  "guestbook", path: strings.Repeat("s", 53),
			want: "guestbook-" + strings.Repeat("s", 53),
		},
		"TooLong": {
			reason: "A name of 64 characters is cut to 54 and ends with 8 hex digits of the SHA-256 of guestbook/<path>.",
			track:  "guestbook", path: strings.Repeat("s", 54),
			want: "guestbook-" + strings.Repeat("s", 44) + "-25577e44",
		},
		"CutAtADash": {
			reason: "A cut that ends in a dash drops it: one dash before the hash.",
			track:  "guestbook", path: strings.Repeat("a", 43) + ".production-eu",
			want: "guestbook-" + strings.Repeat("a", 43) + "-e11ff5b4",
		},
		"NotADNSName": {
			reason: "What the XRD would refuse is made a DNS label and told apart from the name it was made like by the hash.",
			track:  "Guestbook", path: "dev",
			want: "guestbook-dev-466faabc",
		},
		"Underscore": {
			reason: "A character no DNS label holds becomes a dash, and the hash tells it apart from a real dash.",
			track:  "guestbook", path: "dev_x",
			want: "guestbook-dev-x-248b10d5",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := TicketObjectName(tc.track, tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nTicketObjectName(%q, %q): -want, +got:\n%s", tc.reason, tc.track, tc.path, diff)
			}
			if !isDNSLabel(got) {
				t.Errorf("%s\nTicketObjectName(%q, %q) = %q: not a DNS label", tc.reason, tc.track, tc.path, got)
			}
			// ClashingTickets compares names by readableHash, which must
			// tell readable names as TicketObjectName makes them.
			_, readable := readableHash(tc.track, tc.path)
			if want := got == strings.ReplaceAll(tc.track+"-"+tc.path, ".", "-"); readable != want {
				t.Errorf("%s\nreadableHash(%q, %q): readable %t, want %t", tc.reason, tc.track, tc.path, readable, want)
			}
		})
	}
}

func TestClashingTickets(t *testing.T) {
	withApps := &Station{Applications: []v1alpha1.ApplicationReference{{Name: "a"}}}
	junction := &Station{Tracks: []string{"us"}}
	stop := func(path string, s *Station) *Stop { return &Stop{Path: path, Station: s} }
	long := strings.Repeat("s", 60)
	cases := map[string]struct {
		reason string
		stops  []*Stop
		want   map[string]bool
	}{
		"None": {
			reason: "Stations whose names differ clash with none.",
			stops:  []*Stop{stop("dev", withApps), stop("regions", junction), stop("regions.us.us", withApps)},
		},
		"WithinTheTrack": {
			reason: "A station named regions-us-us and the path regions.us.us would both be guestbook-regions-us-us: both are told apart, whichever comes first; dev is not.",
			stops:  []*Stop{stop("dev", withApps), stop("regions-us-us", withApps), stop("regions", junction), stop("regions.us.us", withApps)},
			want:   map[string]bool{"regions-us-us": true, "regions.us.us": true},
		},
		"JunctionWithoutApplications": {
			reason: "A junction without Applications has no Ticket: its name clashes with nothing.",
			stops:  []*Stop{stop("regions-us", withApps), stop("regions.us", junction)},
		},
		"LongNamesAreHashedAnyway": {
			reason: "Names too long to be readable are hashed by their own paths: apart already.",
			stops:  []*Stop{stop("a-"+long, withApps), stop("a."+long, withApps)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ClashingTickets("guestbook", tc.stops)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nClashingTickets(...): -want, +got:\n%s", tc.reason, diff)
			}
			// Every Ticket's name differs from every other's.
			names := map[string]string{}
			for _, s := range tc.stops {
				if !s.HasTicket() {
					continue
				}
				n := ticketObjectName("guestbook", s.Path, got[s.Path])
				if other, ok := names[n]; ok {
					t.Errorf("%s\nstations %s and %s are both named %s", tc.reason, other, s.Path, n)
				}
				names[n] = s.Path
			}
		})
	}
}
