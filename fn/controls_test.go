package fn

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

var controlMeta = func(kind, name string) (metav1.TypeMeta, metav1.ObjectMeta) {
	return metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: kind}, metav1.ObjectMeta{Name: name, Namespace: "team-a"}
}

// approvalOf is an Approval of change for station of Track guestbook.
func approvalOf(name, station, change string) *v1alpha1.Approval {
	tm, om := controlMeta("Approval", name)
	return &v1alpha1.Approval{TypeMeta: tm, ObjectMeta: om, Spec: v1alpha1.ApprovalSpec{Track: "guestbook", Station: station, Change: change, By: "carol"}}
}

// freezeOf is a Freeze of stations (none: all) of Track guestbook by alice.
func freezeOf(name, reason string, stations ...string) *v1alpha1.Freeze {
	tm, om := controlMeta("Freeze", name)
	return &v1alpha1.Freeze{TypeMeta: tm, ObjectMeta: om, Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: stations, Reason: reason, By: "alice"}}
}

// pinOf is a Pin of station of Track guestbook at change by bob.
func pinOf(name, station, change string) *v1alpha1.Pin {
	tm, om := controlMeta("Pin", name)
	return &v1alpha1.Pin{TypeMeta: tm, ObjectMeta: om, Spec: v1alpha1.PinSpec{Track: "guestbook", Station: station, Change: change, By: "bob"}}
}

func TestRequireControls(t *testing.T) {
	A, B := changeA, changeB
	otherTrack := approvalOf("payments-prod", "prod", A.ID)
	otherTrack.Spec.Track = "payments"
	otherNamespace := freezeOf("guestbook", "")
	otherNamespace.Namespace = "team-b"
	manyApprovals := make([]any, 0, MaxControls+2)
	for i := 0; i < MaxControls+2; i++ {
		// Named so that the last two by name approve B.
		c := A.ID
		if i >= MaxControls {
			c = B.ID
		}
		manyApprovals = append(manyApprovals, approvalOf(fmt.Sprintf("a-%04d", i), "prod", c))
	}
	type want struct {
		controls Controls
		pending  bool
		warnings []string
	}
	cases := map[string]struct {
		reason   string
		required map[string]*fnv1.Resources
		want     want
	}{
		"NotFetched": {
			reason: "Before Crossplane fetched them, the controls are pending.",
			want:   want{pending: true},
		},
		"PartlyFetched": {
			reason:   "All three kinds must have been fetched.",
			required: map[string]*fnv1.Resources{RequirementApprovals: {}, RequirementPins: {}},
			want:     want{pending: true},
		},
		"None": {
			reason:   "Fetched, and none: nothing holds the Track.",
			required: withControls(t, nil),
		},
		"TheTracksOwn": {
			reason: "Only the controls of this Track in its namespace count: another Track's Approval and another namespace's Freeze of a Track of the same name are ignored.",
			required: withControls(t, nil, approvalOf("guestbook-prod", "prod", A.ID), approvalOf("guestbook-prod-b", "prod", B.ID), otherTrack,
				freezeOf("guestbook-z", "", "dev"), freezeOf("guestbook-a", "end of quarter"), otherNamespace,
				pinOf("guestbook-prod", "prod", A.ID), pinOf("guestbook-prod-2", "prod", B.ID), pinOf("guestbook-bad", "dev", "latest")),
			want: want{controls: Controls{
				Approvals: map[string]map[string]bool{"prod": {A.ID: true, B.ID: true}},
				Freezes:   []Freeze{{Name: "guestbook-a", By: "alice", Reason: "end of quarter"}, {Name: "guestbook-z", By: "alice", Stations: []string{"dev"}}},
				Pins:      map[string]*Pin{"prod": {Change: A.ID, Object: "guestbook-prod", By: "bob"}},
			}},
		},
		"Bounded": {
			reason:   "Past MaxControls of a kind, the first by name count and a warning says how many were ignored.",
			required: withControls(t, nil, manyApprovals...),
			want: want{
				controls: Controls{Approvals: map[string]map[string]bool{"prod": {A.ID: true}}},
				warnings: []string{"Track guestbook has 1002 Approvals, more than 1000: the function considers the first 1000 by name and ignores 2; delete those no longer needed"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rq := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{}}
			c, pending, warnings := requireControls(&fnv1.RunFunctionRequest{RequiredResources: tc.required}, rq, "guestbook", "team-a")
			if diff := cmp.Diff(tc.want, want{controls: c, pending: pending, warnings: warnings}, cmp.AllowUnexported(want{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nrequireControls(...): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(requiringControls(nil), rq, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nrequireControls(...) requirements: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFrozen(t *testing.T) {
	c := Controls{Freezes: []Freeze{{Name: "b", Stations: []string{"dev", "regions.us"}}, {Name: "a", Stations: []string{"prod", "regions"}}}}
	cases := map[string]struct {
		path string
		want string // the Freeze's name, "" for none
	}{
		"Station":           {path: "prod", want: "a"},
		"SecondFreeze":      {path: "dev", want: "b"},
		"Junction":          {path: "regions", want: "a"},
		"SectionStation":    {path: "regions.us.us-prod", want: "a"},
		"NotFrozen":         {path: "int", want: ""},
		"SameNamePrefix":    {path: "production", want: ""},
		"JunctionLookalike": {path: "regions-2.us.x", want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ""
			if f := (&progressor{o: Observed{Controls: c}}).frozen(tc.path); f != nil {
				got = f.Name
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("frozen(%q): -want, +got:\n%s", tc.path, diff)
			}
		})
	}
	// A Freeze of the whole Track covers every station; of two that cover
	// one, the first by name says why.
	whole := &progressor{o: Observed{Controls: Controls{Freezes: []Freeze{{Name: "b", Stations: []string{"regions"}}, {Name: "z"}}}}}
	got := map[string]string{}
	for _, path := range []string{"int", "regions.us.us-prod"} {
		if f := whole.frozen(path); f != nil {
			got[path] = f.Name
		}
	}
	if diff := cmp.Diff(map[string]string{"int": "z", "regions.us.us-prod": "b"}, got); diff != "" {
		t.Errorf("frozen(...) with a Freeze of the whole Track: -want, +got:\n%s", diff)
	}
}

func TestControlsUnknown(t *testing.T) {
	root, err := ParseTrack("guestbook", obj(y(t, trackYAML("guestbook", true, st("dev"), "{name: regions, tracks: [us]}")), "spec"))
	if err != nil {
		t.Fatal(err)
	}
	x, problems := Expand(root, specLookup(func(string) (*structpb.Struct, bool) {
		return obj(y(t, trackYAML("us", false, st("us-prod"))), "spec"), true
	}))
	if !problems.None() {
		t.Fatal(problems)
	}
	many := Controls{}
	for i := 0; i < 7; i++ {
		many.Freezes = append(many.Freezes, Freeze{Name: fmt.Sprintf("f%d", i), Stations: []string{"qa"}})
	}
	cases := map[string]struct {
		reason string
		c      Controls
		want   string
	}{
		"None": {reason: "No controls, nothing to say."},
		"AllKnown": {
			reason: "Stations, junctions and the prefix of a section's stations are known.",
			c: Controls{Freezes: []Freeze{{Name: "f", Stations: []string{"dev", "regions", "regions.us", "regions.us.us-prod"}}},
				Pins: map[string]*Pin{"regions.us.us-prod": {Change: changeA.ID, Object: "p"}}},
		},
		"Unknown": {
			reason: "A Freeze or Pin that names no station of the Track holds nothing, and the warning says so and what to name.",
			c: Controls{Freezes: []Freeze{{Name: "f", Stations: []string{"dev", "prod"}}},
				Pins: map[string]*Pin{"us-prod": {Change: changeA.ID, Object: "guestbook-us-prod"}, "dev": {Change: changeA.ID, Object: "guestbook-dev"}}},
			want: "Freeze f names station prod; Pin guestbook-us-prod names station us-prod, which Track guestbook does not have, and hold nothing: name a station as status.stations[].path shows it, or a junction",
		},
		"Many": {
			reason: "Past five, the warning counts the rest.",
			c:      many,
			want:   "Freeze f0 names station qa; Freeze f1 names station qa; Freeze f2 names station qa; Freeze f3 names station qa; Freeze f4 names station qa; and 2 more, which Track guestbook does not have, and hold nothing: name a station as status.stations[].path shows it, or a junction",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.c.Unknown("guestbook", x)); diff != "" {
				t.Errorf("%s\nUnknown(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestControlsUnknownPastTheCap checks that a Track's tenants, who create
// its Freezes and Pins, cannot make Unknown put every unknown station in
// words: MaxControls Freezes of 100 unknown stations each are all counted,
// the Pins after them too, but only the first maxUnknownNamed are
// formatted, so the allocations of a call do not grow with them.
func TestControlsUnknownPastTheCap(t *testing.T) {
	root, err := ParseTrack("guestbook", obj(y(t, trackYAML("guestbook", true, st("dev"))), "spec"))
	if err != nil {
		t.Fatal(err)
	}
	x, problems := Expand(root, specLookup(func(string) (*structpb.Struct, bool) { return nil, false }))
	if !problems.None() {
		t.Fatal(problems)
	}
	stations := make([]string, 100)
	for i := range stations {
		stations[i] = fmt.Sprintf("qa-%02d", i)
	}
	c := Controls{Pins: map[string]*Pin{"us-prod": {Change: changeA.ID, Object: "p"}, "eu-prod": {Change: changeA.ID, Object: "q"}}}
	for i := 0; i < MaxControls; i++ {
		c.Freezes = append(c.Freezes, Freeze{Name: fmt.Sprintf("f%04d", i), Stations: stations})
	}
	want := "Freeze f0000 names station qa-00; Freeze f0000 names station qa-01; Freeze f0000 names station qa-02; " +
		"Freeze f0000 names station qa-03; Freeze f0000 names station qa-04; and 99997 more, which Track guestbook does not have, " +
		"and hold nothing: name a station as status.stations[].path shows it, or a junction"
	if diff := cmp.Diff(want, c.Unknown("guestbook", x)); diff != "" {
		t.Errorf("Unknown(...) with %d unknown stations: -want, +got:\n%s", MaxControls*len(stations)+len(c.Pins), diff)
	}
	// What a call allocates is the Track's maps and the five named; each
	// unknown station formatted would be one allocation or more.
	const most = 100
	if allocs := testing.AllocsPerRun(3, func() { c.Unknown("guestbook", x) }); allocs > most {
		t.Errorf("Unknown(...) with %d unknown stations: %.0f allocations, want at most %d", MaxControls*len(stations)+len(c.Pins), allocs, most)
	}
}
