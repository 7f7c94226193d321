package fn

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestPromotedCondition(t *testing.T) {
	h := func(path, reason string) Hold { return Hold{Path: path, Reason: reason, Message: path + ": " + reason} }
	cases := map[string]struct {
		reason string
		p      *Progression
		want   *fnv1.Condition
	}{
		"Promoted": {
			reason: "No hold: every station holds its newest verified change.",
			p:      &Progression{Stations: make([]StationState, 4)},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_TRUE, ReasonPromoted, "every station (4) holds its newest verified change"),
		},
		"PromotedWithAStandingFreeze": {
			reason: "Nothing is held back, and the message names the Freeze that would hold a new change: True, but the operator sees it.",
			p:      &Progression{Stations: make([]StationState, 2), Standing: []Hold{h("prod", ReasonFrozen)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_TRUE, ReasonPromoted, "every station (2) holds its newest verified change; prod: Frozen"),
		},
		"StandingAfterHolds": {
			reason: "The standing controls follow the holds, and do not decide the reason.",
			p:      &Progression{Holds: []Hold{h("dev", ReasonDelivering)}, Standing: []Hold{h("prod", ReasonFrozen)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonDelivering, "dev: Delivering; prod: Frozen"),
		},
		"MostSevereReason": {
			reason: "The reason is the most severe hold's; the message names every hold in order.",
			p:      &Progression{Holds: []Hold{h("a", ReasonSoaking), h("b", ReasonHalted), h("c", ReasonDelivering)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonHalted, "a: Soaking; b: Halted; c: Delivering"),
		},
		"ControlsBySeverity": {
			reason: "A Freeze is more severe than a missing Approval, which is more severe than a window, which is more severe than a delivery.",
			p:      &Progression{Holds: []Hold{h("a", ReasonDelivering), h("b", ReasonOutsideWindow), h("c", ReasonAwaitingApproval), h("d", ReasonFrozen), h("e", ReasonSoaking)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonFrozen, "a: Delivering; b: OutsideWindow; c: AwaitingApproval; d: Frozen; e: Soaking"),
		},
		"PinOverFreeze": {
			reason: "A pin is more severe than a Freeze; a halt more than both.",
			p:      &Progression{Holds: []Hold{h("a", ReasonFrozen), h("b", ReasonPinned)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonPinned, "a: Frozen; b: Pinned"),
		},
		"WindowOverWaiting": {
			reason: "A window is more severe than a station waiting for its first change.",
			p:      &Progression{Holds: []Hold{h("a", ReasonWaiting), h("b", ReasonOutsideWindow)}},
			want:   cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonOutsideWindow, "a: Waiting; b: OutsideWindow"),
		},
		"ManyHolds": {
			reason: "Past five holds the message counts the rest.",
			p: &Progression{Holds: []Hold{h("a", ReasonWaiting), h("b", ReasonWaiting), h("c", ReasonWaiting), h("d", ReasonWaiting),
				h("e", ReasonWaiting), h("f", ReasonPinned), h("g", ReasonWaiting)}},
			want: cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, ReasonPinned, "a: Waiting; b: Waiting; c: Waiting; d: Waiting; e: Waiting; and 2 more"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PromotedCondition(tc.p), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nPromotedCondition(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestValidCondition(t *testing.T) {
	problems := func(n int) Problems {
		var p Problems
		for i := 1; i <= n; i++ {
			p.add(TrackError{Reason: ReasonDuplicateBranch, Message: fmt.Sprint(i)})
		}
		return p
	}
	cases := map[string]struct {
		reason string
		p      Problems
		want   *fnv1.Condition
	}{
		"Valid": {
			reason: "No problem: the Track is valid.",
			want:   cond(TypeValid, fnv1.Status_STATUS_CONDITION_TRUE, ReasonValid, ""),
		},
		"Problems": {
			reason: "Every problem is named, the first one's reason is the condition's.",
			p:      Problems{First: []TrackError{{Reason: ReasonCycle, Message: "one"}, {Reason: ReasonMissingTrack, Message: "two"}}},
			want:   cond(TypeValid, fnv1.Status_STATUS_CONDITION_FALSE, ReasonCycle, "one; two. Nothing composed was changed until this is fixed."),
		},
		"ManyProblems": {
			reason: "Past five problems only the first five are kept and named; the message counts the rest.",
			p:      problems(10000),
			want:   cond(TypeValid, fnv1.Status_STATUS_CONDITION_FALSE, ReasonDuplicateBranch, "1; 2; 3; 4; 5; and 9995 more. Nothing composed was changed until this is fixed."),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ValidCondition(tc.p), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nValidCondition(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStationsStatus(t *testing.T) {
	stop := func(p string) *Stop { return &Stop{Path: p} }
	p := &Progression{Stations: []StationState{
		{Stop: stop("dev"), Change: changeA, Phase: v1alpha1.PhaseVerified},
		{Stop: stop("int"), Change: changeA, Phase: v1alpha1.PhaseSyncing},
		{Stop: stop("prod"), Phase: PhaseWaiting},
		{Stop: stop("stage"), Change: changeA, Phase: v1alpha1.PhaseFailed, Message: "Application argocd/x is Degraded at abc: Rollout x/x is Degraded: RolloutAborted: failed"},
	}}
	cases := map[string]struct {
		reason string
		prev   string
		want   string
	}{
		"First": {
			reason: "Without a previous status every station is in its phase since now.",
			want: `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T12:00:00Z"},
				{path: int, change: ` + changeA.ID + `, phase: Syncing, since: "2026-11-25T12:00:00Z"},
				{path: prod, phase: Waiting, since: "2026-11-25T12:00:00Z"},
				{path: stage, change: ` + changeA.ID + `, phase: Failed, since: "2026-11-25T12:00:00Z", message: "Application argocd/x is Degraded at abc: Rollout x/x is Degraded: RolloutAborted: failed"}]`,
		},
		"CarriedOver": {
			reason: "A station with the same change and phase as before keeps its since; one whose phase changed starts again.",
			prev: `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T10:00:00Z"},
				{path: int, change: ` + changeA.ID + `, phase: Rendering, since: "2026-11-25T11:00:00Z"},
				{path: prod, phase: Waiting, since: "2026-11-25T09:00:00Z"},
				{path: stage, change: ` + changeA.ID + `, phase: Failed, since: "2026-11-25T11:00:00Z", message: "older words"}]`,
			want: `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T10:00:00Z"},
				{path: int, change: ` + changeA.ID + `, phase: Syncing, since: "2026-11-25T12:00:00Z"},
				{path: prod, phase: Waiting, since: "2026-11-25T09:00:00Z"},
				{path: stage, change: ` + changeA.ID + `, phase: Failed, since: "2026-11-25T11:00:00Z", message: "Application argocd/x is Degraded at abc: Rollout x/x is Degraded: RolloutAborted: failed"}]`,
		},
		"SinceNotATime": {
			reason: "A since that is no time (written by hand into the status) is not carried over: the station is in its phase since now.",
			prev:   `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "` + strings.Repeat("x", 4096) + `"}]`,
			want: `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T12:00:00Z"},
				{path: int, change: ` + changeA.ID + `, phase: Syncing, since: "2026-11-25T12:00:00Z"},
				{path: prod, phase: Waiting, since: "2026-11-25T12:00:00Z"},
				{path: stage, change: ` + changeA.ID + `, phase: Failed, since: "2026-11-25T12:00:00Z", message: "Application argocd/x is Degraded at abc: Rollout x/x is Degraded: RolloutAborted: failed"}]`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var prev []*structpb.Value
			if tc.prev != "" {
				prev = list(y(t, "l: "+tc.prev), "l")
			}
			got := StationsStatus(p, byPath(prev), now.Add(0*time.Second))
			want := val(y(t, "l: "+tc.want), "l")
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nStationsStatus(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStationsStatusControls(t *testing.T) {
	stop := func(p string) *Stop { return &Stop{Path: p} }
	p := &Progression{Stations: []StationState{
		{Stop: stop("int"), Change: changeA, Phase: v1alpha1.PhaseVerified, Next: changeB, HeldBy: HeldByWindow,
			Until: time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC), Message: `deny window "release-freeze" until 2026-12-27T00:00Z`,
			History: []VerifiedChange{{Change: *changeA, VerifiedAt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}}},
		{Stop: stop("prod"), Phase: PhaseWaiting, Next: changeA, HeldBy: HeldByApproval, Message: "waits for approval of change " + changeA.ID},
		{Stop: stop("regions.us.us"), Phase: PhaseWaiting, Next: changeA, HeldBy: HeldByApproval, HeldAt: "regions", Message: "regions: waits for approval of change " + changeA.ID},
	}}
	prev := list(y(t, `l: [{path: int, change: `+changeA.ID+`, phase: Verified, since: "2026-11-25T10:00:00Z"},
		{path: prod, phase: Waiting, since: "2026-11-25T09:00:00Z"}]`), "l")
	want := val(y(t, `l:
- {path: int, change: `+changeA.ID+`, phase: Verified, since: "2026-11-25T10:00:00Z", next: `+changeB.ID+`, heldBy: Window, until: "2026-12-27T00:00:00Z",
   message: 'deny window "release-freeze" until 2026-12-27T00:00Z',
   history: [{change: `+changeA.ID+`, commit: "6666666666666666666666666666666666666666", images: [{repository: ghcr.io/acme/guestbook, tag: v1.0.0}],
     discoveredAt: "2026-11-25T09:00:00Z", verifiedAt: "2026-11-25T11:00:00Z"}]}
- {path: prod, phase: Waiting, since: "2026-11-25T09:00:00Z", next: `+changeA.ID+`, heldBy: Approval, message: "waits for approval of change `+changeA.ID+`"}
- {path: regions.us.us, phase: Waiting, since: "2026-11-25T12:00:00Z", next: `+changeA.ID+`, heldBy: Approval, heldAt: regions,
   message: "regions: waits for approval of change `+changeA.ID+`"}
`), "l")
	if diff := cmp.Diff(want, StationsStatus(p, byPath(prev), now), protocmp.Transform()); diff != "" {
		t.Errorf("StationsStatus(...): a held station keeps its since and says what waits, held by what, until when, and what it verified: -want, +got:\n%s", diff)
	}
}

func TestStationsStatusHistory(t *testing.T) {
	stop := &Stop{Path: "dev"}
	a := VerifiedChange{Change: *changeA, VerifiedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	b := VerifiedChange{Change: *changeB, VerifiedAt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}
	prev := `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T10:00:00Z", history: [` + verifiedAs(changeA, "2026-11-25T10:00:00Z") + `]}]`
	cases := map[string]struct {
		reason  string
		station StationState
		want    string
	}{
		"Unchanged": {
			reason:  "A history as observed is written as it was.",
			station: StationState{Stop: stop, Change: changeA, Phase: v1alpha1.PhaseVerified, History: []VerifiedChange{a}},
			want:    prev,
		},
		"NewEntry": {
			reason:  "A history with a change added is written with it first.",
			station: StationState{Stop: stop, Change: changeB, Phase: v1alpha1.PhaseVerified, History: []VerifiedChange{b, a}},
			want: `[{path: dev, change: ` + changeB.ID + `, phase: Verified, since: "2026-11-25T12:00:00Z", history: [` +
				verifiedAs(changeB, "2026-11-25T11:00:00Z") + `, ` + verifiedAs(changeA, "2026-11-25T10:00:00Z") + `]}]`,
		},
		"Shortened": {
			reason:  "A history cut shorter is written so.",
			station: StationState{Stop: stop, Change: changeA, Phase: v1alpha1.PhaseVerified},
			want:    `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T10:00:00Z"}]`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := StationsStatus(&Progression{Stations: []StationState{tc.station}}, byPath(list(y(t, "l: "+prev), "l")), now)
			if diff := cmp.Diff(val(y(t, "l: "+tc.want), "l"), got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nStationsStatus(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestStationsStatusHistoryNotAsInconsistent(t *testing.T) {
	// The observed history names change A with another commit, an entry
	// whose id is not the hash of its commit and images, and parseHistory
	// dropped it. The station then verified A itself: its history is A, the
	// same length and newest id as the inconsistent one, and must read as A
	// is.
	a := VerifiedChange{Change: *changeA, VerifiedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	inconsistent := strings.Replace(verifiedAs(changeA, "2026-11-25T10:00:00Z"), changeA.Commit, strings.Repeat("f", 40), 1)
	prev := list(y(t, `l: [{path: dev, change: `+changeA.ID+`, phase: Verified, since: "2026-11-25T10:00:00Z", history: [`+inconsistent+`]}]`), "l")
	if h := parseHistory(prev, nil); len(h["dev"]) != 0 {
		t.Fatalf("parseHistory(...) kept the inconsistent entry: %v", h)
	}
	st := StationState{Stop: &Stop{Path: "dev"}, Change: changeA, Phase: v1alpha1.PhaseVerified, History: []VerifiedChange{a}}
	want := `[{path: dev, change: ` + changeA.ID + `, phase: Verified, since: "2026-11-25T10:00:00Z", history: [` + verifiedAs(changeA, "2026-11-25T10:00:00Z") + `]}]`
	got := StationsStatus(&Progression{Stations: []StationState{st}}, byPath(prev), now)
	if diff := cmp.Diff(val(y(t, "l: "+want), "l"), got, protocmp.Transform()); diff != "" {
		t.Errorf("StationsStatus(...): a history entry the function dropped is not written back: -want, +got:\n%s", diff)
	}
}

func TestByPathReadsAtMostMaxStops(t *testing.T) {
	// Whoever may write the Track's status may list more stations than the
	// function writes: it reads no more than MaxStops of them.
	prev := make([]*structpb.Value, MaxStops+1)
	for i := range prev {
		prev[i] = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"path": structpb.NewStringValue(fmt.Sprintf("s%d", i))}})
	}
	if got := len(byPath(prev)); got != MaxStops {
		t.Errorf("len(byPath(%d stations)): want %d, got %d", len(prev), MaxStops, got)
	}
}
