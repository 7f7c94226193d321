package fn

import (
	"fmt"
	"strings"
)

// MaxDepth is how deep junctions may nest below the root Track.
const MaxDepth = 8

// MaxStops is how many stations one Track may expand to, its own and those of
// every section its junctions feed, junction stations included. One function
// serves every Track of a control plane: the limit bounds what one Track
// costs it, and a Track past it is refused with a Valid=False condition. The
// XRD's maxItems (100 stations, 20 tracks a station) let one Track name far
// more; this is the limit that holds for the whole tree.
const MaxStops = 500

// A Stop is one station of the expanded Track tree.
type Stop struct {
	// Path is the station's path from the root Track: station names joined
	// by '.', through junctions including the junction station's name and
	// the section Track's name.
	Path string
	// Track is the Track that declares the station.
	Track *Track
	// Index is the station's index in its Track's spec.stations.
	Index int
	// Station is the station itself.
	Station *Station
	// Sections are the lines of the section Tracks a junction station
	// feeds, one per entry of its tracks, in order.
	Sections []Line
}

// HasTicket reports whether the station delivers to Applications of its own.
func (s *Stop) HasTicket() bool { return len(s.Station.Applications) > 0 }

// A Line is a sequence of stations a change moves down in order.
type Line []*Stop

// An Expansion is a Track with its junctions expanded.
type Expansion struct {
	// Line is the root Track's stations.
	Line Line
	// Stops are all stations, depth first: a station, then its sections,
	// then the next station.
	Stops []*Stop
}

// root is the root Track, nil when it has no station.
func (x *Expansion) root() *Track {
	if len(x.Line) == 0 {
		return nil
	}
	return x.Line[0].Track
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

// A SectionLookup returns the Track of that name in the root Track's
// namespace as ParseTrack parsed its spec (err is why it could not), and
// whether it exists. requireSections parses each section once, to find the
// sections it names, and Expand takes what it parsed.
type SectionLookup func(name string) (t *Track, ok bool, err error)

// Expand expands root's junctions recursively, looking sections up with
// lookup. It reports the first problems it finds and counts the rest.
//
// Its cost is linear in the stations it composes and bounded by MaxStops,
// whatever the Tracks' fan-out: each section is expanded at most once (a
// section fed by a second junction is a problem, found before it is expanded
// again), every stop is checked for a duplicate rendered branch as it is
// added, and expansion stops at the first stop past MaxStops.
func Expand(root *Track, lookup SectionLookup) (*Expansion, Problems) {
	if lookup == nil {
		lookup = func(string) (*Track, bool, error) { return nil, false, nil }
	}
	e := &expander{root: root, lookup: lookup, fedBy: map[string]string{}, rendered: map[string]string{}}
	x := &Expansion{}
	x.Line = e.line(root, "", []string{root.Name}, 0, &x.Stops)
	if e.full {
		// The limit comes first: the problems found are only those of the
		// stations expanded before it.
		e.problems.First = append([]TrackError{{Reason: ReasonTooManyStations, Message: fmt.Sprintf(
			"Track %s expands to more than %d stations, junction sections included (%s is the first past the limit): feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own",
			root.Name, MaxStops, e.pastLimit)}}, e.problems.First...)
		if len(e.problems.First) > maxProblems {
			e.problems.First = e.problems.First[:maxProblems]
			e.problems.More++
		}
	}
	return x, e.problems
}

type expander struct {
	root     *Track
	lookup   SectionLookup
	problems Problems
	// fedBy is the path of the junction station that feeds each section.
	fedBy map[string]string
	// rendered is the path of the station that writes each rendered branch.
	rendered map[string]string
	// full is true once the Track has more than MaxStops stations, and
	// pastLimit is the path of the first station past it.
	full      bool
	pastLimit string
}

// fail records a problem. Past the first few it only counts it: a Track
// tree can have thousands.
func (e *expander) fail(reason, format string, a ...any) {
	if len(e.problems.First) == maxProblems {
		e.problems.More++
		return
	}
	e.problems.add(TrackError{Reason: reason, Message: fmt.Sprintf(format, a...)})
}

func (e *expander) line(t *Track, prefix string, stack []string, depth int, all *[]*Stop) Line {
	l := make(Line, 0, len(t.Stations))
	for i := range t.Stations {
		s := &t.Stations[i]
		stop := &Stop{Path: prefix + s.Name, Track: t, Index: i, Station: s}
		if !e.add(stop, i, all) {
			return l
		}
		l = append(l, stop)
		for _, name := range s.Tracks {
			if p, ok := e.fedBy[name]; ok {
				e.fail(ReasonSharedSection, "Track %s is fed by two junctions, %s and %s: a section has one junction, or its stations would write their rendered branches twice; remove %s from the tracks of one of them",
					name, p, stop.Path, name)
				continue
			}
			e.fedBy[name] = stop.Path
			if sec := e.section(t, s, name, stack, depth+1); sec != nil {
				b := e.line(sec, stop.Path+"."+name+".", append(stack[:len(stack):len(stack)], name), depth+1, all)
				stop.Sections = append(stop.Sections, b)
			}
			if e.full {
				return l
			}
		}
	}
	return l
}

// add adds stop, station i of its Track, to all unless the Track already
// has MaxStops stations, and checks its rendered branch.
func (e *expander) add(stop *Stop, i int, all *[]*Stop) bool {
	if len(*all) == MaxStops {
		e.full, e.pastLimit = true, stop.Path
		return false
	}
	*all = append(*all, stop)
	s := stop.Station
	if stop.Track != e.root && s.Branch == e.root.Repo.SourceBranch {
		// A section's own source branch is checked when it is parsed; a
		// change is a commit of the root Track's.
		e.fail(ReasonBranchIsSource, "station %s writes rendered branch %s, the source branch of Track %s: publishing replaces a branch's whole tree; set spec.stations[%d].branch of Track %s to another branch",
			stop.Path, s.Branch, e.root.Name, i, stop.Track.Name)
	}
	if !stop.HasTicket() {
		return true
	}
	if p, ok := e.rendered[s.Branch]; ok {
		e.fail(ReasonDuplicateBranch, "stations %s and %s both write rendered branch %s of %s: set branch on one of them",
			p, stop.Path, s.Branch, e.root.Repo.URL)
		return true
	}
	e.rendered[s.Branch] = stop.Path
	return true
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
	sec, ok, err := e.lookup(name)
	if !ok {
		e.fail(ReasonMissingTrack, "station %s of Track %s feeds Track %s, which does not exist in this namespace: create it or remove it from the station's tracks",
			s.Name, t.Name, name)
		return nil
	}
	if err != nil {
		te := asTrackError(err)
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
	return sec
}
