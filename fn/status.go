package fn

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// Condition types the function sets on the Track. Crossplane owns Ready (it
// derives it from the composed resources' readiness) and does not let a
// function set it.
const (
	// TypeValid says whether the Track and its sections can be expanded.
	TypeValid = "Valid"
	// TypePromoted says whether every station holds its newest verified
	// change, and otherwise which stations hold the Track back and why.
	TypePromoted = "Promoted"
)

// Reasons of the Valid and Promoted conditions besides the problems'.
const (
	ReasonValid    = "Valid"
	ReasonSection  = "Section"
	ReasonFetching = "FetchingSections"
	// ReasonFetchingControls says Crossplane has not fetched the Track's
	// Approvals, Freezes and Pins yet.
	ReasonFetchingControls = "FetchingControls"
	ReasonPromoted         = "Promoted"
)

// maxHolds is how many holds the Promoted condition's message names.
const maxHolds = 5

var severity = map[string]int{ReasonHalted: 0, ReasonPinned: 1, ReasonFrozen: 2, ReasonAwaitingApproval: 3, ReasonOutsideWindow: 4,
	ReasonDelivering: 5, ReasonSoaking: 6, ReasonWaiting: 7}

func cond(typ string, s fnv1.Status, reason, message string) *fnv1.Condition {
	return &fnv1.Condition{Type: typ, Status: s, Reason: reason, Message: &message, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

// ValidCondition is True when the Track tree expanded, False naming the
// first problems and their fixes and counting the rest.
func ValidCondition(p Problems) *fnv1.Condition {
	if p.None() {
		return cond(TypeValid, fnv1.Status_STATUS_CONDITION_TRUE, ReasonValid, "")
	}
	msgs := make([]string, 0, len(p.First)+1)
	for _, e := range p.First {
		msgs = append(msgs, e.Message)
	}
	if p.More > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", p.More))
	}
	return cond(TypeValid, fnv1.Status_STATUS_CONDITION_FALSE, p.First[0].Reason,
		strings.Join(msgs, "; ")+". Nothing composed was changed until this is fixed.")
}

// SectionCondition says that a Track without subscriptions composes nothing.
func SectionCondition(name string) *fnv1.Condition {
	return cond(TypeValid, fnv1.Status_STATUS_CONDITION_TRUE, ReasonSection,
		fmt.Sprintf("Track %s has no subscriptions: it is a section, composed only through the junctions of the Tracks that feed it, and composes nothing of its own", name))
}

// PromotedCondition names the stations that hold the Track back, the most
// severe reason as its reason, then the Freezes and closed windows that
// would hold a new change back.
func PromotedCondition(p *Progression) *fnv1.Condition {
	if len(p.Holds) == 0 {
		msg := fmt.Sprintf("every station (%d) holds its newest verified change", len(p.Stations))
		if len(p.Standing) > 0 {
			msg += "; " + holdMessages(p.Standing)
		}
		return cond(TypePromoted, fnv1.Status_STATUS_CONDITION_TRUE, ReasonPromoted, msg)
	}
	reason := p.Holds[0].Reason
	for _, h := range p.Holds {
		if severity[h.Reason] < severity[reason] {
			reason = h.Reason
		}
	}
	return cond(TypePromoted, fnv1.Status_STATUS_CONDITION_FALSE, reason, holdMessages(slices.Concat(p.Holds, p.Standing)))
}

// holdMessages are the messages of the first maxHolds of hs, and how many
// more there are.
func holdMessages(hs []Hold) string {
	msgs := make([]string, 0, min(len(hs), maxHolds)+1)
	for i, h := range hs {
		if i == maxHolds {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(hs)-maxHolds))
			break
		}
		msgs = append(msgs, h.Message)
	}
	return strings.Join(msgs, "; ")
}

// byPath are the entries of prev, the observed status.stations, by path;
// at most MaxStops, as many as the function writes.
func byPath(prev []*structpb.Value) map[string]*structpb.Struct {
	prev = prev[:min(len(prev), MaxStops)]
	old := make(map[string]*structpb.Struct, len(prev))
	for _, v := range prev {
		old[str(v.GetStructValue(), "path")] = v.GetStructValue()
	}
	return old
}

// StationsStatus is status.stations: each station with Applications, the
// change it is given, its phase and since when it has been in that phase
// with that change (carried over from old, the observed status.stations by
// path), the change that waits to enter it and what holds that back, and
// the changes it verified.
func StationsStatus(p *Progression, old map[string]*structpb.Struct, now time.Time) *structpb.Value {
	out := make([]*structpb.Value, 0, len(p.Stations))
	nowv := timev(now)
	for _, st := range p.Stations {
		id := ""
		if st.Change != nil {
			id = st.Change.ID
		}
		f := map[string]*structpb.Value{"path": sv(st.Stop.Path), "phase": sv(st.Phase)}
		if id != "" {
			f["change"] = sv(id)
		}
		since := nowv
		o := old[st.Stop.Path]
		if o != nil && str(o, "change") == id && str(o, "phase") == st.Phase && isTimestamp(str(o, "since")) {
			since = sv(str(o, "since"))
		}
		f["since"] = since
		if st.Message != "" {
			f["message"] = sv(st.Message)
		}
		if st.Next != nil {
			f["next"] = sv(st.Next.ID)
		}
		if st.HeldBy != "" {
			f["heldBy"] = sv(st.HeldBy)
		}
		if st.HeldAt != "" {
			f["heldAt"] = sv(st.HeldAt)
		}
		if !st.Until.IsZero() {
			f["until"] = timev(st.Until)
		}
		if len(st.History) > 0 {
			// Mostly the history as observed: kept, not written anew.
			if o != nil && sameHistory(list(o, "history"), st.History) {
				f["history"] = val(o, "history")
			} else {
				f["history"] = historyValue(st.History)
			}
		}
		out = append(out, structv(f))
	}
	return listv(out)
}
