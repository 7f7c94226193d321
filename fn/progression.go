package fn

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/window"
	"github.com/k8sta/k8sta/internal/bounded"
)

// Reasons a station holds the Track back, most severe first.
const (
	ReasonHalted           = "Halted"
	ReasonPinned           = "Pinned"
	ReasonFrozen           = "Frozen"
	ReasonAwaitingApproval = "AwaitingApproval"
	ReasonOutsideWindow    = "OutsideWindow"
	ReasonDelivering       = "Delivering"
	ReasonSoaking          = "Soaking"
	ReasonWaiting          = "Waiting"
)

// Station phases the Track reports besides a Ticket's own.
const (
	PhaseWaiting    = "Waiting"    // no change has reached the station yet
	PhaseDelivering = "Delivering" // given a change its Ticket has not verified yet
	PhaseSoaking    = "Soaking"    // verified, soak not yet elapsed
)

// A Hold is a station holding the Track back, and why.
type Hold struct {
	Path    string
	Reason  string
	Message string
}

// MaxStationMessageBytes bounds what a station's status and its hold quote
// of its Ticket's Ready message.
const MaxStationMessageBytes = 1024

// A StationState is what the progression decided for one station.
type StationState struct {
	Stop *Stop
	// Change is the change the station's Ticket must deliver; nil while no
	// change has reached the station (it then has no Ticket).
	Change *v1alpha1.Change
	Phase  string
	// Message is why the station holds the Track back when its Ticket
	// failed, is blocked, or waits for something a reader acts on (a paused
	// Rollout): in the Ticket's words, but naming the field of the Track to
	// fix where the Ticket is blocked on its input; empty otherwise.
	Message string
	// Next is the change waiting to enter the station, held back by
	// HeldBy; nil when nothing waits.
	Next *v1alpha1.Change
	// HeldBy is the operator control that holds Next back, or holds the
	// station at its change: one of the HeldBy constants; empty for none.
	HeldBy string
	// HeldAt is the path of the junction whose control (a window, a Freeze,
	// a missing Approval) holds Next back, when it is not the station's
	// own: the path an Approval or a Freeze there names. Empty when the
	// station's own control holds it.
	HeldAt string
	// Until is when the window that holds Next back closes or opens; zero
	// when unknown or not a window.
	Until time.Time
	// History is the changes the station verified, newest first.
	History []VerifiedChange
}

// What holds a change back from a station, or a station at its change, as
// status.stations[].heldBy says.
const (
	HeldByWindow   = "Window"
	HeldByFreeze   = "Freeze"
	HeldByApproval = "Approval"
	HeldByPin      = "Pin"
)

// A holdKind is what the function says of one kind of hold.
type holdKind struct {
	// reason is the Promoted condition's reason, event the reason of the
	// Event that tells the hold, words the hold in plain words when the
	// progression has none.
	reason, event, words string
	// rank is the precedence of a barrier of this kind, the lowest first:
	// a Freeze, then a window, then an Approval. A Pin is no barrier.
	rank int
}

// holdKinds are the kinds of hold by HeldBy, one for each HeldBy constant:
// a StationState's HeldBy is always one of them.
var holdKinds = map[string]holdKind{
	HeldByFreeze:   {reason: ReasonFrozen, event: EventFrozen, words: "frozen", rank: 0},
	HeldByWindow:   {reason: ReasonOutsideWindow, event: EventOutsideWindow, words: "waits for a window", rank: 1},
	HeldByApproval: {reason: ReasonAwaitingApproval, event: EventAwaitingApproval, words: "waits for approval", rank: 2},
	HeldByPin:      {reason: ReasonPinned, event: EventPinned, words: "pinned"},
}

// A VerifiedChange is a change a station verified, and when.
type VerifiedChange struct {
	Change     v1alpha1.Change
	VerifiedAt time.Time
}

// A Progression is the desired change of every station.
type Progression struct {
	// Stations in Expansion.Stops order, only those with Applications.
	Stations []StationState
	// Holds are the stations that hold the Track back: on each line the
	// first one that has not verified its change, or is pinned.
	Holds []Hold
	// Standing are the Freezes and closed windows of stations that hold
	// nothing back yet: no new change waits to enter them, but one would.
	Standing []Hold
	// Requeue is when the next pending soak ends, or a window that holds a
	// change back opens or closes, whichever comes first; 0 if none.
	Requeue time.Duration
}

// Progress moves changes down the expanded Track. Station 1 takes the
// Subscription's newest change; station N+1 takes station N's verified change
// (Ticket Ready for exactly its change, soak elapsed) once it differs from
// what N+1 holds, otherwise N+1 keeps what it has. A junction station feeds
// the first station of each of its sections the same way, and a junction
// without Applications passes on what it is given. Overlay-only changes go
// to their stations alone. A pinned station (spec.pin, else a Pin) holds its
// pinned change and nothing flows past it. A new change enters a station
// only if no Freeze, window or missing Approval holds it back, in that
// order; a change a station was already given finishes.
func Progress(x *Expansion, o Observed, now time.Time) *Progression {
	return newProgressor(x, o, now).progress(x)
}

func newProgressor(x *Expansion, o Observed, now time.Time) *progressor {
	return &progressor{o: o, now: now, root: x.root(), known: map[string]*v1alpha1.Change{}, overlays: map[string][]v1alpha1.OverlayChange{},
		states: make(map[string]*StationState, len(x.Stops)), limit: historyLimit(tickets(x))}
}

func (p *progressor) progress(x *Expansion) *Progression {
	o := p.o
	var newest *v1alpha1.Change
	if o.Subscription != nil {
		newest = o.Subscription.Status.AtProvider.Newest
		p.learn(newest)
		for _, oc := range o.Subscription.Status.AtProvider.OverlayChanges {
			for _, path := range oc.Stations {
				p.overlays[path] = append(p.overlays[path], oc)
			}
		}
	}
	for _, t := range o.Tickets {
		p.learn(asked(t))
	}

	p.line(x.Line, newest, nil, true, true, nil)

	out := &Progression{Stations: make([]StationState, 0, len(x.Stops)), Holds: p.holds, Standing: p.standing, Requeue: p.requeue}
	for _, s := range x.Stops {
		if st, ok := p.states[s.Path]; ok {
			out.Stations = append(out.Stations, *st)
		}
	}
	return out
}

// tickets is how many stations of x have Applications.
func tickets(x *Expansion) int {
	n := 0
	for _, s := range x.Stops {
		if s.HasTicket() {
			n++
		}
	}
	return n
}

type progressor struct {
	o        Observed
	now      time.Time
	root     *Track
	known    map[string]*v1alpha1.Change
	overlays map[string][]v1alpha1.OverlayChange
	states   map[string]*StationState
	holds    []Hold
	standing []Hold
	requeue  time.Duration
	// limit is how many changes each station's history keeps.
	limit int
	// freezes index the Freezes by the paths they name, once one is
	// looked up (freezesIndexed).
	freezes        map[string]*Freeze
	freezesIndexed bool
	// windows evaluates the windows at now, each once, once a change
	// waits for one.
	windows *window.Evaluator
}

// frozen is the first Freeze, by name, that covers the station at path:
// one of the whole Track, of the station, or of a junction it is in a
// section of. A lookup costs the depth of path, whatever the Freezes.
func (p *progressor) frozen(path string) *Freeze {
	c := &p.o.Controls
	if len(c.Freezes) == 0 {
		return nil
	}
	if !p.freezesIndexed {
		p.freezes, p.freezesIndexed = c.index(), true
	}
	// A Freeze of the whole Track, of path itself, or of each junction
	// path it starts with.
	first := p.freezes[""]
	earlier := func(named string) {
		if f := p.freezes[named]; f != nil && (first == nil || f.Name < first.Name) {
			first = f
		}
	}
	earlier(path)
	for j := range junctionsOf(path) {
		earlier(j)
	}
	return first
}

func (p *progressor) learn(c *v1alpha1.Change) {
	if c != nil {
		p.known[c.ID] = c
	}
}

// pinned is the change pin holds the station at path to, which holds
// held, or nil when it cannot: a spec.pin may name any change this Track
// knows, as the Track's author may send any change anywhere; a Pin object
// only the change the station holds or one its history lists, so that
// whoever may create Pins may hold a station or roll it back, but not send
// it a change that never passed the stations, approvals, Freezes and
// windows before it.
func (p *progressor) pinned(path string, pin *Pin, held *v1alpha1.Change) *v1alpha1.Change {
	if held != nil && held.ID == pin.Change {
		return held
	}
	if pin.Object == "" {
		if c := p.known[pin.Change]; c != nil {
			return c
		}
	}
	h := p.o.History[path]
	for i := range h {
		if h[i].Change.ID == pin.Change {
			return &h[i].Change
		}
	}
	return nil
}

// comeBack asks to be called again in d, unless sooner already.
func (p *progressor) comeBack(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// A barrier is what holds a new change back from a station: a Freeze, a
// window or a missing Approval of the station itself, or of the junction
// without Applications that passes the change on.
type barrier struct {
	// by is one of the HeldBy constants, words what holds the change back
	// in plain words.
	by, words string
	// at is the path of the station whose control it is.
	at string
	// until is when a window lets the change in; zero when unknown or not
	// a window. recheck is when the windows' answer may change, at a
	// window's opening or closing.
	until, recheck time.Time
	// told is true once the hold of a junction's barrier was told: its
	// recipients tell it once, when the first of them is held back.
	told bool
}

// rank is the precedence of a barrier: Freeze, then window, then Approval.
func (c *barrier) rank() int { return holdKinds[c.by].rank }

// line moves change in down l, held back by the barrier gate of the
// junction that passes it on (nil for none). walking is false once a
// station before l already holds the Track back: only the first station
// that holds a line back is reported. levels are the windows of the Tracks
// whose junctions feed l that apply to it, the root Track's first.
func (p *progressor) line(l Line, in *v1alpha1.Change, gate *barrier, walking, root bool, levels [][]*window.Window) {
	for i, s := range l {
		var out *v1alpha1.Change
		// A window of the station's Track applies to it and, through a
		// junction, to its sections.
		lv := levels
		if own := s.Track.windowsFor(s.Station.Name); len(own) > 0 {
			lv = slices.Concat(levels, [][]*window.Window{own})
		}
		out, gate, walking = p.stop(s, in, gate, walking, root && i == 0, lv)
		for _, b := range s.Sections {
			p.line(b, out, gate, walking, false, lv)
		}
		in = out
	}
}

func (p *progressor) hold(walking bool, path, reason, format string, a ...any) bool {
	if walking {
		p.holds = append(p.holds, Hold{Path: path, Reason: reason, Message: path + ": " + fmt.Sprintf(format, a...)})
	}
	return false
}

// control is what holds change c back from station s, to which the
// windows of levels apply, if anything, by precedence: a Freeze, then a
// window, then an Approval the station waits for.
func (p *progressor) control(s *Stop, c *v1alpha1.Change, levels [][]*window.Window) *barrier {
	if f := p.frozen(s.Path); f != nil {
		return &barrier{by: HeldByFreeze, words: freezeWords(f), at: s.Path}
	}
	if b := p.windowBarrier(s.Path, levels); b != nil {
		return b
	}
	if s.Station.Manual && !p.o.Controls.Approved(s.Path, c.ID) {
		return &barrier{by: HeldByApproval, words: "waits for approval of change " + c.ID, at: s.Path}
	}
	return nil
}

// freezeWords says what Freeze f does, in plain words.
func freezeWords(f *Freeze) string {
	words := "frozen by " + orDefault(bounded.Text(f.By, v1alpha1.MaxControlByLength), "Freeze "+f.Name) + " until lifted"
	if f.Reason != "" {
		words += ": " + bounded.Text(f.Reason, v1alpha1.MaxControlReasonLength)
	}
	return words
}

// junction passes change in on from station s, a junction without
// Applications, held back by gate, the control of the junction that passed
// it on (nil for none), or by s's own control: it holds nothing itself, and
// its recipients tell whether the change is new to them.
func (p *progressor) junction(s *Stop, in *v1alpha1.Change, gate *barrier, walking bool, levels [][]*window.Window) (*v1alpha1.Change, *barrier, bool) {
	if pin := p.o.Controls.pinOf(s); pin != nil {
		return nil, nil, p.hold(walking, s.Path, ReasonPinned, "%s", pinWords(pin))
	}
	if in == nil {
		return nil, nil, walking
	}
	if own := p.control(s, in, levels); own != nil && (gate == nil || own.rank() < gate.rank()) {
		gate = own
	}
	return in, gate, walking
}

// pinnedWords says what pin does to a station that holds change held, in
// plain words; to is the change the pin holds it to (p.pinned), nil when it
// cannot.
func pinnedWords(pin *Pin, to, held *v1alpha1.Change) string {
	if to == nil && held != nil {
		if pin.Object != "" {
			return fmt.Sprintf("pinned by Pin %s to change %s, which the station neither holds nor lists in its history: holding change %s; pin it to one of those (kubectl k8sta history)",
				pin.Object, pin.Change, held.ID)
		}
		return fmt.Sprintf("pinned to change %s, which no Ticket, the Subscription or a station's history of this Track holds: holding change %s",
			pin.Change, held.ID)
	}
	return pinWords(pin)
}

// pinWords says what pin does, in plain words.
func pinWords(pin *Pin) string {
	if pin.Object == "" {
		return fmt.Sprintf("pinned to change %s: nothing flows past it", pin.Change)
	}
	words := fmt.Sprintf("pinned to change %s by %s", pin.Change,
		orDefault(bounded.Text(pin.By, v1alpha1.MaxControlByLength), "Pin "+pin.Object))
	if pin.Reason != "" {
		words += " (" + bounded.Text(pin.Reason, v1alpha1.MaxControlReasonLength) + ")"
	}
	return words + ": nothing flows past it"
}

// stop decides station s's change given in, the verified change of the
// station before it, held back by gate, the control of the junction that
// passed it on (nil for none), and returns what it passes on, held back by
// what, and whether the stations after it may still report a hold.
func (p *progressor) stop(s *Stop, in *v1alpha1.Change, gate *barrier, walking, first bool, levels [][]*window.Window) (*v1alpha1.Change, *barrier, bool) {
	if !s.HasTicket() {
		return p.junction(s, in, gate, walking, levels)
	}

	pin := p.o.Controls.pinOf(s)
	t := p.o.Tickets[s.Path]
	held := asked(t)
	// next is the change that enters the station unless a control holds
	// it back: a new change from upstream, or an overlay-only change.
	next, upstream := held, false
	if in != nil && (held == nil || in.ID != held.ID) {
		next, upstream = in, true
	}
	next = p.overlay(s.Path, next)
	desired := next
	st := &StationState{Stop: s}
	p.states[s.Path] = st
	var ctl *barrier
	var pinned string // what the pin does, in words; empty for none
	switch {
	case pin != nil:
		to := p.pinned(s.Path, pin, held)
		desired = held
		if to != nil {
			desired = to
		}
		st.HeldBy = HeldByPin
		pinned = pinnedWords(pin, to, held)
	case next != nil && (held == nil || next.ID != held.ID):
		ctl = p.control(s, next, levels)
		// The junction's barrier wins a tie: a Freeze of a junction
		// covers its sections, and is told once, at the junction.
		if upstream && gate != nil && (ctl == nil || gate.rank() <= ctl.rank()) {
			ctl = gate
		}
		if ctl != nil {
			desired = held
			st.HeldBy, st.Until = ctl.by, ctl.until
			if !ctl.recheck.IsZero() {
				p.comeBack(ctl.recheck.Sub(p.now))
			}
		}
	}
	if next != nil && (desired == nil || next.ID != desired.ID) {
		st.Next = next
	}
	st.Change = desired

	// Whether the Ticket verified the change it holds, and since when.
	var since metav1.Time
	verifiedNow := false
	if held != nil {
		since, verifiedNow = t.VerifiedFor(held.ID)
	}
	verified, remaining := p.verified(s, held, since, verifiedNow)
	p.comeBack(remaining)
	out := p.upstream(s.Path, verified)
	if pin != nil {
		out = nil
	}
	st.History = p.history(s.Path, held, since, verifiedNow, pin)

	var phase string
	if t != nil && desired != nil {
		phase = t.Status.AtProvider.Phase
	}

	// The station's own hold, in words without its path.
	var reason, words string
	switch {
	case desired == nil:
		st.Phase, reason = PhaseWaiting, ReasonWaiting
		words = "waiting for its first change"
		if first {
			words = "waiting for the Subscription's first change"
		}
	case held == nil || held.ID != desired.ID:
		reason, words = p.delivering(st, nil)
	case phase == v1alpha1.PhaseFailed || phase == v1alpha1.PhaseBlocked:
		st.Phase = phase
		st.Message = clipMessage(p.halted(s, t))
		reason, words = ReasonHalted, fmt.Sprintf("Ticket %s change %s: %s; the stations after it are halted", phase, desired.ID, st.Message)
	case !verifiedNow:
		reason, words = p.delivering(st, t)
	case remaining > 0:
		st.Phase, reason = PhaseSoaking, ReasonSoaking
		words = fmt.Sprintf("change %s soaks until %s", desired.ID, p.now.Add(remaining).UTC().Format(time.RFC3339))
	case pin != nil:
		st.Phase, reason, words = orDefault(phase, v1alpha1.PhaseVerified), ReasonPinned, pinned
	default:
		st.Phase = orDefault(phase, v1alpha1.PhaseVerified)
	}
	if pin != nil && reason != ReasonHalted {
		st.Message = clipMessage(pinned)
	}

	// A control outranks every hold but a halt: the station keeps its
	// change and its phase, and says what its next change waits for.
	at := s.Path
	if ctl != nil && reason != ReasonHalted {
		reason, words, at = holdKinds[ctl.by].reason, ctl.words, ctl.at
		st.Message = clipMessage(words)
		if at != s.Path {
			// Held back at the junction that passes it on: told once, by
			// the first of the junction's recipients it holds back.
			st.HeldAt = at
			st.Message = clipMessage(at + ": " + words)
			if ctl.told {
				return out, nil, false
			}
			ctl.told = true
		}
	}
	if reason != "" {
		walking = p.hold(walking, at, reason, "%s", words)
	} else if pin == nil && ctl == nil {
		p.stand(st, levels)
	}
	return out, nil, walking
}

// stand shows on station st, which holds its change and holds nothing
// back, the Freeze or closed window that would hold a new change back: an
// operator who froze a station sees it frozen before a change arrives.
func (p *progressor) stand(st *StationState, levels [][]*window.Window) {
	path := st.Stop.Path
	var b *barrier
	if f := p.frozen(path); f != nil {
		b = &barrier{by: HeldByFreeze, words: freezeWords(f)}
	} else if b = p.windowBarrier(path, levels); b == nil {
		return
	}
	st.HeldBy, st.Until, st.Message = b.by, b.until, clipMessage(b.words)
	if !b.recheck.IsZero() {
		p.comeBack(b.recheck.Sub(p.now))
	}
	p.standing = append(p.standing, Hold{Path: path, Reason: holdKinds[b.by].reason, Message: path + ": " + b.words})
}

// history is the verified changes of the station at path, newest first:
// what the Track's status said, with held added once its Ticket verified
// it (verified, since when), bounded, the entry of pin (nil for none) kept.
func (p *progressor) history(path string, held *v1alpha1.Change, since metav1.Time, verified bool, pin *Pin) []VerifiedChange {
	var keep string
	if pin != nil {
		keep = pin.Change
	}
	h := p.o.History[path]
	if !verified {
		return trim(h, keep, p.limit)
	}
	at := since.Time
	if at.IsZero() {
		at = p.now
	}
	return record(h, held, at.UTC(), keep, p.limit)
}

// delivering marks a station that has been given a change its Ticket t (nil:
// a Ticket still on another change) has not verified yet. It is one phase
// from the moment the station is given the change until then: the Ticket's
// own phase and conditions tell the steps, and a Track status write per step
// would wake the Track again and spend its circuit breaker's budget. The one
// step the Track tells is a wait a reader acts on: a Ticket deployed at the
// change whose Application says why it holds it back (a Rollout paused at a
// step) lends the station its words.
func (p *progressor) delivering(st *StationState, t *v1alpha1.Ticket) (reason, words string) {
	st.Phase = PhaseDelivering
	if c := asked(t); c != nil && c.ID == st.Change.ID && t.Status.AtProvider.Phase == v1alpha1.PhaseProgressing && heldBack(t) {
		if msg := t.GetCondition(xpv2.TypeReady).Message; msg != "" {
			st.Message = clipMessage(msg)
			return ReasonDelivering, fmt.Sprintf("Ticket is delivering change %s: %s", st.Change.ID, st.Message)
		}
	}
	return ReasonDelivering, "Ticket is delivering change " + st.Change.ID
}

// halted is why the Ticket t of station s failed or is blocked: its Ready
// condition's words, or, when it is blocked on input the Track's user must
// fix, the problem and the field of the Track that holds that input.
func (p *progressor) halted(s *Stop, t *v1alpha1.Ticket) string {
	on := t.Status.AtProvider.BlockedOn
	if t.Status.AtProvider.Phase != v1alpha1.PhaseBlocked || on == nil {
		ready := t.GetCondition(xpv2.TypeReady)
		return orDefault(ready.Message, string(ready.Reason))
	}
	of := ""
	if s.Track != p.root {
		of = " of Track " + s.Track.Name
	}
	// The field to fix comes last and must survive the cut: the problem
	// (up to 4 KiB of a kustomize error) is cut to what room is left.
	var fix string
	switch on.Field {
	case v1alpha1.BlockedOnChangeCommit:
		// No field of the Track names a change's commit: the problem says
		// which change, and to push the commit or fix where it came from.
	case v1alpha1.BlockedOnRepoURL:
		fix = ": fix spec.repo.url" + of
	default:
		// The station's own fields (overlay, branch, applications[j]) are
		// spelled the same relative to the Ticket's spec.forProvider and
		// the Track's station.
		fix = fmt.Sprintf(": fix spec.stations[%d].%s%s", s.Index, on.Field, of)
	}
	return bounded.Text(on.Problem, MaxStationMessageBytes-len(fix)) + fix
}

// clipMessage cuts s at MaxStationMessageBytes on a rune boundary, marked as
// cut.
func clipMessage(s string) string {
	return bounded.Text(s, MaxStationMessageBytes)
}

// verified is the change held, which the Ticket of station s holds, if
// its Ticket verified it (ok, since when) and its soak elapsed. If the
// soak is pending it returns how long it has left.
func (p *progressor) verified(s *Stop, held *v1alpha1.Change, since metav1.Time, ok bool) (*v1alpha1.Change, time.Duration) {
	if held == nil || !ok {
		return nil, 0
	}
	if soak := s.Station.Soak; soak > 0 {
		if since.IsZero() {
			return nil, 0
		}
		if el := p.now.Sub(since.Time); el < soak {
			return nil, soak - el
		}
	}
	return held, 0
}

// overlay applies the station's overlay-only changes made on c's base to
// c, oldest first: the station renders the newest overlay commit with c's
// images.
func (p *progressor) overlay(path string, c *v1alpha1.Change) *v1alpha1.Change {
	if c == nil {
		return nil
	}
	base := p.baseOf(path, c)
	for _, oc := range p.overlays[path] {
		if oc.Commit == c.Commit {
			continue
		}
		switch {
		case oc.BaseCommit != "":
			// The overlay commit's tree is its base with the station's
			// overlay changed. It applies to every change that renders
			// exactly that base, whenever that change was discovered: a new
			// image keeps the base commit, and must not undo the overlay.
			// Only a station that already holds that base may render it, or
			// a base change would skip the stations in front of it; a newer
			// base commit already holds the overlay commit.
			if oc.BaseCommit != base {
				continue
			}
		case !before(c.DiscoveredAt, oc.DiscoveredAt):
			// No base recorded: only discovery order tells.
			continue
		}
		// The derived change keeps the discovery time of the change it is
		// based on: a newer change from upstream replaces it, and then gets
		// the overlay commit applied again if that is newer still.
		c = &v1alpha1.Change{ID: v1alpha1.ChangeID(oc.Commit, c.Images), Commit: oc.Commit, Images: c.Images, DiscoveredAt: c.DiscoveredAt}
	}
	return c
}

// baseOf is the base commit of c: the commit itself for a change from
// upstream, the base of the overlay commit for an overlay-only change.
func (p *progressor) baseOf(path string, c *v1alpha1.Change) string {
	for _, oc := range p.overlays[path] {
		if oc.Commit == c.Commit && oc.BaseCommit != "" {
			return oc.BaseCommit
		}
	}
	return c.Commit
}

// upstream is what a station that verified c passes on: c itself, or for
// an overlay-only change of the station at path (which never moves further
// down) the change from upstream it was derived from: its base commit with
// the same images. Without a recorded base that change is unknown, and
// nothing is passed on.
func (p *progressor) upstream(path string, c *v1alpha1.Change) *v1alpha1.Change {
	if c == nil {
		return nil
	}
	for _, oc := range p.overlays[path] {
		if oc.Commit != c.Commit {
			continue
		}
		// A change derived from a newer upstream change keeps that change's
		// discovery time: with a recorded base, the commit alone tells.
		if oc.BaseCommit != "" {
			return &v1alpha1.Change{ID: v1alpha1.ChangeID(oc.BaseCommit, c.Images), Commit: oc.BaseCommit, Images: c.Images, DiscoveredAt: c.DiscoveredAt}
		}
		if before(c.DiscoveredAt, oc.DiscoveredAt) {
			return nil
		}
	}
	return c
}

// before reports whether a is before b; an unknown time is before any known.
func before(a, b *metav1.Time) bool {
	switch {
	case b == nil:
		return false
	case a == nil:
		return true
	default:
		return a.Before(b)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
