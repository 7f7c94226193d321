package fn

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/bounded"
)

// Reasons of the Events Crossplane records on a Track and its claim when a
// station's state changes: the function returns them as results, and
// Crossplane makes each an Event of that reason.
const (
	EventVerified         = "Verified"
	EventHalted           = "Halted"
	EventAwaitingApproval = "AwaitingApproval"
	EventOutsideWindow    = "OutsideWindow"
	EventFrozen           = "Frozen"
	EventPinned           = "Pinned"
	// EventMoreTransitions counts the transitions past MaxStationEvents.
	EventMoreTransitions = "MoreTransitions"
)

// MaxStationEvents bounds how many transitions one call tells:
// a 500-station Track whose stations all verify a change at once tells ten
// and counts the rest in one more Event.
const MaxStationEvents = 10

// MaxEventMessageBytes bounds an Event's message.
const MaxEventMessageBytes = 1024

// A transition is a change of a station's state since the observed status
// said it, and the Event that tells it.
type transition struct {
	st      *StationState
	warning bool
	reason  string
}

// StationEvents adds to rsp an Event for each station whose state changed
// since old, the observed status.stations by path: a change verified (the
// station Soaking or Verified with a change it did not report verified
// before), a station halted (Failed or Blocked on a change or in a phase it
// did not report), a change held back (heldBy or next differ). A station
// old does not list has no state to change from, and tells nothing: a Track whose
// status was lost does not repeat its history. Warnings come first; past
// MaxStationEvents the rest are counted in one Event.
func StationEvents(rsp *fnv1.RunFunctionResponse, p *Progression, old map[string]*structpb.Struct) {
	if len(old) == 0 {
		return
	}
	var ts []transition
	for i := range p.Stations {
		st := &p.Stations[i]
		o := old[st.Stop.Path]
		if o == nil {
			continue
		}
		id, was, wasPhase := idOf(st.Change), str(o, "change"), str(o, "phase")
		switch {
		case id == "":
		case verifiedPhase(st.Phase) && (was != id || !verifiedPhase(wasPhase)):
			ts = append(ts, transition{st: st, reason: EventVerified})
		case haltedPhase(st.Phase) && (was != id || wasPhase != st.Phase):
			ts = append(ts, transition{st: st, warning: true, reason: EventHalted})
		}
		if st.HeldBy != "" && (str(o, "heldBy") != st.HeldBy || str(o, "next") != idOf(st.Next)) {
			ts = append(ts, transition{st: st, reason: holdKinds[st.HeldBy].event})
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].warning && !ts[j].warning })

	for i, t := range ts {
		if i == MaxStationEvents {
			more := ts[i:]
			warning := false
			for _, m := range more {
				warning = warning || m.warning
			}
			msg := fmt.Sprintf("%d more station transitions than these %d: status.stations shows every station", len(more), MaxStationEvents)
			result(rsp, warning, EventMoreTransitions, msg)
			return
		}
		result(rsp, t.warning, t.reason, t.message())
	}
}

func result(rsp *fnv1.RunFunctionResponse, warning bool, reason, msg string) {
	msg = bounded.Text(msg, MaxEventMessageBytes)
	if warning {
		response.Warning(rsp, errors.New(msg)).TargetCompositeAndClaim().WithReason(reason)
		return
	}
	response.Normal(rsp, msg).TargetCompositeAndClaim().WithReason(reason)
}

func (t transition) message() string {
	st := t.st
	path := st.Stop.Path
	switch t.reason {
	case EventVerified:
		return fmt.Sprintf("change %s verified at station %s", st.Change.ID, path)
	case EventHalted:
		return fmt.Sprintf("station %s halted on change %s: %s", path, st.Change.ID, orDefault(st.Message, "its Ticket is "+st.Phase))
	}
	why := holdWords(st)
	switch {
	case st.Next != nil:
		return fmt.Sprintf("station %s holds change %s back: %s", path, st.Next.ID, why)
	case st.Change != nil:
		return fmt.Sprintf("station %s holds at change %s: %s", path, st.Change.ID, why)
	default:
		return fmt.Sprintf("station %s holds: %s", path, why)
	}
}

// holdWords is why station st holds: the progression's words for the hold
// ("frozen by alice until lifted"; "regions: frozen by alice until lifted"
// when the junction before it is what holds), or, when its message is the
// Ticket's (a station that failed and holds the next change too) or there
// is none, what its HeldBy says.
func holdWords(st *StationState) string {
	if st.Message != "" && !haltedPhase(st.Phase) {
		return strings.TrimPrefix(st.Message, st.Stop.Path+": ")
	}
	words := holdKinds[st.HeldBy].words
	if st.HeldBy == HeldByWindow && !st.Until.IsZero() {
		words += " until " + st.Until.UTC().Format(time.RFC3339)
	}
	return words
}

func verifiedPhase(phase string) bool {
	return phase == v1alpha1.PhaseVerified || phase == PhaseSoaking
}

func haltedPhase(phase string) bool {
	return phase == v1alpha1.PhaseFailed || phase == v1alpha1.PhaseBlocked
}

func idOf(c *v1alpha1.Change) string {
	if c == nil {
		return ""
	}
	return c.ID
}
