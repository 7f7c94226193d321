package fn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// outline is an expansion as text: each stop's path and declaring Track,
// sections indented below their junction.
func outline(l Line, indent string) []string {
	var out []string
	for _, s := range l {
		out = append(out, indent+s.Path+" ("+s.Track.Name+")")
		for _, b := range s.Sections {
			out = append(out, outline(b, indent+"  ")...)
		}
	}
	return out
}

// stations are n stations with Applications named <prefix>-s<i>.
func stations(prefix string, n int) []string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, st(fmt.Sprintf("%s-s%d", prefix, i)))
	}
	return out
}

// names are <prefix>0 to <prefix><n-1>, comma-separated.
func names(prefix string, n int) string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return strings.Join(out, ", ")
}

// sectionsOf are the specs of n sections <prefix><i>, each with m stations.
func sectionsOf(prefix string, n, m int) map[string]string {
	out := make(map[string]string, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		out[name] = fmt.Sprintf("{repo: {url: %s}, stations: [%s]}", repoURL, strings.Join(stations(name, m), ", "))
	}
	return out
}

func TestExpand(t *testing.T) {
	sec := func(name string, stations ...string) string {
		return fmt.Sprintf("{repo: {url: %s}, stations: [%s]}", repoURL, strings.Join(stations, ", "))
	}
	// chain is a chain of sections c1 → c2 → ... → cn.
	chain := func(n int) map[string]string {
		m := map[string]string{}
		for i := 1; i <= n; i++ {
			next := ""
			if i < n {
				next = fmt.Sprintf(", {name: j, tracks: [c%d]}", i+1)
			}
			m[fmt.Sprintf("c%d", i)] = sec("", fmt.Sprintf("{name: s, overlay: o, branch: b%d, applications: [{name: a}]}%s", i, next))
		}
		return m
	}
	type want struct {
		outline []string
		// stops, when set, is how many stations the expansion has; the
		// outline is not compared then.
		stops int
		errs  Problems
	}
	cases := map[string]struct {
		reason   string
		root     string
		sections map[string]string
		want     want
	}{
		"Linear": {
			reason: "A Track without junctions is its stations.",
			root:   sec("", st("dev"), st("prod")),
			want:   want{outline: []string{"dev (root)", "prod (root)"}},
		},
		"Junction": {
			reason:   "A junction's sections are the section Tracks' stations, paths through the junction station and the section.",
			root:     sec("", st("dev"), "{name: regions, tracks: [us, eu]}", st("after")),
			sections: map[string]string{"us": sec("", st("us-prod")), "eu": sec("", st("eu-staging"), st("eu-prod"))},
			want:     want{outline: []string{"dev (root)", "regions (root)", "  regions.us.us-prod (us)", "  regions.eu.eu-staging (eu)", "  regions.eu.eu-prod (eu)", "after (root)"}},
		},
		"Nested": {
			reason:   "Junctions nest.",
			root:     sec("", st("dev"), "{name: j, tracks: [c1]}"),
			sections: chain(3),
			want:     want{outline: []string{"dev (root)", "j (root)", "  j.c1.s (c1)", "  j.c1.j (c1)", "    j.c1.j.c2.s (c2)", "    j.c1.j.c2.j (c2)", "      j.c1.j.c2.j.c3.s (c3)"}},
		},
		"EightLevels": {
			reason:   "Junctions may nest 8 levels deep.",
			root:     sec("", "{name: j, tracks: [c1]}"),
			sections: chain(8),
			want:     want{outline: nil},
		},
		"NineLevels": {
			reason:   "Nine levels are too deep.",
			root:     sec("", "{name: j, tracks: [c1]}"),
			sections: chain(9),
			want:     want{errs: Problems{First: []TrackError{{Reason: ReasonTooDeep, Message: "junctions nest deeper than 8 levels (root → c1 → c2 → c3 → c4 → c5 → c6 → c7 → c8 → c9): station j of Track c8 feeds Track c9; flatten the Tracks"}}}},
		},
		"SelfCycle": {
			reason: "A Track feeding itself is a cycle.",
			root:   sec("", "{name: loop, tracks: [root]}"),
			want: want{outline: []string{"loop (root)"}, errs: Problems{First: []TrackError{{Reason: ReasonCycle,
				Message: "junction cycle root → root: station loop of Track root leads back to Track root; remove root from that station's tracks"}}}},
		},
		"Diamond": {
			reason:   "A section fed by two junctions is no cycle, but its stations would write their rendered branches twice: the second junction is refused before the section is expanded again.",
			root:     sec("", "{name: a, tracks: [x]}", "{name: b, tracks: [x]}"),
			sections: map[string]string{"x": sec("", st("s"))},
			want: want{outline: []string{"a (root)", "  a.x.s (x)", "b (root)"}, errs: Problems{First: []TrackError{{Reason: ReasonSharedSection,
				Message: "Track x is fed by two junctions, a and b: a section has one junction, or its stations would write their rendered branches twice; remove x from the tracks of one of them"}}}},
		},
		"SharedAtOneLevel": {
			reason:   "A section named by several junctions at one level, and twice by one junction, is expanded once; each further junction is named.",
			root:     sec("", "{name: a, tracks: [x, z]}", "{name: b, tracks: [x]}", "{name: c, tracks: [z, x, x]}"),
			sections: map[string]string{"x": sec("", st("xs")), "z": sec("", st("zs"))},
			want: want{outline: []string{"a (root)", "  a.x.xs (x)", "  a.z.zs (z)", "b (root)", "c (root)"}, errs: Problems{First: []TrackError{
				{Reason: ReasonSharedSection, Message: "Track x is fed by two junctions, a and b: a section has one junction, or its stations would write their rendered branches twice; remove x from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track z is fed by two junctions, a and c: a section has one junction, or its stations would write their rendered branches twice; remove z from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track x is fed by two junctions, a and c: a section has one junction, or its stations would write their rendered branches twice; remove x from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track x is fed by two junctions, a and c: a section has one junction, or its stations would write their rendered branches twice; remove x from the tracks of one of them"},
			}}},
		},
		"DuplicateBranch": {
			reason:   "Two stations of different Tracks that set one rendered branch are named.",
			root:     sec("", st("dev", "branch: env/shared"), "{name: j, tracks: [x]}"),
			sections: map[string]string{"x": sec("", st("prod", "branch: env/shared"))},
			want: want{outline: []string{"dev (root)", "j (root)", "  j.x.prod (x)"}, errs: Problems{First: []TrackError{{Reason: ReasonDuplicateBranch,
				Message: "stations dev and j.x.prod both write rendered branch env/shared of " + repoURL + ": set branch on one of them"}}}},
		},
		"SectionWritesSourceBranch": {
			reason:   "A section's station may not write the root Track's source branch, though it is not the section's own.",
			root:     "{repo: {url: " + repoURL + ", sourceBranch: trunk}, stations: [{name: j, tracks: [x]}]}",
			sections: map[string]string{"x": sec("", st("dev"), st("prod", "branch: trunk"))},
			want: want{outline: []string{"j (root)", "  j.x.dev (x)", "  j.x.prod (x)"}, errs: Problems{First: []TrackError{{Reason: ReasonBranchIsSource,
				Message: "station j.x.prod writes rendered branch trunk, the source branch of Track root: publishing replaces a branch's whole tree; set spec.stations[1].branch of Track x to another branch"}}}},
		},
		"AtTheLimit": {
			reason:   "A Track of exactly MaxStops stations, junction sections included, expands.",
			root:     sec("", append(stations("r", 19), "{name: j, tracks: ["+names("x", 20)+"]}")...),
			sections: sectionsOf("x", 20, 24),
			want:     want{stops: MaxStops},
		},
		"PastTheLimit": {
			reason:   "One station more is refused, naming the first station past the limit; expansion stops there.",
			root:     sec("", append(stations("r", 20), "{name: j, tracks: ["+names("x", 20)+"]}")...),
			sections: sectionsOf("x", 20, 24),
			want: want{stops: MaxStops, errs: Problems{First: []TrackError{{Reason: ReasonTooManyStations,
				Message: "Track root expands to more than 500 stations, junction sections included (j.x19.x19-s23 is the first past the limit): feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own"}}}},
		},
		"FanOut": {
			// Depth first: j0 feeds l1-0 to l1-19; l1-0's 20 junctions feed
			// l2-0 to l2-19 (the first 400 leaf stations), and its other 19
			// junctions are refused for feeding them again (380); l1-1 to
			// l1-3 add 20 stations and 400 refusals each, l1-4 19 and 380:
			// 500 stations, 1960 refusals, 1961 problems with the limit.
			reason: "The Track of issue 9 (20 junction stations feeding 20 sections, two levels: 3.2 M stations expanded in full) is refused at the limit, " +
				"with the limit first and the problems counted past five.",
			root:     fanOutSpec(20, 2),
			sections: fanOutSections(20, 2),
			want: want{stops: MaxStops, errs: Problems{More: 1956, First: []TrackError{
				{Reason: ReasonTooManyStations, Message: "Track root expands to more than 500 stations, junction sections included (j0.l1-4.j19 is the first past the limit): feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own"},
				{Reason: ReasonSharedSection, Message: "Track l2-0 is fed by two junctions, j0.l1-0.j0 and j0.l1-0.j1: a section has one junction, or its stations would write their rendered branches twice; remove l2-0 from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track l2-1 is fed by two junctions, j0.l1-0.j0 and j0.l1-0.j1: a section has one junction, or its stations would write their rendered branches twice; remove l2-1 from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track l2-2 is fed by two junctions, j0.l1-0.j0 and j0.l1-0.j1: a section has one junction, or its stations would write their rendered branches twice; remove l2-2 from the tracks of one of them"},
				{Reason: ReasonSharedSection, Message: "Track l2-3 is fed by two junctions, j0.l1-0.j0 and j0.l1-0.j1: a section has one junction, or its stations would write their rendered branches twice; remove l2-3 from the tracks of one of them"},
			}}},
		},
		"InvalidSection": {
			reason:   "A section's own problems are reported with its name.",
			root:     sec("", "{name: a, tracks: [x]}"),
			sections: map[string]string{"x": sec("", "{name: s}")},
			want: want{outline: []string{"a (root)"}, errs: Problems{First: []TrackError{{Reason: ReasonInvalidTrack,
				Message: "Track x: spec.stations[0]: station s has neither applications nor tracks: give it one or both"}}}},
		},
		"OtherRepository": {
			reason:   "A section must use its root Track's repository.",
			root:     sec("", "{name: a, tracks: [x]}"),
			sections: map[string]string{"x": "{repo: {url: https://elsewhere}, stations: [" + st("s") + "]}"},
			want: want{outline: []string{"a (root)"}, errs: Problems{First: []TrackError{{Reason: ReasonRepoMismatch,
				Message: "Track x is a section of Track root but names repository https://elsewhere instead of " + repoURL + ": a change is a commit of the root Track's repository; set spec.repo.url of Track x to " + repoURL}}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, err := ParseTrack("root", y(t, tc.root))
			if err != nil {
				t.Fatal(err)
			}
			x, errs := Expand(root, specLookup(func(name string) (*structpb.Struct, bool) {
				s, ok := tc.sections[name]
				if !ok {
					return nil, false
				}
				return y(t, s), true
			}))
			switch got := outline(x.Line, ""); {
			case tc.want.stops != 0:
				if len(x.Stops) != tc.want.stops {
					t.Errorf("%s\nExpand(...): want %d stations, got %d", tc.reason, tc.want.stops, len(x.Stops))
				}
			case name == "EightLevels" || name == "NineLevels":
				// Only the depth matters here.
			default:
				if diff := cmp.Diff(tc.want.outline, got); diff != "" {
					t.Errorf("%s\nExpand(...): -want outline, +got:\n%s", tc.reason, diff)
				}
			}
			if diff := cmp.Diff(tc.want.errs, errs); diff != "" {
				t.Errorf("%s\nExpand(...): -want errors, +got:\n%s", tc.reason, diff)
			}
			if len(x.Stops) != len(outline(x.Line, "")) {
				t.Errorf("Expand(...): %d Stops, %d stations in the tree", len(x.Stops), len(outline(x.Line, "")))
			}
		})
	}
}
