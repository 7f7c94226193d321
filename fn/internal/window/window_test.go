package window

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Gate is Evaluator.Gate at now, of an Evaluator of its own: tests ask
// about one instant at a time, and the fuzzer compares it with a reference.
func Gate(ws []*Window, now time.Time) (open bool, by *Window, until time.Time) {
	return NewEvaluator(now).Gate(ws)
}

// Next is Evaluator.Next at now, of an Evaluator of its own.
func Next(ws []*Window, now time.Time) time.Time {
	return NewEvaluator(now).Next(ws)
}

// spec is one spec.windows[] entry, as a Track's user writes it.
type spec struct {
	name, kind, schedule, duration, timeZone string
}

func mustParse(t testing.TB, ss ...spec) []*Window {
	t.Helper()
	ws := make([]*Window, 0, len(ss))
	for _, s := range ss {
		w, err := Parse(s.name, s.kind, s.schedule, s.duration, s.timeZone)
		if err != nil {
			t.Fatalf("Parse(%+v): %v", s, err)
		}
		ws = append(ws, w)
	}
	return ws
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// answer is what Gate and Next say, the window that holds a change by name.
type answer struct {
	Open  bool
	By    string
	Until time.Time
	Next  time.Time
}

func ask(ws []*Window, now time.Time) answer {
	open, by, until := Gate(ws, now)
	a := answer{Open: open, Until: until, Next: Next(ws, now)}
	if by != nil {
		a.By = by.Name
	}
	return a
}

func TestGate(t *testing.T) {
	night := spec{"night", "deny", "0 22 * * *", "4h", ""}
	berlinNight := spec{"night", "deny", "0 22 * * *", "4h", "Europe/Berlin"}
	berlinMidnight := spec{"midnight", "deny", "0 0 * * *", "4h", "Europe/Berlin"}
	office := spec{"office", "allow", "0 9 * * 1-5", "8h", ""}
	lunch := spec{"lunch", "deny", "0 12 * * *", "1h", ""}
	morning := spec{"morning", "allow", "0 9 * * *", "1h", ""}
	afternoon := spec{"afternoon", "allow", "0 14 * * *", "1h", ""}
	sunday := spec{"sunday", "allow", "0 6 * * sun", "1h", ""}

	cases := map[string]struct {
		reason  string
		windows []spec
		now     string
		want    answer
	}{
		"NoWindows": {
			reason: "A station no window applies to takes changes at any time.",
			now:    "2026-01-05T12:00:00Z",
			want:   answer{Open: true},
		},
		"BeforeDenyAcrossMidnight": {
			reason:  "A deny window that has not opened yet lets a change in, and the answer changes when it opens.",
			windows: []spec{night},
			now:     "2026-01-05T21:59:00Z",
			want:    answer{Open: true, Next: at("2026-01-05T22:00:00Z")},
		},
		"DenyOpensOnTheMinute": {
			reason:  "A window is open from the instant its schedule activates.",
			windows: []spec{night},
			now:     "2026-01-05T22:00:00Z",
			want:    answer{By: "night", Until: at("2026-01-06T02:00:00Z"), Next: at("2026-01-06T02:00:00Z")},
		},
		"DenyBeforeMidnight": {
			reason:  "A deny window opened at 22:00 for 4h holds a change at 23:30 until 02:00 the next day.",
			windows: []spec{night},
			now:     "2026-01-05T23:30:00Z",
			want:    answer{By: "night", Until: at("2026-01-06T02:00:00Z"), Next: at("2026-01-06T02:00:00Z")},
		},
		"DenyAfterMidnight": {
			reason:  "At 01:59 the deny window opened the day before still holds the change.",
			windows: []spec{night},
			now:     "2026-01-06T01:59:00Z",
			want:    answer{By: "night", Until: at("2026-01-06T02:00:00Z"), Next: at("2026-01-06T02:00:00Z")},
		},
		"DenyClosesOnTheMinute": {
			reason:  "A window is closed from the instant its duration has passed: at 02:00 the change enters.",
			windows: []spec{night},
			now:     "2026-01-06T02:00:00Z",
			want:    answer{Open: true, Next: at("2026-01-06T22:00:00Z")},
		},
		"BerlinWinterTime": {
			reason:  "22:00 in Berlin is 21:00 UTC in winter (CET): at 20:30 UTC the deny window has not opened.",
			windows: []spec{berlinNight},
			now:     "2026-03-28T20:30:00Z",
			want:    answer{Open: true, Next: at("2026-03-28T21:00:00Z")},
		},
		"BerlinSummerTime": {
			reason:  "From 2026-03-29 22:00 in Berlin is 20:00 UTC (CEST): the same schedule holds a change at 20:30 UTC.",
			windows: []spec{berlinNight},
			now:     "2026-03-29T20:30:00Z",
			want:    answer{By: "night", Until: at("2026-03-30T00:00:00Z"), Next: at("2026-03-30T00:00:00Z")},
		},
		"BerlinSummerTimeEnds": {
			reason:  "On 2026-10-24 22:00 in Berlin is still 20:00 UTC (CEST).",
			windows: []spec{berlinNight},
			now:     "2026-10-24T20:30:00Z",
			want:    answer{By: "night", Until: at("2026-10-25T00:00:00Z"), Next: at("2026-10-25T00:00:00Z")},
		},
		"BerlinBackToWinterTime": {
			reason:  "On 2026-10-25 22:00 in Berlin is 21:00 UTC again (CET).",
			windows: []spec{berlinNight},
			now:     "2026-10-25T20:30:00Z",
			want:    answer{Open: true, Next: at("2026-10-25T21:00:00Z")},
		},
		"DurationAcrossTheSpringChange": {
			reason:  "A window's duration is time that passes: opened at midnight CET (23:00 UTC), 4h end at 03:00 UTC, 05:00 CEST.",
			windows: []spec{berlinMidnight},
			now:     "2026-03-29T02:30:00Z",
			want:    answer{By: "midnight", Until: at("2026-03-29T03:00:00Z"), Next: at("2026-03-29T03:00:00Z")},
		},
		"DurationAcrossTheAutumnChange": {
			reason:  "Opened at midnight CEST (22:00 UTC), 4h end at 02:00 UTC, 03:00 CET; the next opens at midnight CET, 23:00 UTC.",
			windows: []spec{berlinMidnight},
			now:     "2026-10-25T02:00:00Z",
			want:    answer{Open: true, Next: at("2026-10-25T23:00:00Z")},
		},
		"SkippedLocalTime": {
			reason: "A local time the spring change skips (02:30 in Berlin on 2026-03-29) does not activate the schedule that day, " +
				"as with Argo CD's sync windows, which use the same cron library: the next opening is on the 30th.",
			windows: []spec{{"early", "allow", "30 2 * * *", "1h", "Europe/Berlin"}},
			now:     "2026-03-28T03:00:00Z",
			want:    answer{By: "early", Until: at("2026-03-30T00:30:00Z"), Next: at("2026-03-30T00:30:00Z")},
		},
		"RepeatedLocalTimeFirst": {
			reason:  "A local time the autumn change repeats (02:30 in Berlin on 2026-10-25) activates the schedule twice; the first, CEST, ends at 01:00 UTC.",
			windows: []spec{{"early", "deny", "30 2 * * *", "30m", "Europe/Berlin"}},
			now:     "2026-10-25T00:45:00Z",
			want:    answer{By: "early", Until: at("2026-10-25T01:00:00Z"), Next: at("2026-10-25T01:00:00Z")},
		},
		"RepeatedLocalTimeBetween": {
			reason:  "Between the two 02:30s of 2026-10-25 in Berlin the window is closed.",
			windows: []spec{{"early", "deny", "30 2 * * *", "30m", "Europe/Berlin"}},
			now:     "2026-10-25T01:10:00Z",
			want:    answer{Open: true, Next: at("2026-10-25T01:30:00Z")},
		},
		"RepeatedLocalTimeSecond": {
			reason:  "The second 02:30 of 2026-10-25 in Berlin, CET, is 01:30 UTC.",
			windows: []spec{{"early", "deny", "30 2 * * *", "30m", "Europe/Berlin"}},
			now:     "2026-10-25T01:45:00Z",
			want:    answer{By: "early", Until: at("2026-10-25T02:00:00Z"), Next: at("2026-10-25T02:00:00Z")},
		},
		"MidnightChangeNextDay": {
			reason: "In Havana the clocks go from 00:00 to 01:00 on 2026-03-08: a window on Saturdays at 17:00 opens next on Saturday " +
				"the 14th (the cron library's own search says Sunday the 8th).",
			windows: []spec{{"saturday", "allow", "0 17 * * sat", "1h", "America/Havana"}},
			now:     "2026-03-08T01:00:00Z",
			want:    answer{By: "saturday", Until: at("2026-03-14T21:00:00Z"), Next: at("2026-03-14T21:00:00Z")},
		},
		"MidnightChangeSameDay": {
			reason: "In Beirut the clocks go from 00:00 to 01:00 on 2026-03-29: a window on the 29th at 12:00 opens that day, 09:00 UTC " +
				"(the cron library's own search skips to April).",
			windows: []spec{{"payday", "allow", "0 12 29 * *", "1h", "Asia/Beirut"}},
			now:     "2026-03-28T12:00:00Z",
			want:    answer{By: "payday", Until: at("2026-03-29T09:00:00Z"), Next: at("2026-03-29T09:00:00Z")},
		},
		"NewYorkStandardTime": {
			reason:  "09:00 in New York is 14:00 UTC on 2026-03-07 (EST): at 13:30 UTC the allow window is closed.",
			windows: []spec{{"office", "allow", "0 9 * * *", "8h", "America/New_York"}},
			now:     "2026-03-07T13:30:00Z",
			want:    answer{By: "office", Until: at("2026-03-07T14:00:00Z"), Next: at("2026-03-07T14:00:00Z")},
		},
		"NewYorkDaylightTime": {
			reason:  "09:00 in New York is 13:00 UTC on 2026-03-08 (EDT): at 13:30 UTC the allow window is open.",
			windows: []spec{{"office", "allow", "0 9 * * *", "8h", "America/New_York"}},
			now:     "2026-03-08T13:30:00Z",
			want:    answer{Open: true, Next: at("2026-03-08T21:00:00Z")},
		},
		"InsideAllowOutsideDeny": {
			reason:  "Inside an allow window and outside every deny window a change enters.",
			windows: []spec{office, lunch},
			now:     "2026-01-05T10:00:00Z", // a Monday
			want:    answer{Open: true, Next: at("2026-01-05T12:00:00Z")},
		},
		"DenyInsideAllow": {
			reason:  "A deny window holds a change even inside an allow window.",
			windows: []spec{office, lunch},
			now:     "2026-01-05T12:30:00Z",
			want:    answer{By: "lunch", Until: at("2026-01-05T13:00:00Z"), Next: at("2026-01-05T13:00:00Z")},
		},
		"OutsideAllow": {
			reason:  "Outside every allow window a change waits for the next opening.",
			windows: []spec{office, lunch},
			now:     "2026-01-05T08:00:00Z",
			want:    answer{By: "office", Until: at("2026-01-05T09:00:00Z"), Next: at("2026-01-05T09:00:00Z")},
		},
		"DenyOutsideAllow": {
			reason:  "An open deny window is what holds a change outside the allow windows too, until it closes as far as it says.",
			windows: []spec{office, lunch},
			now:     "2026-01-10T12:30:00Z", // a Saturday
			want:    answer{By: "lunch", Until: at("2026-01-10T13:00:00Z"), Next: at("2026-01-10T13:00:00Z")},
		},
		"OutsideAllowOverTheWeekend": {
			reason:  "On a Saturday afternoon the office window opens on Monday; the answer may change first when lunch opens on Sunday.",
			windows: []spec{office, lunch},
			now:     "2026-01-10T13:30:00Z",
			want:    answer{By: "office", Until: at("2026-01-12T09:00:00Z"), Next: at("2026-01-11T12:00:00Z")},
		},
		"EarliestAllowOpening": {
			reason:  "Outside several allow windows, the one that opens first holds the change.",
			windows: []spec{morning, afternoon, sunday},
			now:     "2026-01-06T10:00:00Z", // a Tuesday
			want:    answer{By: "afternoon", Until: at("2026-01-06T14:00:00Z"), Next: at("2026-01-06T14:00:00Z")},
		},
		"EarliestAllowOpeningNextDay": {
			reason:  "On a Saturday evening the Sunday window opens before the morning one.",
			windows: []spec{morning, afternoon, sunday},
			now:     "2026-01-10T20:00:00Z",
			want:    answer{By: "sunday", Until: at("2026-01-11T06:00:00Z"), Next: at("2026-01-11T06:00:00Z")},
		},
		"OneAllowOpen": {
			reason:  "One open allow window among closed ones lets a change in.",
			windows: []spec{morning, afternoon, sunday},
			now:     "2026-01-06T14:30:00Z",
			want:    answer{Open: true, Next: at("2026-01-06T15:00:00Z")},
		},
		"AllowTie": {
			reason:  "Of allow windows that open at the same time, the first named holds the change.",
			windows: []spec{{"b", "allow", "0 9 * * 1", "1h", ""}, {"a", "allow", "0 9 * * *", "1h", ""}},
			now:     "2026-01-05T08:00:00Z",
			want:    answer{By: "b", Until: at("2026-01-05T09:00:00Z"), Next: at("2026-01-05T09:00:00Z")},
		},
		"DenyThatClosesLast": {
			reason:  "Of two open deny windows the one that closes last holds the change; the answer may change when the other closes.",
			windows: []spec{{"short", "deny", "0 20 * * *", "1h", ""}, {"long", "deny", "0 19 * * *", "4h", ""}},
			now:     "2026-01-05T20:30:00Z",
			want:    answer{By: "long", Until: at("2026-01-05T23:00:00Z"), Next: at("2026-01-05T21:00:00Z")},
		},
		"AcrossTheYearEnd": {
			reason:  "A deny window opened on New Year's Eve for 48h holds a change into the new year.",
			windows: []spec{{"newyear", "deny", "0 20 31 12 *", "48h", ""}},
			now:     "2026-12-31T23:00:00Z",
			want:    answer{By: "newyear", Until: at("2027-01-02T20:00:00Z"), Next: at("2027-01-02T20:00:00Z")},
		},
		"AcrossTheMonthEnd": {
			reason:  "An allow window opened on 30 April for 4h is open on 1 May at 01:00.",
			windows: []spec{{"monthend", "allow", "0 22 30 4 *", "4h", ""}},
			now:     "2026-05-01T01:00:00Z",
			want:    answer{Open: true, Next: at("2026-05-01T02:00:00Z")},
		},
		"NextYear": {
			reason:  "When it has closed, it opens again a year later.",
			windows: []spec{{"monthend", "allow", "0 22 30 4 *", "4h", ""}},
			now:     "2026-05-01T02:00:00Z",
			want:    answer{By: "monthend", Until: at("2027-04-30T22:00:00Z"), Next: at("2027-04-30T22:00:00Z")},
		},
		"LeapDay": {
			reason:  "An allow window on 29 February opens in 2028.",
			windows: []spec{{"leap", "allow", "0 0 29 2 *", "24h", ""}},
			now:     "2026-03-01T00:00:00Z",
			want:    answer{By: "leap", Until: at("2028-02-29T00:00:00Z"), Next: at("2028-02-29T00:00:00Z")},
		},
		"AllowNeverOpens": {
			reason:  "An allow window whose schedule never activates (30 February) holds a change with no date to give.",
			windows: []spec{{"never", "allow", "0 0 30 2 *", "1h", ""}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{By: "never"},
		},
		"DenyNeverOpens": {
			reason:  "A deny window whose schedule never activates holds nothing, and never changes the answer.",
			windows: []spec{{"never", "deny", "0 0 30 2 *", "1h", ""}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{Open: true},
		},
		"BackToBack": {
			reason:  "Openings of one window that follow each other without a gap hold a change until the last one ends.",
			windows: []spec{{"evening", "deny", "0 20,22 * * *", "2h", ""}},
			now:     "2026-01-05T21:00:00Z",
			want:    answer{By: "evening", Until: at("2026-01-06T00:00:00Z"), Next: at("2026-01-06T00:00:00Z")},
		},
		"BackToBackAtTheSeam": {
			reason:  "At the instant one opening ends and the next begins the window is open.",
			windows: []spec{{"evening", "deny", "0 20,22 * * *", "2h", ""}},
			now:     "2026-01-05T22:00:00Z",
			want:    answer{By: "evening", Until: at("2026-01-06T00:00:00Z"), Next: at("2026-01-06T00:00:00Z")},
		},
		"Overlapping": {
			reason:  "Overlapping openings of one window hold a change until the last one ends.",
			windows: []spec{{"evening", "deny", "0 20,21 * * *", "2h", ""}},
			now:     "2026-01-05T20:30:00Z",
			want:    answer{By: "evening", Until: at("2026-01-05T23:00:00Z"), Next: at("2026-01-05T23:00:00Z")},
		},
		"ManyBackToBack": {
			reason:  "A minutely schedule open a minute each time, 09:00-16:59, holds a change until 17:00: 480 openings merged.",
			windows: []spec{{"day", "deny", "* 9-16 * * *", "1m", ""}},
			now:     "2026-01-05T09:00:30Z",
			want:    answer{By: "day", Until: at("2026-01-05T17:00:00Z"), Next: at("2026-01-05T17:00:00Z")},
		},
		"AlwaysOpenForAYear": {
			reason: "A minutely schedule open a year each time is open for ever; the bounded search gives up at the horizon: " +
				"no date, rather than 525,600 openings a year walked one by one.",
			windows: []spec{{"always", "deny", "* * * * *", "8760h", ""}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{By: "always"},
		},
		"AlwaysOpenAMinute": {
			reason: "A minutely schedule open a minute each time is open for ever; the bounded search gives up after its 1024 steps, " +
				"1023 minutes on: no date, and Next says to look again there.",
			windows: []spec{{"always", "deny", "* * * * *", "1m", ""}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{By: "always", Next: at("2026-01-06T05:03:00Z")},
		},
		"AlwaysOpenAllow": {
			reason:  "An allow window that is always open lets every change in; the search gives up 511 hours on, where Next says to look again.",
			windows: []spec{{"always", "allow", "@hourly", "1h", ""}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{Open: true, Next: at("2026-01-26T19:00:00Z")},
		},
		"Descriptor": {
			reason:  "@daily opens at midnight, in the window's time zone.",
			windows: []spec{{"daily", "allow", "@daily", "1h", "Asia/Tokyo"}},
			now:     "2026-01-05T12:00:00Z",
			want:    answer{By: "daily", Until: at("2026-01-05T15:00:00Z"), Next: at("2026-01-05T15:00:00Z")},
		},
		"FractionalNow": {
			reason:  "A clock with nanoseconds is compared exactly: 1ns before a deny window closes it holds the change.",
			windows: []spec{night},
			now:     "2026-01-06T01:59:59.999999999Z",
			want:    answer{By: "night", Until: at("2026-01-06T02:00:00Z"), Next: at("2026-01-06T02:00:00Z")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ws := mustParse(t, tc.windows...)
			now, err := time.Parse(time.RFC3339Nano, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			got := ask(ws, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nGate and Next at %s: -want, +got:\n%s", tc.reason, tc.now, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	long := strings.Repeat("9", 200)
	cases := map[string]struct {
		reason string
		spec   spec
		want   *FieldError
	}{
		"Deny": {
			reason: "A deny window with a five-field schedule, a duration and a time zone parses.",
			spec:   spec{"freeze", "deny", "0 22 * * 5", "58h", "Europe/Berlin"},
		},
		"AllowInUTC": {
			reason: "A window with no time zone is in UTC.",
			spec:   spec{"office", "allow", "0 9 * * mon-fri", "8h", ""},
		},
		"Descriptor": {
			reason: "The calendar descriptors Argo CD accepts parse.",
			spec:   spec{"weekly", "allow", "@weekly", "1h", "UTC"},
		},
		"KindUnknown": {
			reason: "kind is allow or deny.",
			spec:   spec{"x", "Deny", "0 22 * * 5", "1h", ""},
			want:   &FieldError{Field: "kind", Problem: `kind "Deny" must be allow or deny`},
		},
		"KindEmpty": {
			reason: "kind is required.",
			spec:   spec{"x", "", "0 22 * * 5", "1h", ""},
			want:   &FieldError{Field: "kind", Problem: `kind "" must be allow or deny`},
		},
		"ScheduleEmpty": {
			reason: "A schedule is required.",
			spec:   spec{"x", "deny", "  ", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule is empty; write a cron expression of five fields ` +
				`(minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleTooLong": {
			reason: "A schedule longer than the XRD allows is refused before it is parsed.",
			spec:   spec{"x", "deny", long, "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule is 200 bytes long, longer than the 128 a schedule may be; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleSeconds": {
			reason: "A schedule with a seconds field is refused, saying so.",
			spec:   spec{"x", "deny", "0 0 22 * * 5", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "0 0 22 * * 5" has six fields; a window's schedule has no seconds field: ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleFewFields": {
			reason: "A schedule of fewer than five fields is refused.",
			spec:   spec{"x", "deny", "0 22 *", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "0 22 *" has 3 fields, not five; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleBadField": {
			reason: "A field out of its range is named, with the values it takes.",
			spec:   spec{"x", "deny", "0 24 * * 5", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "0 24 * * 5": the hour field "24" is not a value of 0-23, ` +
				`a range like 1-5, a step like */15 or a list of them; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleBadDayOfWeek": {
			reason: "Day-of-week is 0-6 or a name (the cron library takes no 7 for Sunday).",
			spec:   spec{"x", "deny", "0 22 * * 7", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "0 22 * * 7": the day-of-week field "7" is not a value of 0-6 or sun-sat, ` +
				`a range like 1-5, a step like */15 or a list of them; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleTimeZone": {
			reason: "A time zone in the schedule is refused (the cron library would load it itself, and panics on some); timeZone says it.",
			spec:   spec{"x", "deny", "TZ=Europe/Berlin 0 22 * * 5", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "TZ=Europe/Berlin 0 22 * * 5" names a time zone; set the window's timeZone instead ` +
				`and write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleEvery": {
			reason: "@every is not calendar based: a window opens at times of the calendar.",
			spec:   spec{"x", "deny", "@every 1h", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "@every 1h" repeats after an interval, not at times of the calendar; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5", ` +
				`or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly`},
		},
		"ScheduleUnknownDescriptor": {
			reason: "An unknown descriptor is refused with the ones there are.",
			spec:   spec{"x", "deny", "@fortnightly", "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "@fortnightly" is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly; ` +
				`or write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"ScheduleEchoBounded": {
			reason: "A problem quotes at most 64 bytes of what the user wrote.",
			spec:   spec{"x", "deny", "0 22 * * " + strings.Repeat("x", 100), "1h", ""},
			want: &FieldError{Field: "schedule", Problem: `schedule "0 22 * * ` + strings.Repeat("x", 52) + `…": the day-of-week field "` +
				strings.Repeat("x", 61) + `…" is not a value of 0-6 or sun-sat, a range like 1-5, a step like */15 or a list of them; ` +
				`write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"DurationMissingUnit": {
			reason: "A duration has a unit.",
			spec:   spec{"x", "deny", "0 22 * * 5", "30", ""},
			want:   &FieldError{Field: "duration", Problem: `duration "30" is not a duration; write one like "4h" or "1h30m"`},
		},
		"DurationEmpty": {
			reason: "A duration is required.",
			spec:   spec{"x", "deny", "0 22 * * 5", "", ""},
			want:   &FieldError{Field: "duration", Problem: `duration "" is not a duration; write one like "4h" or "1h30m"`},
		},
		"DurationZero": {
			reason: "A window open for no time never lets anything in or holds anything.",
			spec:   spec{"x", "deny", "0 22 * * 5", "0s", ""},
			want:   &FieldError{Field: "duration", Problem: `duration "0s" must be longer than zero, e.g. "4h"`},
		},
		"DurationNegative": {
			reason: "A negative duration is refused.",
			spec:   spec{"x", "deny", "0 22 * * 5", "-1h", ""},
			want:   &FieldError{Field: "duration", Problem: `duration "-1h" must be longer than zero, e.g. "4h"`},
		},
		"DurationOverAYear": {
			reason: "A window stays open a year at most.",
			spec:   spec{"x", "deny", "0 22 * * 5", "8761h", ""},
			want:   &FieldError{Field: "duration", Problem: `duration "8761h" is longer than a window may stay open, 8760h (a year)`},
		},
		"DurationTooLong": {
			reason: "A duration longer than the XRD allows is refused before it is parsed.",
			spec:   spec{"x", "deny", "0 22 * * 5", long, ""},
			want:   &FieldError{Field: "duration", Problem: `duration is 200 bytes long; write one like "4h" or "1h30m"`},
		},
		"TimeZoneUnknown": {
			reason: "A time zone is a name of the IANA database.",
			spec:   spec{"x", "deny", "0 22 * * 5", "1h", "Mars/Olympus_Mons"},
			want:   &FieldError{Field: "timeZone", Problem: `timeZone "Mars/Olympus_Mons" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC"`},
		},
		"TimeZoneLocal": {
			reason: "Local would be the function's own time zone, not one the user chose.",
			spec:   spec{"x", "deny", "0 22 * * 5", "1h", "Local"},
			want:   &FieldError{Field: "timeZone", Problem: `timeZone "Local" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC"`},
		},
		"TimeZonePath": {
			reason: "A time zone is never a path to a file.",
			spec:   spec{"x", "deny", "0 22 * * 5", "1h", "../../../etc/passwd"},
			want:   &FieldError{Field: "timeZone", Problem: `timeZone "../../../etc/passwd" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC"`},
		},
		"TimeZoneAbsolute": {
			reason: "A time zone is never a path to a file.",
			spec:   spec{"x", "deny", "0 22 * * 5", "1h", "/usr/share/zoneinfo/UTC"},
			want:   &FieldError{Field: "timeZone", Problem: `timeZone "/usr/share/zoneinfo/UTC" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := tc.spec
			w, err := Parse(s.name, s.kind, s.schedule, s.duration, s.timeZone)
			var got *FieldError
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Parse(%+v): %v is not a *FieldError", s, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParse(%+v): -want, +got:\n%s", tc.reason, s, diff)
			}
			if err == nil && (w == nil || w.Name != s.name || w.Deny != (s.kind == KindDeny)) {
				t.Errorf("%s\nParse(%+v) = %+v", tc.reason, s, w)
			}
			if got != nil && got.Error() != got.Problem {
				t.Errorf("Error() = %q, want the problem %q", got.Error(), got.Problem)
			}
		})
	}
}

// BenchmarkGate is a station that 20 windows apply to, as a team writes
// them: office hours, lunch, weekend and year-end freezes in their zones.
func BenchmarkGate(b *testing.B) {
	zones := []string{"", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Santiago"}
	var ss []spec
	for i := range 4 {
		z := zones[i%len(zones)]
		ss = append(ss,
			spec{"office", "allow", "0 9 * * mon-fri", "8h", z},
			spec{"lunch", "deny", "0 12 * * *", "1h", z},
			spec{"weekend", "deny", "0 18 * * fri", "62h", z},
			spec{"yearend", "deny", "0 0 20 12 *", "336h", z},
			spec{"patch", "allow", "0 2 * * 2", "2h", z})
	}
	benchmarkGate(b, ss)
}

// BenchmarkGateWorst is a station that 20 windows apply to that are open
// all the time, each opening as the last ends: each spends all its steps
// finding where it closes.
func BenchmarkGateWorst(b *testing.B) {
	var ss []spec
	for range 20 {
		ss = append(ss, spec{"always", "deny", "0 * * * *", "1h", "Europe/Berlin"})
	}
	benchmarkGate(b, ss)
}

func benchmarkGate(b *testing.B, ss []spec) {
	ws := mustParse(b, ss...)
	now := at("2026-01-07T12:30:00Z")
	b.ReportAllocs()
	for b.Loop() {
		Gate(ws, now)
	}
}

func TestEvaluatorEvaluatesEachWindowOnce(t *testing.T) {
	// Three stations' levels share the Track's two windows; the third has
	// one of its own.
	track := mustParse(t, spec{"office", "allow", "0 9 * * mon-fri", "8h", "Europe/Berlin"}, spec{"lunch", "deny", "0 12 * * *", "1h", ""})
	own := mustParse(t, spec{"weekend", "deny", "0 18 * * fri", "62h", ""})
	levels := [][]*Window{track, track, append(track[:len(track):len(track)], own...)}
	now := at("2026-01-07T12:30:00Z")

	e := NewEvaluator(now)
	for i, ws := range levels {
		want := ask(ws, now)
		open, by, until := e.Gate(ws)
		got := answer{Open: open, Until: until, Next: e.Next(ws)}
		if by != nil {
			got.By = by.Name
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("levels[%d]: Evaluator's Gate and Next answer as Gate and Next do: -want, +got:\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(3, e.Evaluated()); diff != "" {
		t.Errorf("Evaluated(): each of the 3 windows is searched once, however many stations and calls it serves: -want, +got:\n%s", diff)
	}
}

// TestEvaluatorBoundsSteps evaluates more windows that spend all their
// steps than an Evaluator has steps for: it evaluates them as a fresh
// search does while it has the steps, a cheap window too once fewer than
// maxSteps are left, and no window it has no steps left for, which then
// holds a change back until further notice, a deny window as open and an
// allow window as closed.
func TestEvaluatorBoundsSteps(t *testing.T) {
	worst := spec{"worst", "deny", "0 * * * *", "1h", "Europe/Berlin"}
	lunch := spec{"lunch", "deny", "0 12 * * *", "1h", ""}
	office := spec{"office", "allow", "0 9 * * mon-fri", "8h", ""}
	now := at("2026-01-07T12:30:00Z")
	var ss []spec
	for range maxEvaluatorSteps/maxSteps - 1 {
		ss = append(ss, worst)
	}
	// One worst window's steps are left: lunch takes a few of them, and
	// again a few of fewer than maxSteps left, the next worst window runs
	// out of them and office finds none.
	ss = append(ss, lunch, lunch, worst, office)
	ws := mustParse(t, ss...)

	e := NewEvaluator(now)
	var unknown []int
	for i, w := range ws {
		if e.Unknown(w) {
			unknown = append(unknown, i)
			continue
		}
		want, _ := w.at(now, maxSteps)
		if diff := cmp.Diff(want, e.state(w), cmp.AllowUnexported(state{})); diff != "" {
			t.Errorf("windows[%d]: evaluated as a fresh search does: -want, +got:\n%s", i, diff)
		}
	}
	if diff := cmp.Diff([]int{len(ws) - 2, len(ws) - 1}, unknown); diff != "" {
		t.Errorf("windows not evaluated: only those the steps ran out for: -want, +got:\n%s", diff)
	}
	if e.steps < 0 {
		t.Errorf("steps left: %d, spent more than maxEvaluatorSteps", e.steps)
	}

	// Alone, each window not evaluated holds a change back.
	for _, w := range ws[len(ws)-2:] {
		open, by, until := e.Gate([]*Window{w})
		got := answer{Open: open, Until: until, Next: e.Next([]*Window{w})}
		if by != nil {
			got.By = by.Name
		}
		if diff := cmp.Diff(answer{By: w.Name}, got); diff != "" {
			t.Errorf("%s, not evaluated: held until further notice: -want, +got:\n%s", w.Name, diff)
		}
	}
}
