// Package window decides when a change may enter a station, by a Track's
// promotion windows: shaped like Argo CD's sync windows, each one opens at
// every activation of a five-field cron schedule, evaluated in its time
// zone, and stays open for a duration.
package window

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/k8sta/k8sta/internal/bounded"
)

const (
	// MaxDuration is the longest a window stays open once opened.
	MaxDuration = 8760 * time.Hour

	// Horizon is how far past now Gate and Next look for a window opening
	// or closing: beyond it they answer with a zero time, and the caller
	// asks again later.
	Horizon = 5 * 8760 * time.Hour

	// maxSteps bounds the work of evaluating one window at one instant: the
	// jumps from one time of its zone to the next that might match its
	// schedule. Finding the next activation takes a few (a leap-day
	// schedule about 100 a year, one that never matches 300 a year until
	// Horizon); finding where a window that merges back-to-back openings
	// closes takes about one per opening when they follow each other
	// without a gap, and a few dozen for every jump it makes past the
	// openings of one duration otherwise. A window open longer than the
	// steps reach is reported as closing at an unknown time, a zero until
	// ("until further notice"), and Next says to look again where the
	// steps ran out: "* * * * *" for 1m, open all the time, is looked at
	// again some 1000 minutes on. 20 windows that spend all their steps
	// take Gate a few milliseconds (BenchmarkGateWorst).
	maxSteps = 1024

	// maxEvaluatorSteps bounds the work of one Evaluator, of one call of
	// the function for one Track tree, shared by all the windows it
	// evaluates: a tree of hundreds of Tracks, each with 20 windows that
	// spend all their steps, would take a second of the CPU that every
	// tenant's Tracks share. A window a team writes takes a dozen steps
	// or so (BenchmarkGate), so the bound is reached only by windows
	// written to spend it; a window the Evaluator has no steps left for
	// is not evaluated and holds changes back (Unknown).
	maxEvaluatorSteps = 256 * maxSteps

	// maxEcho is how much of a user's input a problem quotes.
	maxEcho = 64

	maxScheduleLength = 128
	maxDurationLength = 32
	maxTimeZoneLength = 64
)

// The kinds of window.
const (
	KindAllow = "allow"
	KindDeny  = "deny"
)

// exampleSchedule ends every problem with a schedule, to show one that works.
const exampleSchedule = `a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`

// A Window is one parsed spec.windows[] entry of a Track.
type Window struct {
	Name string
	Deny bool

	schedule *cron.SpecSchedule // its Location is the window's time zone
	duration time.Duration
}

// A FieldError is a problem with one field of a window: Field is "kind",
// "schedule", "duration" or "timeZone", and Problem a sentence, beginning
// with that field's name, that says what to write instead.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Problem }

func problem(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// quote quotes what a user wrote, cut to maxEcho bytes.
func quote(s string) string { return fmt.Sprintf("%q", bounded.Text(s, maxEcho)) }

// Parse parses one window: kind is allow or deny, schedule a five-field cron
// expression or one of the descriptors @yearly, @annually, @monthly,
// @weekly, @daily, @midnight and @hourly, duration a Go duration of at most
// MaxDuration, and timeZone an IANA time zone name (UTC when empty). The
// error, a *FieldError, names the field to fix.
func Parse(name, kind, schedule, duration, timeZone string) (*Window, error) {
	w := &Window{Name: name}
	switch kind {
	case KindAllow:
	case KindDeny:
		w.Deny = true
	default:
		return nil, problem("kind", "kind %s must be allow or deny", quote(kind))
	}
	loc, err := location(timeZone)
	if err != nil {
		return nil, err
	}
	if w.schedule, err = parseSchedule(schedule); err != nil {
		return nil, err
	}
	w.schedule.Location = loc
	if w.duration, err = parseDuration(duration); err != nil {
		return nil, err
	}
	return w, nil
}

// The five fields of a schedule, in order, with a parser for each alone.
var fields = []struct {
	name, values string
	parser       cron.Parser
}{
	{"minute", "0-59", cron.NewParser(cron.Minute)},
	{"hour", "0-23", cron.NewParser(cron.Hour)},
	{"day-of-month", "1-31", cron.NewParser(cron.Dom)},
	{"month", "1-12 or jan-dec", cron.NewParser(cron.Month)},
	{"day-of-week", "0-6 or sun-sat", cron.NewParser(cron.Dow)},
}

// standard parses schedules as Argo CD's sync windows do.
var standard = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// descriptors are the ones standard understands that are calendar based.
var descriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

const descriptorList = "@yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"

func parseSchedule(s string) (*cron.SpecSchedule, error) {
	spec := strings.TrimSpace(s)
	switch {
	case spec == "":
		return nil, problem("schedule", "schedule is empty; write %s", exampleSchedule)
	case len(spec) > maxScheduleLength:
		return nil, problem("schedule", "schedule is %d bytes long, longer than the %d a schedule may be; write %s",
			len(spec), maxScheduleLength, exampleSchedule)
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		// The cron library would load the zone itself (and panics on
		// "TZ=x" with nothing after it); the window has its own field.
		return nil, problem("schedule", "schedule %s names a time zone; set the window's timeZone instead and write %s",
			quote(s), exampleSchedule)
	case strings.HasPrefix(spec, "@every"):
		return nil, problem("schedule", "schedule %s repeats after an interval, not at times of the calendar; write %s, or one of %s",
			quote(s), exampleSchedule, descriptorList)
	case strings.HasPrefix(spec, "@") && !descriptors[spec]:
		return nil, problem("schedule", "schedule %s is not one of %s; or write %s", quote(s), descriptorList, exampleSchedule)
	}
	parsed, err := standard.Parse(spec)
	if err != nil {
		// Only a schedule that does not parse is parsed field by field, to
		// name the field to fix.
		if !strings.HasPrefix(spec, "@") {
			if err := checkFields(s, strings.Fields(spec)); err != nil {
				return nil, err
			}
		}
		// checkFields found every field good; the library disagrees.
		return nil, problem("schedule", "schedule %s is not %s", quote(s), exampleSchedule)
	}
	sched, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, problem("schedule", "schedule %s is not %s", quote(s), exampleSchedule)
	}
	return sched, nil
}

// checkFields says which field of the schedule s is wrong, if one is.
func checkFields(s string, fs []string) error {
	switch {
	case len(fs) == len(fields)+1:
		return problem("schedule", "schedule %s has six fields; a window's schedule has no seconds field: write %s",
			quote(s), exampleSchedule)
	case len(fs) != len(fields):
		return problem("schedule", "schedule %s has %d fields, not five; write %s", quote(s), len(fs), exampleSchedule)
	}
	for i, f := range fields {
		if _, err := f.parser.Parse(fs[i]); err != nil {
			return problem("schedule", "schedule %s: the %s field %s is not a value of %s, a range like 1-5, a step like */15 or a list of them; write %s",
				quote(s), f.name, quote(fs[i]), f.values, exampleSchedule)
		}
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if len(s) > maxDurationLength {
		return 0, problem("duration", "duration is %d bytes long; write one like \"4h\" or \"1h30m\"", len(s))
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, problem("duration", "duration %s is not a duration; write one like \"4h\" or \"1h30m\"", quote(s))
	case d <= 0:
		return 0, problem("duration", "duration %s must be longer than zero, e.g. \"4h\"", quote(s))
	case d > MaxDuration:
		return 0, problem("duration", "duration %s is longer than a window may stay open, 8760h (a year)", quote(s))
	}
	return d, nil
}

// locations caches the time zones loaded: every name it holds loaded, so
// they are names of the IANA database, maxLocations at most.
var locations = struct {
	sync.Mutex
	byName map[string]*time.Location
}{byName: map[string]*time.Location{}}

const maxLocations = 1000

func location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	locations.Lock()
	l, ok := locations.byName[name]
	locations.Unlock()
	if ok {
		return l, nil
	}
	// time.LoadLocation answers "Local" with the function's own zone.
	if name == "Local" || len(name) > maxTimeZoneLength || !zoneName(name) {
		return nil, notZone(name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, notZone(name)
	}
	locations.Lock()
	if len(locations.byName) < maxLocations {
		locations.byName[name] = l
	}
	locations.Unlock()
	return l, nil
}

func notZone(name string) *FieldError {
	return problem("timeZone", "timeZone %s is not an IANA time zone name; write one like \"Europe/Berlin\" or \"UTC\"", quote(name))
}

// zoneName reports whether s is spelt like a name of the IANA database,
// which keeps it from naming anything but a file of the database.
func zoneName(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '/', r == '_', r == '-', r == '+':
		default:
			return false
		}
	}
	return s[0] != '/'
}

// An Evaluator decides windows at one instant, searching each window's
// schedule once however many stations it applies to: a window of a Track
// applies to each of its stations and its sections', and evaluating one
// can take a thousand steps of its search.
type Evaluator struct {
	now time.Time
	// states are the windows evaluated so far.
	states map[*Window]state
	// steps are what is left of its maxEvaluatorSteps.
	steps int
}

// NewEvaluator returns an Evaluator of windows at now.
func NewEvaluator(now time.Time) *Evaluator {
	return &Evaluator{now: now, states: map[*Window]state{}, steps: maxEvaluatorSteps}
}

// Unknown reports whether e had no steps left to evaluate w with: Gate
// takes a deny window it did not evaluate as open, an allow window as
// closed, both until further notice.
func (e *Evaluator) Unknown(w *Window) bool { return e.state(w).unknown }

// Evaluated is how many windows e searched the schedule of, each once, or
// had no steps left for: the windows it remembers the state of.
func (e *Evaluator) Evaluated() int { return len(e.states) }

// state is w's state at e's instant.
func (e *Evaluator) state(w *Window) state {
	st, ok := e.states[w]
	if !ok {
		var spent int
		st, spent = w.at(e.now, min(maxSteps, e.steps))
		e.steps -= spent
		e.states[w] = st
	}
	return st
}

// Gate decides whether a change may enter, at e's instant, a station that
// the windows ws apply to: not while any deny window is open, not while
// every allow window is closed (when there is at least one allow window).
// If it may not, by is the window that holds it: the open deny window that
// closes last, else the allow window that opens first (the first in ws on a
// tie); and until is when it may next enter as far as that window says: the
// end of the open deny window, back-to-back and overlapping openings of it
// merged, or the next opening of the allow window. until is zero when that
// is more than Horizon after now, or beyond what the bounded search
// reaches. When it may enter, by is nil and until zero.
func (e *Evaluator) Gate(ws []*Window) (open bool, by *Window, until time.Time) {
	var (
		deny, allow           *Window
		denyUntil, allowOpens time.Time
		allows, allowsOpen    int
	)
	for _, w := range ws {
		if w == nil {
			continue
		}
		st := e.state(w)
		switch {
		case w.Deny && st.open:
			if deny == nil || earlier(denyUntil, st.turns) {
				deny, denyUntil = w, st.turns
			}
		case w.Deny:
		case st.open:
			allows++
			allowsOpen++
		default:
			allows++
			if allow == nil || earlier(st.turns, allowOpens) {
				allow, allowOpens = w, st.turns
			}
		}
	}
	switch {
	case deny != nil:
		return false, deny, denyUntil
	case allows > 0 && allowsOpen == 0:
		return false, allow, allowOpens
	}
	return true, nil, time.Time{}
}

// Next is the earliest time after e's instant at which Gate's answer for
// ws may change, a window opening or closing; zero if none is within
// Horizon: the caller asks again then. A window open for longer than the
// bounded search reaches may change where the search stopped.
func (e *Evaluator) Next(ws []*Window) time.Time {
	var next time.Time
	for _, w := range ws {
		if w == nil {
			continue
		}
		if st := e.state(w); earlier(st.recheck, next) {
			next = st.recheck
		}
	}
	return next
}

// earlier reports whether a comes before b, a zero time being later than
// any other.
func earlier(a, b time.Time) bool {
	switch {
	case a.IsZero():
		return false
	case b.IsZero():
		return true
	}
	return a.Before(b)
}

// A state is a window's at an instant.
type state struct {
	open bool
	// turns is when the window next closes (its back-to-back openings
	// merged) if open, opens if not; zero if not within Horizon or the
	// reach of the search's steps.
	turns time.Time
	// recheck is turns, or where the steps ran out: the window stays
	// open until then at least.
	recheck time.Time
	// unknown is a window the Evaluator ran out of steps for: open if a
	// deny window, closed if an allow window, until further notice.
	unknown bool
}

// at returns w's state at now, found in steps steps at most, and the steps
// it took. With fewer than maxSteps, a search that spends them all does not
// know the state.
//
// w is open at t when an activation a of its schedule has a <= t < a+d: the
// first activation after t-d comes at or before t.
func (w *Window) at(now time.Time, steps int) (state, int) {
	s := &search{w: w, limit: now.Add(Horizon), maxSteps: steps}
	st := s.state(now)
	if steps < maxSteps && s.steps >= steps {
		return state{open: w.Deny, unknown: true}, s.steps
	}
	return st, s.steps
}

func (s *search) state(now time.Time) state {
	w, horizon := s.w, s.limit
	a, ok := s.next(now.Add(-w.duration))
	switch {
	// Out of steps, the search found no activation for years: none in
	// (now-d, now], which it would have reached in a few hundred at most.
	case !ok || a.IsZero() || a.After(horizon):
		return state{}
	case a.After(now):
		return state{turns: a, recheck: a}
	}
	end, reached := s.end(now, a, horizon)
	return state{open: true, turns: end, recheck: reached}
}

// A search looks for activations of one window's schedule, up to limit and
// for maxSteps steps at most.
type search struct {
	w     *Window
	limit time.Time
	// steps are those taken, of maxSteps at most.
	steps, maxSteps int
}

// next returns the first activation of the schedule after t, zero if none
// comes by the search's limit, or false once the search spent its steps.
//
// The cron library has a search of its own, but where the clocks change at
// midnight (America/Santiago, America/Havana, Asia/Beirut) it finds
// activations on days that do not match and misses some on days that do.
// This one walks instants: a window opens at every instant whose time in
// its zone matches the schedule, so at no time a spring change skips and
// twice at one an autumn change repeats (as the library does elsewhere).
// From an instant that does not match it jumps to the next time of the
// zone that might (the next matching month, day, hour or minute), as far as
// the end of the zone's current offset at most: within it, times of the
// zone and instants move together.
func (s *search) next(t time.Time) (time.Time, bool) {
	sch := s.w.schedule
	l := t.In(sch.Location)
	// The first instant after t at second 0 of a minute of the zone.
	u := t.Add(time.Duration(60-l.Second())*time.Second - time.Duration(l.Nanosecond()))
	for {
		if s.steps >= s.maxSteps {
			return time.Time{}, false
		}
		s.steps++
		if u.After(s.limit) {
			return time.Time{}, true
		}
		l := u.In(sch.Location)
		year, month, day := l.Date()
		hour, minute, _ := l.Clock()
		var to time.Time // the time of the zone to go to, as if in UTC
		switch {
		case !has(sch.Month, int(month)):
			if m, ok := nextBit(sch.Month, int(month)+1, 12); ok {
				to = time.Date(year, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			} else if m, ok := nextBit(sch.Month, 1, 12); ok {
				to = time.Date(year+1, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			} else {
				return time.Time{}, true
			}
		case !dayMatches(sch, l):
			to = time.Date(year, month, day+1, 0, 0, 0, 0, time.UTC)
		case !has(sch.Hour, hour):
			if h, ok := nextBit(sch.Hour, hour+1, 23); ok {
				to = time.Date(year, month, day, h, 0, 0, 0, time.UTC)
			} else {
				to = time.Date(year, month, day+1, 0, 0, 0, 0, time.UTC)
			}
		case !has(sch.Minute, minute):
			if m, ok := nextBit(sch.Minute, minute+1, 59); ok {
				to = time.Date(year, month, day, hour, m, 0, 0, time.UTC)
			} else {
				to = time.Date(year, month, day, hour+1, 0, 0, 0, time.UTC)
			}
		default:
			return u, true
		}
		next := u.Add(to.Sub(time.Date(year, month, day, hour, minute, 0, 0, time.UTC)))
		if _, end := l.ZoneBounds(); !end.IsZero() && next.After(end) {
			// A new offset: go on from the first minute of it.
			le := end.In(sch.Location)
			next = end
			if le.Second() != 0 || le.Nanosecond() != 0 {
				next = end.Add(time.Duration(60-le.Second())*time.Second - time.Duration(le.Nanosecond()))
			}
		}
		u = next
	}
}

// has reports whether the bits of a schedule's field hold v.
func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

// nextBit returns the lowest value of from..to the bits hold.
func nextBit(bits uint64, from, to int) (int, bool) {
	for v := from; v <= to; v++ {
		if has(bits, v) {
			return v, true
		}
	}
	return 0, false
}

// dayMatches reports whether the schedule activates on the day of l: as cron
// does, on either day field when both are restricted, else on both.
func dayMatches(s *cron.SpecSchedule, l time.Time) bool {
	dom, dow := has(s.Dom, l.Day()), has(s.Dow, int(l.Weekday()))
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// starBit is the bit of a field the cron library sets when it was "*".
const starBit = 1 << 63

// end returns when the window, open at t by the activation a, closes: the
// end of the last of its openings that, from the one at a, each begin
// before (or as) the one before them ends. Rather than walk the openings
// one by one (a minutely schedule opens 525,600 times in a year), it jumps
// from the end of an opening to the end of the latest opening that begins
// by then. The end is zero when it is after horizon or the steps ran out;
// reached is the end, or how far the window was found open when the steps
// ran out.
func (s *search) end(t, a, horizon time.Time) (end, reached time.Time) {
	reached = a.Add(s.w.duration)
	last, after, ok := s.latest(t, a)
	for ok {
		end = last.Add(s.w.duration)
		if end.After(horizon) {
			return time.Time{}, time.Time{}
		}
		reached = end
		if after.IsZero() || after.After(end) {
			return end, end
		}
		last, after, ok = s.latest(end, after)
	}
	return time.Time{}, reached
}

// latest returns the latest activation at or before t, given a, one at or
// before t, and the activation after that (zero if none by the search's
// limit). If the one after a is after t, that is a; else it gallops back
// from t (1s, 1m, 2m, 4m...) until it finds one, then halves the span
// between that one and the earliest instant past which it knows there is
// none.
func (s *search) latest(t, a time.Time) (latest, after time.Time, ok bool) {
	n, ok := s.next(a)
	switch {
	case !ok:
		return time.Time{}, time.Time{}, false
	case n.IsZero() || n.After(t):
		return a, n, true
	}
	lo, hi := n, t // lo is an activation; none is in (hi, t]
	// Activations are a minute apart at least: after the second before t,
	// the gallop goes back by minutes.
	for step := time.Second; ; step = max(time.Minute, 2*step) {
		x := t.Add(-step)
		if !x.After(lo) {
			break
		}
		n, ok := s.next(x)
		if !ok {
			return time.Time{}, time.Time{}, false
		}
		if !n.IsZero() && !n.After(t) {
			lo = n
			break
		}
		hi = x
	}
	// Activations fall on whole seconds: none lies in (lo, hi] once that
	// is shorter than one.
	for hi.Sub(lo) >= time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		n, ok := s.next(mid)
		if !ok {
			return time.Time{}, time.Time{}, false
		}
		if !n.IsZero() && !n.After(hi) {
			lo = n
		} else {
			hi = mid
		}
	}
	after, ok = s.next(lo)
	return lo, after, ok
}
