package fn

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/fn/internal/window"
)

// The limits of spec.windows, as the XRD says.
const (
	maxWindows        = 20
	maxWindowStations = 100
)

// A TrackWindow is one of a Track's promotion windows and the stations it
// applies to.
type TrackWindow struct {
	// Window is the parsed window. Its Name is how messages name it: its
	// name quoted, or without one spec.windows[i], and of which Track for
	// a section's.
	Window *window.Window
	// Stations are the names of the Track's stations the window applies
	// to, a junction's sections included; none is every station.
	Stations []string
}

// parseWindows reads spec.windows of Track name, whose stations are
// stations, a section if section. A problem names the field to edit and
// the fix.
func parseWindows(name string, spec *structpb.Struct, stations []Station, section bool) ([]TrackWindow, error) {
	ws := list(spec, "windows")
	if len(ws) == 0 {
		return nil, nil
	}
	if len(ws) > maxWindows {
		return nil, errors.Errorf("spec.windows has %d windows, more than %d: merge windows whose schedules can share one", len(ws), maxWindows)
	}
	names := make(map[string]bool, len(stations))
	for i := range stations {
		names[stations[i].Name] = true
	}
	out := make([]TrackWindow, 0, len(ws))
	for i, v := range ws {
		s := v.GetStructValue()
		label := fmt.Sprintf("spec.windows[%d]", i)
		if section {
			label += " of Track " + name
		}
		if n := str(s, "name"); n != "" {
			label = strconv.Quote(quoted(n))
		}
		w, err := window.Parse(label, str(s, "kind"), str(s, "schedule"), str(s, "duration"), str(s, "timeZone"))
		if err != nil {
			var fe *window.FieldError
			if errors.As(err, &fe) {
				return nil, errors.Errorf("spec.windows[%d].%s", i, fe.Problem)
			}
			return nil, errors.Wrapf(err, "cannot parse spec.windows[%d]", i)
		}
		tw := TrackWindow{Window: w, Stations: strs(s, "stations")}
		if len(tw.Stations) > maxWindowStations {
			return nil, errors.Errorf("spec.windows[%d].stations names %d stations, more than %d: leave it out to apply the window to every station",
				i, len(tw.Stations), maxWindowStations)
		}
		for j, st := range tw.Stations {
			if !names[st] {
				return nil, errors.Errorf("spec.windows[%d].stations[%d] names station %q, which Track %s does not have: name one of its spec.stations (a junction's name covers its sections), or remove it",
					i, j, quoted(st), name)
			}
		}
		out = append(out, tw)
	}
	return out, nil
}

// windowsFor are the windows of t that apply to its station of that name.
func (t *Track) windowsFor(station string) []*window.Window {
	if len(t.Windows) == 0 {
		return nil
	}
	var out []*window.Window
	for i := range t.Windows {
		w := &t.Windows[i]
		if len(w.Stations) == 0 {
			out = append(out, w.Window)
			continue
		}
		for _, s := range w.Stations {
			if s == station {
				out = append(out, w.Window)
				break
			}
		}
	}
	return out
}

// windowBarrier is what holds a new change back from a station that the
// windows of levels apply to, one level a Track (the root Track's first,
// then each section's down to the station's own): a change enters only
// when each level lets it. nil when they all do.
//
// A window applies to many stations, and a Track of MaxStops stations may
// have a change waiting at each: every window is evaluated once per call,
// all of them within the Evaluator's bound on steps.
func (p *progressor) windowBarrier(path string, levels [][]*window.Window) *barrier {
	if len(levels) > 0 && p.windows == nil {
		p.windows = window.NewEvaluator(p.now)
	}
	for _, ws := range levels {
		open, by, until := p.windows.Gate(ws)
		if open {
			continue
		}
		b := &barrier{by: HeldByWindow, words: windowWords(by, until, p.windows.Unknown(by)), at: path, until: until}
		// Come back when the answer may change: a window of any level
		// opening or closing.
		for _, ws := range levels {
			if next := p.windows.Next(ws); !next.IsZero() && (b.recheck.IsZero() || next.Before(b.recheck)) {
				b.recheck = next
			}
		}
		return b
	}
	return nil
}

// windowWords says which window holds a change back, and until when; if
// unknown, that the window was not evaluated, and the fix.
func windowWords(by *window.Window, until time.Time, unknown bool) string {
	kind := "outside allow window"
	if by.Deny {
		kind = "deny window"
	}
	if unknown {
		return fmt.Sprintf("%s %s until further notice: it was not evaluated, the windows of this Track and its sections took more steps than one call spends on them; give fewer windows, or ones whose openings do not follow each other back to back for long", kind, by.Name)
	}
	if until.IsZero() {
		return fmt.Sprintf("%s %s until further notice", kind, by.Name)
	}
	return fmt.Sprintf("%s %s until %s", kind, by.Name, untilText(until))
}

// untilText is t as messages show it: to the minute, as windows open and
// close, unless it has seconds.
func untilText(t time.Time) string {
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04Z07:00")
	}
	return t.Format(time.RFC3339)
}
