package fn

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
)

// MaxDepth is how deep junctions may nest below the root Track.
const MaxDepth = 8

// A Stop is one station of the expanded Track tree.
type Stop struct {
	// Path is the station's path from the root Track: station names joined
	// by '.', through junctions including the junction station's name and
	// the section Track's name.
	Path string
	// Track is the Track that declares the station.
	Track *Track
	// Station is the station itself.
	Station *Station
	// Branches are the sections a junction station feeds, one per entry of
	// its tracks, in order.
	Branches []Line
}

// HasTicket reports whether the station delivers to Applications of its own.
func (s *Stop) HasTicket() bool { return len(s.Station.Applications) > 0 }

// A Line is a sequence of stations a change moves down in order.
type Line []*Stop

// An Expansion is a Track with its junctions expanded.
type Expansion struct {
	// Line is the root Track's stations.
	Line Line
	// Stops are all stations, depth first: a station, then its branches,
	// then the next station.
	Stops []*Stop
}

// HasJunctions reports whether any station of t feeds other Tracks.
func HasJunctions(t *Track) bool {
	for i := range t.Stations {
		if len(t.Stations[i].Tracks) > 0 {
			return true
		}
	}
	return false
}

// A SectionLookup returns the spec of the Track of that name in the root
// Track's namespace, and whether it exists.
type SectionLookup func(name string) (*structpb.Struct, bool)

// Expand expands root's junctions recursively, looking sections up with
// lookup. It returns every problem it finds rather than the first.
func Expand(root *Track, lookup SectionLookup) (*Expansion, []TrackError) {
	if lookup == nil {
		lookup = func(string) (*structpb.Struct, bool) { return nil, false }
	}
	e := &expander{root: root, lookup: lookup, parsed: map[string]*Track{}, seen: map[string]bool{}}
	x := &Expansion{}
	x.Line = e.line(root, "", []string{root.Name}, 0, &x.Stops)
	e.duplicates(x.Stops)
	return x, e.errs
}

type expander struct {
	root   *Track
	lookup SectionLookup
	parsed map[string]*Track
	errs   []TrackError
	seen   map[string]bool
}

func (e *expander) fail(reason, format string, a ...any) {
	m := fmt.Sprintf(format, a...)
	if e.seen[m] {
		return
	}
	e.seen[m] = true
	e.errs = append(e.errs, TrackError{Reason: reason, Message: m})
}

func (e *expander) line(t *Track, prefix string, stack []string, depth int, all *[]*Stop) Line {
	l := make(Line, 0, len(t.Stations))
	for i := range t.Stations {
		s := &t.Stations[i]
		stop := &Stop{Path: prefix + s.Name, Track: t, Station: s}
		l = append(l, stop)
		*all = append(*all, stop)
		for _, name := range s.Tracks {
			if sec := e.section(t, s, name, stack, depth+1); sec != nil {
				stop.Branches = append(stop.Branches, e.line(sec, stop.Path+"."+name+".", append(stack[:len(stack):len(stack)], name), depth+1, all))
			}
		}
	}
	return l
}

// section returns the section Track name that station s of Track t feeds, or
// nil if it cannot be expanded.
func (e *expander) section(t *Track, s *Station, name string, stack []string, depth int) *Track {
	for i, n := range stack {
		if n == name {
			loop := strings.Join(append(stack[i:len(stack):len(stack)], name), " → ")
			e.fail(ReasonCycle, "junction cycle %s: station %s of Track %s leads back to Track %s; remove %s from that station's tracks",
				loop, s.Name, t.Name, name, name)
			return nil
		}
	}
	if depth > MaxDepth {
		e.fail(ReasonTooDeep, "junctions nest deeper than %d levels (%s): station %s of Track %s feeds Track %s; flatten the Tracks",
			MaxDepth, strings.Join(append(stack[:len(stack):len(stack)], name), " → "), s.Name, t.Name, name)
		return nil
	}
	if sec, ok := e.parsed[name]; ok {
		return sec
	}
	spec, ok := e.lookup(name)
	if !ok {
		e.fail(ReasonMissingTrack, "station %s of Track %s feeds Track %s, which does not exist in this namespace: create it or remove it from the station's tracks",
			s.Name, t.Name, name)
		return nil
	}
	sec, err := ParseTrack(name, spec)
	if err != nil {
		te, _ := err.(TrackError) //nolint:errorlint // ParseTrack returns TrackErrors only.
		e.fail(te.Reason, "%s", te.Message)
		return nil
	}
	if sec.Subscriptions != nil {
		e.fail(ReasonSectionHasSubscriptions, "Track %s is a section (station %s of Track %s feeds it) but has subscriptions: a section is fed only by its junction; remove spec.subscriptions from Track %s",
			name, s.Name, t.Name, name)
		return nil
	}
	if sec.Repo.URL != e.root.Repo.URL {
		e.fail(ReasonRepoMismatch, "Track %s is a section of Track %s but names repository %s instead of %s: a change is a commit of the root Track's repository; set spec.repo.url of Track %s to %s",
			name, e.root.Name, sec.Repo.URL, e.root.Repo.URL, name, e.root.Repo.URL)
		return nil
	}
	e.parsed[name] = sec
	return sec
}

// duplicates reports stations that write one rendered branch.
func (e *expander) duplicates(stops []*Stop) {
	first := make(map[[2]string]string, len(stops))
	for _, s := range stops {
		if !s.HasTicket() {
			continue
		}
		k := [2]string{s.Track.Repo.URL, s.Station.Branch}
		if p, ok := first[k]; ok {
			e.fail(ReasonDuplicateBranch, "stations %s and %s both write rendered branch %s of %s: set branch on one of them",
				p, s.Path, s.Station.Branch, s.Track.Repo.URL)
			continue
		}
		first[k] = s.Path
	}
}
