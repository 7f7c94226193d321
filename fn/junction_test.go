package fn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// outline is an expansion as text: each stop's path and declaring Track,
// branches indented below their junction.
func outline(l Line, indent string) []string {
	var out []string
	for _, s := range l {
		out = append(out, indent+s.Path+" ("+s.Track.Name+")")
		for _, b := range s.Branches {
			out = append(out, outline(b, indent+"  ")...)
		}
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
		errs    []TrackError
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
			reason:   "A junction's branches are the sections' stations, paths through the junction station and the section.",
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
			want:     want{errs: []TrackError{{Reason: ReasonTooDeep, Message: "junctions nest deeper than 8 levels (root → c1 → c2 → c3 → c4 → c5 → c6 → c7 → c8 → c9): station j of Track c8 feeds Track c9; flatten the Tracks"}}},
		},
		"SelfCycle": {
			reason: "A Track feeding itself is a cycle.",
			root:   sec("", "{name: loop, tracks: [root]}"),
			want: want{outline: []string{"loop (root)"}, errs: []TrackError{{Reason: ReasonCycle,
				Message: "junction cycle root → root: station loop of Track root leads back to Track root; remove root from that station's tracks"}}},
		},
		"Diamond": {
			reason:   "A section fed by two junctions is no cycle, but its stations would write one rendered branch twice.",
			root:     sec("", "{name: a, tracks: [x]}", "{name: b, tracks: [x]}"),
			sections: map[string]string{"x": sec("", st("s"))},
			want: want{outline: []string{"a (root)", "  a.x.s (x)", "b (root)", "  b.x.s (x)"}, errs: []TrackError{{Reason: ReasonDuplicateBranch,
				Message: "stations a.x.s and b.x.s both write rendered branch env/s of " + repoURL + ": set branch on one of them"}}},
		},
		"InvalidSection": {
			reason:   "A section's own problems are reported with its name.",
			root:     sec("", "{name: a, tracks: [x]}"),
			sections: map[string]string{"x": sec("", "{name: s}")},
			want: want{outline: []string{"a (root)"}, errs: []TrackError{{Reason: ReasonInvalidTrack,
				Message: "Track x: spec.stations[0]: station s has neither applications nor tracks: give it one or both"}}},
		},
		"OtherRepository": {
			reason:   "A section must use its root Track's repository.",
			root:     sec("", "{name: a, tracks: [x]}"),
			sections: map[string]string{"x": "{repo: {url: https://elsewhere}, stations: [" + st("s") + "]}"},
			want: want{outline: []string{"a (root)"}, errs: []TrackError{{Reason: ReasonRepoMismatch,
				Message: "Track x is a section of Track root but names repository https://elsewhere instead of " + repoURL + ": a change is a commit of the root Track's repository; set spec.repo.url of Track x to " + repoURL}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root, err := ParseTrack("root", y(t, tc.root))
			if err != nil {
				t.Fatal(err)
			}
			x, errs := Expand(root, func(name string) (*structpb.Struct, bool) {
				s, ok := tc.sections[name]
				if !ok {
					return nil, false
				}
				return y(t, s), true
			})
			got := outline(x.Line, "")
			if name == "EightLevels" || name == "NineLevels" {
				// Only the depth matters here.
				got = nil
			}
			if diff := cmp.Diff(tc.want.outline, got); diff != "" {
				t.Errorf("%s\nExpand(...): -want outline, +got:\n%s", tc.reason, diff)
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
