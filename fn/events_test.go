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

// prevStations is an observed status.stations, each entry a YAML flow map.
func prevStations(t testing.TB, entries ...string) []*structpb.Value {
	return list(y(t, "stations: ["+strings.Join(entries, ", ")+"]"), "stations")
}

func normal(reason, msg string) *fnv1.Result {
	return &fnv1.Result{Severity: fnv1.Severity_SEVERITY_NORMAL, Reason: &reason, Message: msg, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

func warning(reason, msg string) *fnv1.Result {
	return &fnv1.Result{Severity: fnv1.Severity_SEVERITY_WARNING, Reason: &reason, Message: msg, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

func TestStationEvents(t *testing.T) {
	A, B, C := changeA, changeB, changeC
	state := func(path string, c *v1alpha1.Change, phase string) StationState {
		return StationState{Stop: &Stop{Path: path}, Change: c, Phase: phase}
	}
	held := func(s StationState, by string, next *v1alpha1.Change, msg string) StationState {
		s.HeldBy, s.Next, s.Message = by, next, msg
		return s
	}
	entry := func(path string, c *v1alpha1.Change, phase string, extra ...string) string {
		f := []string{"path: " + path, "phase: " + phase, "since: '2026-11-25T11:00:00Z'"}
		if c != nil {
			f = append(f, "change: "+c.ID)
		}
		return "{" + strings.Join(append(f, extra...), ", ") + "}"
	}

	// 25 stations verify A at once and s25 fails on it.
	var many []StationState
	var manyPrev []string
	for i := range 26 {
		path := fmt.Sprintf("s%d", i)
		manyPrev = append(manyPrev, entry(path, A, PhaseDelivering))
		if i == 25 {
			s := state(path, A, v1alpha1.PhaseFailed)
			s.Message = "app-s25: Degraded"
			many = append(many, s)
			continue
		}
		many = append(many, state(path, A, v1alpha1.PhaseVerified))
	}
	manyWant := []*fnv1.Result{warning(EventHalted, "station s25 halted on change "+A.ID+": app-s25: Degraded")}
	for i := range MaxStationEvents - 1 {
		manyWant = append(manyWant, normal(EventVerified, fmt.Sprintf("change %s verified at station s%d", A.ID, i)))
	}
	manyWant = append(manyWant, normal(EventMoreTransitions, "16 more station transitions than these 10: status.stations shows every station"))

	long := state("int", A, v1alpha1.PhaseFailed)
	long.Message = strings.Repeat("x", MaxStationMessageBytes)

	cases := map[string]struct {
		reason   string
		stations []StationState
		prev     []*structpb.Value
		want     []*fnv1.Result
	}{
		"NoStatusYet": {
			reason:   "Without an observed status there is nothing to change from: a verified station tells nothing.",
			stations: []StationState{state("dev", A, v1alpha1.PhaseVerified)},
		},
		"StationNotInStatus": {
			reason:   "A station the observed status does not list tells nothing; one it lists does.",
			stations: []StationState{state("dev", A, v1alpha1.PhaseVerified), state("int", A, v1alpha1.PhaseVerified)},
			prev:     prevStations(t, entry("int", A, PhaseDelivering)),
			want:     []*fnv1.Result{normal(EventVerified, "change "+A.ID+" verified at station int")},
		},
		"Verified": {
			reason:   "A station that delivered a change and verified it tells so.",
			stations: []StationState{state("dev", A, v1alpha1.PhaseVerified)},
			prev:     prevStations(t, entry("dev", A, PhaseDelivering)),
			want:     []*fnv1.Result{normal(EventVerified, "change "+A.ID+" verified at station dev")},
		},
		"VerifiedWhenSoakStarts": {
			reason:   "A station starts soaking when its Ticket verified the change: that is when it tells.",
			stations: []StationState{state("int", A, PhaseSoaking)},
			prev:     prevStations(t, entry("int", A, PhaseDelivering)),
			want:     []*fnv1.Result{normal(EventVerified, "change "+A.ID+" verified at station int")},
		},
		"SoakElapsed": {
			reason:   "Soaking to Verified with the same change is no news.",
			stations: []StationState{state("int", A, v1alpha1.PhaseVerified)},
			prev:     prevStations(t, entry("int", A, PhaseSoaking)),
		},
		"StillVerified": {
			reason:   "A station as the status said tells nothing.",
			stations: []StationState{state("dev", A, v1alpha1.PhaseVerified), state("int", nil, PhaseWaiting)},
			prev:     prevStations(t, entry("dev", A, v1alpha1.PhaseVerified), entry("int", nil, PhaseWaiting)),
		},
		"NewChangeVerified": {
			reason:   "A station the status said verified A, verified B now: it tells.",
			stations: []StationState{state("dev", B, v1alpha1.PhaseVerified)},
			prev:     prevStations(t, entry("dev", A, v1alpha1.PhaseVerified)),
			want:     []*fnv1.Result{normal(EventVerified, "change "+B.ID+" verified at station dev")},
		},
		"Delivering": {
			reason:   "A station given a change says nothing until it verifies it or fails.",
			stations: []StationState{state("dev", B, PhaseDelivering)},
			prev:     prevStations(t, entry("dev", A, v1alpha1.PhaseVerified)),
		},
		"Halted": {
			reason: "A station that failed is a warning that quotes why.",
			stations: []StationState{func() StationState {
				s := state("int", A, v1alpha1.PhaseFailed)
				s.Message = "app-int: Degraded"
				return s
			}()},
			prev: prevStations(t, entry("int", A, PhaseDelivering)),
			want: []*fnv1.Result{warning(EventHalted, "station int halted on change "+A.ID+": app-int: Degraded")},
		},
		"StillHalted": {
			reason:   "A station still failed on the same change tells nothing again.",
			stations: []StationState{state("int", A, v1alpha1.PhaseFailed)},
			prev:     prevStations(t, entry("int", A, v1alpha1.PhaseFailed)),
		},
		"FailedThenBlocked": {
			reason:   "Failed to Blocked is another halt; without a message the phase says it.",
			stations: []StationState{state("int", A, v1alpha1.PhaseBlocked)},
			prev:     prevStations(t, entry("int", A, v1alpha1.PhaseFailed)),
			want:     []*fnv1.Result{warning(EventHalted, "station int halted on change "+A.ID+": its Ticket is Blocked")},
		},
		"AwaitingApproval": {
			reason:   "A change held back for approval is told in the progression's words, without the station's name twice.",
			stations: []StationState{held(state("prod", A, v1alpha1.PhaseVerified), HeldByApproval, B, "prod: waits for approval of change "+B.ID)},
			prev:     prevStations(t, entry("prod", A, v1alpha1.PhaseVerified)),
			want:     []*fnv1.Result{normal(EventAwaitingApproval, "station prod holds change "+B.ID+" back: waits for approval of change "+B.ID)},
		},
		"StillAwaitingApproval": {
			reason:   "The same change still waiting for approval tells nothing again.",
			stations: []StationState{held(state("prod", A, v1alpha1.PhaseVerified), HeldByApproval, B, "prod: waits for approval of change "+B.ID)},
			prev:     prevStations(t, entry("prod", A, v1alpha1.PhaseVerified, "next: "+B.ID, "heldBy: Approval")),
		},
		"HoldInTheProgressionsWords": {
			reason: "The progression's words for a hold are quoted as they are; a hold at the junction before the station names the junction.",
			stations: []StationState{
				held(state("prod", A, v1alpha1.PhaseVerified), HeldByFreeze, B, "frozen by alice until lifted"),
				held(state("regions.us.us", A, v1alpha1.PhaseVerified), HeldByFreeze, B, "regions: frozen by alice until lifted"),
			},
			prev: prevStations(t, entry("prod", A, v1alpha1.PhaseVerified), entry("regions.us.us", A, v1alpha1.PhaseVerified)),
			want: []*fnv1.Result{
				normal(EventFrozen, "station prod holds change "+B.ID+" back: frozen by alice until lifted"),
				normal(EventFrozen, "station regions.us.us holds change "+B.ID+" back: regions: frozen by alice until lifted"),
			},
		},
		"NewerChangeAwaitsApproval": {
			reason:   "A newer change waiting in place of the last is told.",
			stations: []StationState{held(state("prod", A, v1alpha1.PhaseVerified), HeldByApproval, C, "")},
			prev:     prevStations(t, entry("prod", A, v1alpha1.PhaseVerified, "next: "+B.ID, "heldBy: Approval")),
			want:     []*fnv1.Result{normal(EventAwaitingApproval, "station prod holds change "+C.ID+" back: waits for approval")},
		},
		"OutsideWindow": {
			reason: "A window's hold says until when, in its own words or else from Until.",
			stations: []StationState{
				held(state("int", A, v1alpha1.PhaseVerified), HeldByWindow, B, `int: deny window "release-freeze" until 2026-12-27T00:00Z`),
				func() StationState {
					s := held(state("prod", A, v1alpha1.PhaseVerified), HeldByWindow, B, "")
					s.Until = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
					return s
				}(),
			},
			prev: prevStations(t, entry("int", A, v1alpha1.PhaseVerified), entry("prod", A, v1alpha1.PhaseVerified)),
			want: []*fnv1.Result{
				normal(EventOutsideWindow, "station int holds change "+B.ID+` back: deny window "release-freeze" until 2026-12-27T00:00Z`),
				normal(EventOutsideWindow, "station prod holds change "+B.ID+" back: waits for a window until 2026-11-25T18:00:00Z"),
			},
		},
		"WindowToFreeze": {
			reason:   "Another control holding the same change is told.",
			stations: []StationState{held(state("prod", A, v1alpha1.PhaseVerified), HeldByFreeze, B, "prod: frozen by alice until lifted: release on Monday")},
			prev:     prevStations(t, entry("prod", A, v1alpha1.PhaseVerified, "next: "+B.ID, "heldBy: Window")),
			want:     []*fnv1.Result{normal(EventFrozen, "station prod holds change "+B.ID+" back: frozen by alice until lifted: release on Monday")},
		},
		"PinnedWithNothingWaiting": {
			reason:   "A pin that holds a station at its change with nothing waiting says so.",
			stations: []StationState{held(state("prod", A, v1alpha1.PhaseVerified), HeldByPin, nil, "prod: pinned to change "+A.ID+" by alice: nothing flows past it")},
			prev:     prevStations(t, entry("prod", A, v1alpha1.PhaseVerified)),
			want:     []*fnv1.Result{normal(EventPinned, "station prod holds at change "+A.ID+": pinned to change "+A.ID+" by alice: nothing flows past it")},
		},
		"HaltedAndFrozen": {
			reason:   "A station that failed and holds the next change too tells both; the hold does not quote the Ticket's failure as its reason.",
			stations: []StationState{held(state("int", A, v1alpha1.PhaseFailed), HeldByFreeze, B, "app-int: Degraded")},
			prev:     prevStations(t, entry("int", A, PhaseDelivering)),
			want: []*fnv1.Result{
				warning(EventHalted, "station int halted on change "+A.ID+": app-int: Degraded"),
				normal(EventFrozen, "station int holds change "+B.ID+" back: frozen"),
			},
		},
		"Bounded": {
			reason:   "26 transitions at once: the warning first, then nine, and one Event counts the other 16.",
			stations: many,
			prev:     prevStations(t, manyPrev...),
			want:     manyWant,
		},
		"LongMessage": {
			reason:   "A message is cut to MaxEventMessageBytes.",
			stations: []StationState{long},
			prev:     prevStations(t, entry("int", A, PhaseDelivering)),
			want:     []*fnv1.Result{warning(EventHalted, "station int halted on change "+A.ID+": "+strings.Repeat("x", MaxEventMessageBytes-len("station int halted on change "+A.ID+": ")-len("…"))+"…")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := &fnv1.RunFunctionResponse{}
			StationEvents(rsp, &Progression{Stations: tc.stations}, byPath(tc.prev))
			if diff := cmp.Diff(tc.want, rsp.GetResults(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nStationEvents(...): -want, +got:\n%s", tc.reason, diff)
			}
			for _, r := range rsp.GetResults() {
				if len(r.GetMessage()) > MaxEventMessageBytes {
					t.Errorf("%s\nmessage of %d bytes, more than %d", tc.reason, len(r.GetMessage()), MaxEventMessageBytes)
				}
			}
		})
	}
}

// TestStationEventsOnce is a Track composed again with the status the
// function wrote: what it told the first time it does not tell again.
func TestStationEventsOnce(t *testing.T) {
	halted := StationState{Stop: &Stop{Path: "int"}, Change: changeA, Phase: v1alpha1.PhaseFailed, Message: "app-int: Degraded"}
	p := &Progression{Stations: []StationState{
		{Stop: &Stop{Path: "dev"}, Change: changeB, Phase: v1alpha1.PhaseVerified},
		halted,
		{Stop: &Stop{Path: "prod"}, Change: changeA, Phase: PhaseSoaking},
		{Stop: &Stop{Path: "eu"}, Phase: PhaseWaiting},
	}}
	written := StationsStatus(p, nil, now).GetListValue().GetValues()
	rsp := &fnv1.RunFunctionResponse{}
	StationEvents(rsp, p, byPath(written))
	if diff := cmp.Diff([]*fnv1.Result(nil), rsp.GetResults(), protocmp.Transform()); diff != "" {
		t.Errorf("StationEvents(...) with the status StationsStatus wrote: -want, +got:\n%s", diff)
	}
}
