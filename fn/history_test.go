package fn

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// at is a time of the tests' day, hh:mm UTC.
func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", "2026-11-25T"+hhmm+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

// releases are n changes, v1.0.0 the oldest, each discovered an hour after
// the one before.
func releases(n int) []*v1alpha1.Change {
	out := make([]*v1alpha1.Change, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, change(fmt.Sprintf("v1.%d.0", i), time.Duration(n-i)*time.Hour))
	}
	return out
}

func TestHistoryLimit(t *testing.T) {
	cases := map[string]struct {
		stations int
		want     int
	}{
		"One":         {stations: 1, want: 10},
		"200":         {stations: 200, want: 10},
		"201":         {stations: 201, want: 9},
		"MaxStops":    {stations: 500, want: 4},
		"PastTheSum":  {stations: 1001, want: 2},
		"NoneAtAll":   {stations: 0, want: 10},
		"Fractional":  {stations: 333, want: 6},
		"ExactlyFive": {stations: 400, want: 5},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, historyLimit(tc.stations)); diff != "" {
				t.Errorf("historyLimit(%d): -want, +got:\n%s", tc.stations, diff)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	r := releases(12)
	// h is a history of r[i] verified at 00:0i, newest first.
	h := func(is ...int) []VerifiedChange {
		out := make([]VerifiedChange, 0, len(is))
		for _, i := range is {
			out = append(out, VerifiedChange{Change: *r[i], VerifiedAt: at(fmt.Sprintf("00:%02d", i))})
		}
		return out
	}
	cases := map[string]struct {
		reason string
		h      []VerifiedChange
		c      *v1alpha1.Change
		at     time.Time
		pin    string
		limit  int
		want   []VerifiedChange
	}{
		"First": {
			reason: "A station's first verified change starts its history.",
			c:      r[0], at: at("00:00"), limit: 10,
			want: h(0),
		},
		"Newer": {
			reason: "A newer verified change comes first.",
			h:      h(1, 0), c: r[2], at: at("00:02"), limit: 10,
			want: h(2, 1, 0),
		},
		"SameAgain": {
			reason: "The change history already starts with is not listed twice, and keeps when it was first verified.",
			h:      h(1, 0), c: r[1], at: at("09:00"), limit: 10,
			want: h(1, 0),
		},
		"RolledBack": {
			reason: "A change verified again after a rollback moves up, listed once, at its latest verification.",
			h:      h(2, 1, 0), c: r[1], at: at("00:05"),
			limit: 10,
			want:  []VerifiedChange{{Change: *r[1], VerifiedAt: at("00:05")}, {Change: *r[2], VerifiedAt: at("00:02")}, {Change: *r[0], VerifiedAt: at("00:00")}},
		},
		"Bounded": {
			reason: "Past its limit the oldest change is dropped.",
			h:      h(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), c: r[10], at: at("00:10"), limit: 10,
			want: h(10, 9, 8, 7, 6, 5, 4, 3, 2, 1),
		},
		"PinnedKept": {
			reason: "The change a Pin holds the station at is never dropped: it takes the last place.",
			h:      h(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), c: r[10], at: at("00:10"), pin: r[0].ID, limit: 10,
			want: h(10, 9, 8, 7, 6, 5, 4, 3, 2, 0),
		},
		"PinnedWithin": {
			reason: "A pinned change within the limit changes nothing.",
			h:      h(3, 2, 1, 0), c: r[4], at: at("00:04"), pin: r[2].ID, limit: 3,
			want: h(4, 3, 2),
		},
		"SmallerLimit": {
			reason: "A Track grown to more stations keeps fewer changes a station: a longer history is cut.",
			h:      h(3, 2, 1, 0), c: r[3], at: at("00:03"), limit: 2,
			want: h(3, 2),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := append([]VerifiedChange(nil), tc.h...)
			got := record(in, tc.c, tc.at, tc.pin, tc.limit)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nrecord(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.h, in, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nrecord(...) modified its history: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseHistory(t *testing.T) {
	A, B := changeA, changeB
	entry := verifiedAs
	inconsistent := fmt.Sprintf("{change: '%s', commit: '%s', images: [{repository: registry.example.com/other-team/secret, tag: v1}], verifiedAt: '2026-11-25T10:00:00Z'}", A.ID, A.Commit)
	many := ""
	for i, c := range releases(MaxHistory + 2) {
		if i > 0 {
			many += ", "
		}
		many += entry(c, "2026-11-25T10:00:00Z")
	}
	cases := map[string]struct {
		reason string
		prev   string
		want   map[string][]VerifiedChange
	}{
		"None": {
			reason: "No status, no history.",
			prev:   "[]",
		},
		"AsWritten": {
			reason: "Each station's history is read as the function wrote it.",
			prev: "[{path: dev, history: [" + entry(B, "2026-11-25T11:00:00Z") + ", " + entry(A, "2026-11-25T10:00:00Z") + "]}, " +
				"{path: prod, phase: Waiting}]",
			want: map[string][]VerifiedChange{"dev": {{Change: *B, VerifiedAt: at("11:00")}, {Change: *A, VerifiedAt: at("10:00")}}},
		},
		"InconsistentEntryDropped": {
			reason: "An entry whose id is not the hash of its commit and images is inconsistent (the function never wrote it so): a Pin to its id must not compose a Ticket for images the change does not have. It does not stop a forgery, a hash anyone can compute; tenants cannot write tracks/status.",
			prev:   "[{path: dev, history: [" + inconsistent + ", " + entry(A, "2026-11-25T10:00:00Z") + "]}]",
			want:   map[string][]VerifiedChange{"dev": {{Change: *A, VerifiedAt: at("10:00")}}},
		},
		"NotAChangeDropped": {
			reason: "An entry without a commit of 40 hexadecimal digits is dropped.",
			prev:   "[{path: dev, history: [{change: abcabcabcabc, commit: main}]}]",
			want:   map[string][]VerifiedChange{"dev": {}},
		},
		"Bounded": {
			reason: "At most MaxHistory entries of a station are read.",
			prev:   "[{path: dev, history: [" + many + "]}]",
			want: map[string][]VerifiedChange{"dev": func() []VerifiedChange {
				out := []VerifiedChange{}
				for _, c := range releases(MaxHistory + 2)[:MaxHistory] {
					out = append(out, VerifiedChange{Change: *c, VerifiedAt: at("10:00")})
				}
				return out
			}()},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := parseHistory(list(y(t, "l: "+tc.prev), "l"), nil)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nparseHistory(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestHistoryRoundTrip is status.stations[].history read back as written.
func TestHistoryRoundTrip(t *testing.T) {
	h := []VerifiedChange{{Change: *changeB, VerifiedAt: at("11:00")}, {Change: *changeA, VerifiedAt: at("10:00")}}
	v := structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
		structv(map[string]*structpb.Value{"path": sv("dev"), "history": historyValue(h)}),
	}})
	got := parseHistory(v.GetListValue().GetValues(), nil)
	if diff := cmp.Diff(map[string][]VerifiedChange{"dev": h}, got); diff != "" {
		t.Errorf("parseHistory(historyValue(...)): -want, +got:\n%s", diff)
	}
	want := val(y(t, "l: ["+verifiedAs(changeB, "2026-11-25T11:00:00Z")+", "+verifiedAs(changeA, "2026-11-25T10:00:00Z")+"]"), "l")
	if diff := cmp.Diff(want, historyValue(h), protocmp.Transform()); diff != "" {
		t.Errorf("historyValue(...): -want, +got:\n%s", diff)
	}
}

// TestProgressHistory is each station's history as Progress keeps it.
func TestProgressHistory(t *testing.T) {
	A, B, C := changeA, changeB, changeC
	r := releases(11)
	full := make([]VerifiedChange, 0, 10)
	for i := 9; i >= 0; i-- {
		full = append(full, VerifiedChange{Change: *r[i], VerifiedAt: at(fmt.Sprintf("0%d:00", i))})
	}
	cases := map[string]struct {
		reason   string
		root     string
		observed observedIn
		controls Controls
		history  map[string][]VerifiedChange
		want     map[string][]VerifiedChange
	}{
		"Recorded": {
			reason: "A station whose Ticket verified its change adds it to its history; one still delivering keeps its history as it was.",
			root:   trackYAML("t", true, st("dev"), st("prod")),
			observed: observedIn{Subscription: &subIn{Newest: B}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour), "prod": {Change: B, LiveID: A.ID, Phase: v1alpha1.PhaseSyncing},
			}},
			history: map[string][]VerifiedChange{"dev": {{Change: *A, VerifiedAt: at("09:00")}}, "prod": {{Change: *A, VerifiedAt: at("10:00")}}},
			want: map[string][]VerifiedChange{
				"dev":  {{Change: *B, VerifiedAt: at("11:00")}, {Change: *A, VerifiedAt: at("09:00")}},
				"prod": {{Change: *A, VerifiedAt: at("10:00")}},
			},
		},
		"VerifiedThoughOvertaken": {
			reason: "A change dev verified is recorded even when dev is given a newer one in the same call.",
			root:   trackYAML("t", true, st("dev")),
			observed: observedIn{Subscription: &subIn{Newest: C}, Tickets: map[string]*ticketIn{
				"dev": verified(B, time.Hour),
			}},
			want: map[string][]VerifiedChange{"dev": {{Change: *B, VerifiedAt: at("11:00")}}},
		},
		"PinnedEntryNeverEvicted": {
			reason: "A station pinned to its oldest change keeps that change in its history when it verifies another.",
			root:   trackYAML("t", true, st("dev")),
			observed: observedIn{Subscription: &subIn{Newest: r[10]}, Tickets: map[string]*ticketIn{
				"dev": verified(r[10], time.Hour),
			}},
			controls: Controls{Pins: map[string]*Pin{"dev": {Change: r[0].ID, Object: "t-dev"}}},
			history:  map[string][]VerifiedChange{"dev": full},
			want: map[string][]VerifiedChange{"dev": append(append([]VerifiedChange{{Change: *r[10], VerifiedAt: at("11:00")}}, full[:8]...),
				VerifiedChange{Change: *r[0], VerifiedAt: at("00:00")})},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, err := ParseTrack("t", obj(y(t, tc.root), "spec"))
			if err != nil {
				t.Fatal(err)
			}
			x, errs := Expand(root, nil)
			if !errs.None() {
				t.Fatal(errs)
			}
			o := tc.observed.typed()
			o.Controls, o.History = tc.controls, tc.history
			got := map[string][]VerifiedChange{}
			for _, s := range Progress(x, o, now).Stations {
				if len(s.History) > 0 {
					got[s.Stop.Path] = s.History
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nProgress(...) history: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestHistoryOf is a Track's history read once per version of the Track.
func TestHistoryOf(t *testing.T) {
	xr := func(rv string, c *v1alpha1.Change) *structpb.Struct {
		return y(t, `metadata: {name: guestbook, namespace: team-a, uid: uid-guestbook, resourceVersion: "`+rv+`"}
status: {stations: [{path: dev, history: [`+verifiedAs(c, "2026-11-25T11:00:00Z")+`]}]}`)
	}
	f := New()
	read := func(x *structpb.Struct) string {
		return historyOf(x, f.caches.histories, f.caches.history)["dev"][0].Change.ID
	}
	got := []string{
		read(xr("1", changeA)),
		// The API server changes the version with every write: a Track at
		// the version read before is the Track read before.
		read(xr("1", changeB)),
		read(xr("2", changeB)),
	}
	if diff := cmp.Diff([]string{changeA.ID, changeA.ID, changeB.ID}, got); diff != "" {
		t.Errorf("historyOf(...) at versions 1, 1 and 2: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(1, f.caches.histories.Len()); diff != "" {
		t.Errorf("Tracks whose history is kept: -want, +got:\n%s", diff)
	}
}
