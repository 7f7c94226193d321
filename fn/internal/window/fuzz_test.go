package window

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
)

// fuzzTimes are the instants the fuzz target asks Gate and Next about:
// around midnight, the spring and autumn changes of Europe and of the US,
// a year's last half second and a leap day.
var fuzzTimes = []time.Time{
	at("2026-01-05T23:30:00Z"),
	at("2026-03-08T07:30:00Z"),
	at("2026-03-29T01:30:00Z"),
	at("2026-10-25T01:30:00Z"),
	time.Date(2026, 12, 31, 23, 59, 59, 5e8, time.UTC),
	at("2028-02-29T12:00:00Z"),
}

// maxReferenceDuration is the longest window the reference checks: it
// walks every minute of a duration.
const maxReferenceDuration = 6 * time.Hour

// openAt is the reference: whether w is open at t, found by walking back,
// minute by minute in w's time zone, through (t-duration, t] and matching
// each minute against the schedule's fields, without the cron library's
// search for activations.
func openAt(w *Window, t time.Time) bool {
	loc := w.schedule.Location
	l := t.In(loc)
	x := t.Add(-time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
	for ; x.After(t.Add(-w.duration)); x = x.Add(-time.Minute) {
		if matches(w.schedule, x.In(loc)) {
			return true
		}
	}
	return false
}

// matches reports whether the schedule activates at the local minute l.
func matches(s *cron.SpecSchedule, l time.Time) bool {
	has := func(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }
	const star = 1 << 63
	dom, dow := has(s.Dom, l.Day()), has(s.Dow, int(l.Weekday()))
	day := dom || dow // cron: either day field, when both are restricted
	if s.Dom&star != 0 || s.Dow&star != 0 {
		day = dom && dow
	}
	return l.Second() == 0 && has(s.Minute, l.Minute()) && has(s.Hour, l.Hour()) && has(s.Month, int(l.Month())) && day
}

// gateAt is the reference Gate: no deny window open, and an allow window
// open if there is any.
func gateAt(ws []*Window, t time.Time) bool {
	allows, allowOpen := false, false
	for _, w := range ws {
		open := openAt(w, t)
		if w.Deny && open {
			return false
		}
		if !w.Deny {
			allows = true
			allowOpen = allowOpen || open
		}
	}
	return !allows || allowOpen
}

// FuzzParseGate parses two windows from arbitrary text. A window that does
// not parse has a problem that names one of its fields, in a bounded
// sentence. Windows that parse are asked Gate and Next at fixed instants:
// nothing panics; Gate's answer is that of the reference when the windows
// are short enough for it; the window Gate says holds a change is open
// (deny) or closed (allow) then and turns at until; every window stays as
// it is until Next, and one turns at Next.
func FuzzParseGate(f *testing.F) {
	f.Add("deny", "0 22 * * *", "4h", "", "allow", "0 9 * * 1-5", "8h", "Europe/Berlin")
	f.Add("deny", "30 2 * * *", "30m", "Europe/Berlin", "allow", "30 2 * * *", "1h", "America/New_York")
	f.Add("deny", "0 20,22 * * *", "2h", "UTC", "deny", "* * * * *", "8760h", "")
	f.Add("allow", "0 0 30 2 *", "1h", "", "allow", "0 0 29 2 *", "24h", "Asia/Kolkata")
	f.Add("deny", "*/7 */5 1-10,20 */2 mon,fri", "17m", "Australia/Lord_Howe", "allow", "@daily", "90m", "Pacific/Chatham")
	f.Add("deny", "0 0 * * *", "3h", "America/Havana", "allow", "0 0 * * *", "2h", "Asia/Beirut")
	f.Add("deny", "59 23 * * *", "1m", "Africa/Cairo", "allow", "0 0 * * *", "1h", "America/Santiago")
	f.Add("deny", "TZ=", "1h", "", "allow", "@every 1h", "1h", "Local")
	f.Add("deny", "* * * * *", "1m", "", "deny", "0 * * * *", "1h", "Etc/GMT+5")
	f.Fuzz(func(t *testing.T, kind1, schedule1, duration1, zone1, kind2, schedule2, duration2, zone2 string) {
		var ws []*Window
		short := true
		for _, s := range []spec{{"one", kind1, schedule1, duration1, zone1}, {"two", kind2, schedule2, duration2, zone2}} {
			w, err := Parse(s.name, s.kind, s.schedule, s.duration, s.timeZone)
			if err != nil {
				checkProblem(t, s, err)
				continue
			}
			ws = append(ws, w)
			short = short && w.duration <= maxReferenceDuration
		}
		for _, now := range fuzzTimes {
			open, by, until := Gate(ws, now)
			next := Next(ws, now)
			switch {
			case open != (by == nil):
				t.Fatalf("Gate(%v) = %v held by %v", now, open, by)
			case open && !until.IsZero():
				t.Fatalf("Gate(%v) = open until %v", now, until)
			case !until.IsZero() && !until.After(now):
				t.Fatalf("Gate(%v) = until %v, not after now", now, until)
			case !next.IsZero() && !next.After(now):
				t.Fatalf("Next(%v) = %v, not after now", now, next)
			}
			if !short {
				continue
			}
			if want := gateAt(ws, now); open != want {
				t.Fatalf("Gate(%v) = %v, the reference says %v", now, open, want)
			}
			if by != nil {
				checkHolds(t, by, now, until)
			}
			if !next.IsZero() {
				checkNext(t, ws, now, next)
			}
		}
	})
}

func checkProblem(t *testing.T, s spec, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Parse(%q): %v is not a *FieldError", s, err)
	}
	switch fe.Field {
	case "kind", "schedule", "duration", "timeZone":
	default:
		t.Fatalf("Parse(%q): problem with field %q", s, fe.Field)
	}
	// Two quotes of 64 bytes, each escaped up to 4 bytes a byte, and words.
	if len(fe.Problem) > 2*4*maxEcho+400 || !utf8.ValidString(fe.Problem) {
		t.Fatalf("Parse(%q): problem of %d bytes, valid UTF-8 %v: %q", s, len(fe.Problem), utf8.ValidString(fe.Problem), fe.Problem)
	}
}

// checkHolds checks that the window by holds a change at now, and turns at
// until.
func checkHolds(t *testing.T, by *Window, now, until time.Time) {
	t.Helper()
	if openAt(by, now) != by.Deny {
		t.Fatalf("Gate(%v) held by %q, which is open %v", now, by.Name, !by.Deny)
	}
	if until.IsZero() {
		return
	}
	if openAt(by, until.Add(-time.Nanosecond)) != by.Deny || openAt(by, until) == by.Deny {
		t.Fatalf("Gate(%v) held by %q until %v, which it does not turn at", now, by.Name, until)
	}
}

// checkNext checks that every window stays as it is from now until next,
// at next less a nanosecond and at 16 instants between, and that one turns
// at next, unless a window's search ran out of steps before it turned.
func checkNext(t *testing.T, ws []*Window, now, next time.Time) {
	t.Helper()
	turns, ranOut := false, false
	for _, w := range ws {
		was := openAt(w, now)
		for i := 1; i <= 16; i++ {
			if x := now.Add(next.Sub(now) / 16 * time.Duration(i)).Add(-time.Nanosecond); openAt(w, x) != was {
				t.Fatalf("Next(%v) = %v, but %q turns by %v", now, next, w.Name, x)
			}
		}
		turns = turns || openAt(w, next) != was
		st, _ := w.at(now, maxSteps)
		ranOut = ranOut || !st.recheck.Equal(st.turns)
	}
	if !turns && !ranOut {
		t.Fatalf("Next(%v) = %v, when no window turns", now, next)
	}
}

// TestGateAgainstReference asks Gate and Next about windows made up from a
// fixed seed, in time zones that change their clocks at 02:00, at midnight
// (America/Havana, Asia/Beirut, America/Santiago), by half an hour
// (Australia/Lord_Howe) or not at all, at instants a few hours apart around
// their changes, and checks them against the reference as FuzzParseGate
// does: the fuzzer rarely writes a schedule that parses.
func TestGateAgainstReference(t *testing.T) {
	zones := []string{"", "Europe/Berlin", "America/New_York", "America/Havana", "Asia/Beirut", "America/Santiago",
		"Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"}
	durations := []string{"1m", "17m", "30m", "1h", "90m", "4h", "6h"}
	r := rand.New(rand.NewPCG(13, 13))
	field := func(lo, hi int) string {
		switch r.IntN(5) {
		case 0:
			return "*"
		case 1:
			return fmt.Sprintf("*/%d", 1+r.IntN(hi-lo+1))
		case 2:
			a := lo + r.IntN(hi-lo+1)
			return fmt.Sprintf("%d-%d", a, a+r.IntN(hi-a+1))
		case 3:
			return fmt.Sprintf("%d,%d", lo+r.IntN(hi-lo+1), lo+r.IntN(hi-lo+1))
		}
		return fmt.Sprint(lo + r.IntN(hi-lo+1))
	}
	starts := []time.Time{at("2026-03-07T12:00:00Z"), at("2026-03-28T12:00:00Z"), at("2026-04-04T12:00:00Z"),
		at("2026-10-24T12:00:00Z"), at("2026-09-05T12:00:00Z"), at("2026-12-31T12:00:00Z")}
	for i := range 300 {
		var ws []*Window
		var specs []string
		for j := range 1 + r.IntN(3) {
			kind := []string{KindAllow, KindDeny}[r.IntN(2)]
			sched := strings.Join([]string{field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6)}, " ")
			zone := zones[r.IntN(len(zones))]
			duration := durations[r.IntN(len(durations))]
			w, err := Parse(fmt.Sprint(j), kind, sched, duration, zone)
			if err != nil {
				t.Fatalf("Parse(%q): %v", sched, err)
			}
			ws = append(ws, w)
			specs = append(specs, fmt.Sprintf("%s: %s %q for %s in %q", w.Name, kind, sched, duration, zone))
		}
		start := starts[i%len(starts)]
		var nows []time.Time
		for h := 0; h < 48; h += 1 + r.IntN(3) {
			nows = append(nows, start.Add(time.Duration(h)*time.Hour+time.Duration(r.IntN(3600))*time.Second))
		}
		t.Run(strings.Join(specs, ", "), func(t *testing.T) {
			for _, now := range nows {
				open, by, until := Gate(ws, now)
				if want := gateAt(ws, now); open != want {
					t.Fatalf("Gate(%v) = %v, the reference says %v", now, open, want)
				}
				if by != nil {
					checkHolds(t, by, now, until)
				}
				if next := Next(ws, now); !next.IsZero() {
					checkNext(t, ws, now, next)
				}
			}
		})
	}
}
