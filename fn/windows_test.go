package fn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseWindows(t *testing.T) {
	// parsed is a window as the test sees it: its label, kind and stations.
	type parsed struct {
		Name     string
		Deny     bool
		Stations []string
	}
	track := func(windows string) string {
		return `{repo: {url: https://git.example.com/u}, subscriptions: {git: {}}, stations: [{name: dev, tracks: [x]}, {name: prod, tracks: [z]}], windows: [` + windows + `]}`
	}
	cases := map[string]struct {
		reason string
		spec   string
		want   []parsed
		err    error
	}{
		"None": {
			reason: "A Track without windows lets changes in at any time.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: dev, tracks: [x]}]}`,
		},
		"AsWritten": {
			reason: "A named window is quoted by its name, one without by its field; stations are kept as written, none for all.",
			spec: track(`{name: release-freeze, kind: deny, schedule: "0 22 * * 5", duration: 60h, timeZone: Europe/Berlin, stations: [prod]},
				{kind: allow, schedule: "@daily", duration: 8h}`),
			want: []parsed{{Name: `"release-freeze"`, Deny: true, Stations: []string{"prod"}}, {Name: "spec.windows[1]"}},
		},
		"SectionsUnnamed": {
			reason: "A section's window without a name is named with its Track, as the root Track's messages quote it.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: dev, tracks: [x]}], windows: [{kind: allow, schedule: "@daily", duration: 8h}]}`,
			want:   []parsed{{Name: "spec.windows[0] of Track t"}},
		},
		"BadKind": {
			reason: "The kind is allow or deny; the message names the window's field.",
			spec:   track(`{kind: sometimes, schedule: "0 22 * * 5", duration: 1h}`),
			err: TrackError{Reason: ReasonInvalidTrack,
				Message: `Track t: spec.windows[0].kind "sometimes" must be allow or deny`},
		},
		"BadSchedule": {
			reason: "A schedule with seconds is refused, naming the field and what to write.",
			spec:   track(`{kind: allow, schedule: "@daily", duration: 1h}, {kind: deny, schedule: "0 0 22 * * 5", duration: 1h}`),
			err: TrackError{Reason: ReasonInvalidTrack,
				Message: `Track t: spec.windows[1].schedule "0 0 22 * * 5" has six fields; a window's schedule has no seconds field: write a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 22 * * 5"`},
		},
		"BadTimeZone": {
			reason: "A time zone is an IANA name; a path is none.",
			spec:   track(`{kind: deny, schedule: "0 22 * * 5", duration: 1h, timeZone: "../../etc/passwd"}`),
			err: TrackError{Reason: ReasonInvalidTrack,
				Message: `Track t: spec.windows[0].timeZone "../../etc/passwd" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC"`},
		},
		"UnknownStation": {
			reason: "A window names stations of its own Track: another name is an error naming the entry.",
			spec:   track(`{kind: deny, schedule: "0 22 * * 5", duration: 1h, stations: [prod, staging]}`),
			err: TrackError{Reason: ReasonInvalidTrack,
				Message: `Track t: spec.windows[0].stations[1] names station "staging", which Track t does not have: name one of its spec.stations (a junction's name covers its sections), or remove it`},
		},
		"TooMany": {
			reason: "A Track has at most 20 windows.",
			spec:   track(strings.TrimSuffix(strings.Repeat(`{kind: deny, schedule: "@daily", duration: 1h}, `, 21), ", ")),
			err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.windows has 21 windows, more than 20: merge windows whose schedules can share one"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr, err := ParseTrack("t", y(t, tc.spec))
			if diff := cmp.Diff(tc.err, err, cmpopts.EquateErrors()); diff != "" {
				t.Fatalf("%s\nParseTrack(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if err != nil {
				return
			}
			var got []parsed
			for _, w := range tr.Windows {
				got = append(got, parsed{Name: w.Window.Name, Deny: w.Window.Deny, Stations: w.Stations})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParseTrack(...).Windows: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestWindowsFor(t *testing.T) {
	tr, err := ParseTrack("t", y(t, `{repo: {url: https://git.example.com/u}, stations: [{name: dev, tracks: [x]}, {name: prod, tracks: [z]}],
		windows: [{name: a, kind: deny, schedule: "@daily", duration: 1h}, {name: b, kind: deny, schedule: "@daily", duration: 1h, stations: [prod]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for station, want := range map[string][]string{"dev": {`"a"`}, "prod": {`"a"`, `"b"`}} {
		var got []string
		for _, w := range tr.windowsFor(station) {
			got = append(got, w.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("windowsFor(%q): -want, +got:\n%s", station, diff)
		}
	}
}

func TestUntilText(t *testing.T) {
	cases := map[string]struct {
		t    time.Time
		want string
	}{
		"Minute":  {t: time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC), want: "2026-12-27T00:00Z"},
		"InUTC":   {t: time.Date(2026, 12, 27, 1, 30, 0, 0, time.FixedZone("CET", 3600)), want: "2026-12-27T00:30Z"},
		"Seconds": {t: time.Date(2026, 12, 27, 0, 0, 30, 0, time.UTC), want: "2026-12-27T00:00:30Z"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, untilText(tc.t)); diff != "" {
				t.Errorf("untilText(%v): -want, +got:\n%s", tc.t, diff)
			}
		})
	}
}

func TestProgressEvaluatesEachWindowOnce(t *testing.T) {
	// 100 stations, each with a change waiting at it, and 20 deny windows
	// that are open all the time, each opening as the last ends: every
	// window costs its search all its steps. Searched for each station, they
	// took one call a quarter of a second.
	var stations, windows []string
	for i := range maxStations {
		stations = append(stations, st(fmt.Sprintf("s%d", i)))
	}
	for range maxWindows {
		windows = append(windows, `{kind: deny, schedule: "0 * * * *", duration: 1h, timeZone: Europe/Berlin}`)
	}
	root, err := ParseTrack("t", obj(y(t, trackYAML("t", true, stations...)+"  windows: ["+strings.Join(windows, ", ")+"]\n"), "spec"))
	if err != nil {
		t.Fatal(err)
	}
	x, errs := Expand(root, nil)
	if !errs.None() {
		t.Fatal(errs)
	}
	// Each station verified a newer change than the one after it holds.
	o := observedIn{Subscription: &subIn{Newest: change("v9.0.0", time.Minute)}, Tickets: map[string]*ticketIn{}}
	for i := range maxStations {
		o.Tickets[fmt.Sprintf("s%d", i)] = verified(change(fmt.Sprintf("v1.%d.0", maxStations-i), time.Duration(i+2)*time.Hour), time.Hour)
	}

	p := newProgressor(x, o.typed(), now)
	got := p.progress(x)
	held := 0
	for _, s := range got.Stations {
		if s.HeldBy == HeldByWindow {
			held++
		}
	}
	if diff := cmp.Diff(maxStations, held); diff != "" {
		t.Errorf("stations held by a window: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(maxWindows, p.windows.Evaluated()); diff != "" {
		t.Errorf("windows searched: each once per call, not once per station: -want, +got:\n%s", diff)
	}
}

// TestRunFunctionBoundsWindowSteps composes a tree of 40 Tracks, each with
// 20 allow windows open all the time whose search spends all its steps: 800
// windows, a tenth of what a tree may have, once took a call some 50 ms
// of CPU. The stations whose windows were evaluated within the call's
// steps are open as ever; the stations of sections whose windows the steps
// did not reach are held, by a message that says why and what to change.
func TestRunFunctionBoundsWindowSteps(t *testing.T) {
	ws := make([]string, 0, maxWindows)
	for range maxWindows {
		ws = append(ws, `{kind: allow, schedule: "0 * * * *", duration: 1h, timeZone: Europe/Berlin}`)
	}
	req := benchTrackWindows(t, 200, 3, "["+strings.Join(ws, ", ")+"]")
	rsp, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	stations := rsp.GetDesired().GetComposite().GetResource().GetFields()["status"].GetStructValue().GetFields()["stations"].GetListValue().GetValues()
	held := map[string]int{}
	for _, s := range stations {
		f := s.GetStructValue().GetFields()
		switch msg := f["message"].GetStringValue(); {
		case msg == "":
			held["open"]++
		case strings.HasPrefix(msg, "outside allow window") && strings.Contains(msg, "until further notice: it was not evaluated") &&
			strings.HasSuffix(msg, "give fewer windows, or ones whose openings do not follow each other back to back for long"):
			held["not evaluated"]++
		default:
			t.Errorf("station %s: message %q", f["name"].GetStringValue(), msg)
		}
	}
	if held["open"] == 0 || held["not evaluated"] == 0 || held["open"]+held["not evaluated"] != 200 {
		t.Errorf("stations open, and held by windows not evaluated: want some of each, 200 in all, got %v", held)
	}
}
