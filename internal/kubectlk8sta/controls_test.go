package kubectlk8sta

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A control is an Approval, Freeze or Pin as the tests compare them.
type control struct {
	Kind, Name string
	Labels     map[string]string
	Track      string
	Station    string   // Approval, Pin
	Stations   []string // Freeze
	Change     string   // Approval, Pin
	Reason     string   // Freeze, Pin
	By         string
}

// controlsIn lists the controls of namespace ns.
func controlsIn(t *testing.T, ns string) []control {
	t.Helper()
	ctx := context.Background()
	c := as(t, "k8sta-test-admin")
	var out []control
	al := &v1alpha1.ApprovalList{}
	fl := &v1alpha1.FreezeList{}
	pl := &v1alpha1.PinList{}
	for _, l := range []client.ObjectList{al, fl, pl} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range al.Items {
		out = append(out, control{Kind: "Approval", Name: a.Name, Labels: a.Labels, Track: a.Spec.Track, Station: a.Spec.Station, Change: a.Spec.Change, By: a.Spec.By})
	}
	for _, f := range fl.Items {
		out = append(out, control{Kind: "Freeze", Name: f.Name, Labels: f.Labels, Track: f.Spec.Track, Stations: f.Spec.Stations, Reason: f.Spec.Reason, By: f.Spec.By})
	}
	for _, p := range pl.Items {
		out = append(out, control{Kind: "Pin", Name: p.Name, Labels: p.Labels, Track: p.Spec.Track, Station: p.Spec.Station, Change: p.Spec.Change, Reason: p.Spec.Reason, By: p.Spec.By})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+"/"+out[i].Name < out[j].Kind+"/"+out[j].Name })
	return out
}

// put creates a control in ns as its spec.by says (the admission policy
// wants that), as someone other than kubectl k8sta would.
func put(t *testing.T, ns string, o client.Object) {
	t.Helper()
	by := ""
	switch c := o.(type) {
	case *v1alpha1.Approval:
		by = c.Spec.By
	case *v1alpha1.Freeze:
		by = c.Spec.By
	case *v1alpha1.Pin:
		by = c.Spec.By
	}
	o.SetNamespace(ns)
	if err := as(t, by).Create(context.Background(), o); err != nil {
		t.Fatalf("cannot create %s: %v", o.GetName(), err)
	}
}

// setStation changes the status of the station at path of Track track.
func setStation(t *testing.T, ns, track, path string, set func(map[string]any)) {
	t.Helper()
	ctx := context.Background()
	c := as(t, "k8sta-test-admin")
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(TrackGroupVersionKind)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: track}, u); err != nil {
		t.Fatal(err)
	}
	stations, _, _ := unstructured.NestedSlice(u.Object, "status", "stations")
	for _, s := range stations {
		if m := s.(map[string]any); m["path"] == path {
			set(m)
		}
	}
	if err := unstructured.SetNestedSlice(u.Object, stations, "status", "stations"); err != nil {
		t.Fatal(err)
	}
	if err := c.Status().Update(ctx, u); err != nil {
		t.Fatal(err)
	}
}

// specPin pins station of Track track to change in the Track's spec, as
// its repository would.
func specPin(t *testing.T, ns, track, station, change string) {
	t.Helper()
	ctx := context.Background()
	c := as(t, "k8sta-test-admin")
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(TrackGroupVersionKind)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: track}, u); err != nil {
		t.Fatal(err)
	}
	stations, _, _ := unstructured.NestedSlice(u.Object, "spec", "stations")
	for _, s := range stations {
		if m := s.(map[string]any); m["name"] == station {
			m["pin"] = change
		}
	}
	if err := unstructured.SetNestedSlice(u.Object, stations, "spec", "stations"); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
}

func labels(track string) map[string]string { return map[string]string{LabelTrack: track} }

// A controlCase runs kubectl k8sta as alice on the linear and the junction
// Track, in a namespace of its own, after setup, and compares what it
// printed, its error and the controls it left ($NS in strings is the
// namespace).
type controlCase struct {
	setup        func(t *testing.T, ns string)
	args         []string
	want         string
	wantErr      string
	wantControls []control
}

func runControlCases(t *testing.T, cases map[string]controlCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := namespace(t)
			linear(t, ns)
			junction(t, ns)
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			got, err := run(t, "alice", append(tc.args, "-n", ns)...)
			r := strings.NewReplacer("$NS", ns)
			if diff := cmp.Diff(r.Replace(tc.wantErr), errString(err)); diff != "" {
				t.Errorf("error: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(r.Replace(tc.want), got); diff != "" {
				t.Errorf("output: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantControls, controlsIn(t, ns)); diff != "" {
				t.Errorf("controls: -want +got:\n%s", diff)
			}
		})
	}
}

func TestApprove(t *testing.T) {
	runControlCases(t, map[string]controlCase{
		"TheWaitingChange": {
			args: []string{"approve", "guestbook", "prod"},
			want: "approved change 3c3c3c3c3c3c (v1.2.3) for station prod of Track guestbook by alice; the Track lets it in at once\n",
			wantControls: []control{
				{Kind: "Approval", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c3, By: "alice"},
			},
		},
		"AChangeNotThereYet": {
			args: []string{"approve", "guestbook", "prod", "--change", c4},
			want: "approved change 4d4d4d4d4d4d (v1.2.4) for station prod of Track guestbook by alice; it has not reached station prod yet: it enters without waiting for approval when it does\n",
			wantControls: []control{
				{Kind: "Approval", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c4, By: "alice"},
			},
		},
		"ReplacesAnEarlierApproval": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Approval{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.ApprovalSpec{Track: "guestbook", Station: "prod", Change: c2, By: "bob"}})
			},
			args: []string{"approve", "guestbook", "prod"},
			want: "approved change 3c3c3c3c3c3c (v1.2.3) for station prod of Track guestbook by alice (replacing the approval of change 2b2b2b2b2b2b (v1.2.2)); the Track lets it in at once\n",
			wantControls: []control{
				{Kind: "Approval", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c3, By: "alice"},
			},
		},
		// An Approval someone named guestbook-prod for another station is
		// not overwritten: kubectl k8sta takes the hashed name.
		"NameTakenByAnotherStation": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Approval{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.ApprovalSpec{Track: "guestbook", Station: "int", Change: c3, By: "bob"}})
			},
			args: []string{"approve", "guestbook", "prod"},
			want: "approved change 3c3c3c3c3c3c (v1.2.3) for station prod of Track guestbook by alice; the Track lets it in at once\n",
			wantControls: []control{
				{Kind: "Approval", Name: "guestbook-prod", Track: "guestbook", Station: "int", Change: c3, By: "bob"},
				{Kind: "Approval", Name: hashedName("guestbook", "prod"), Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c3, By: "alice"},
			},
		},
		"AChangeTheStationHolds": {
			args: []string{"approve", "guestbook", "int", "--change", c3},
			want: "approved change 3c3c3c3c3c3c (v1.2.3) for station int of Track guestbook by alice; station int already holds it, so nothing waits for this approval\n",
			wantControls: []control{
				{Kind: "Approval", Name: "guestbook-int", Labels: labels("guestbook"), Track: "guestbook", Station: "int", Change: c3, By: "alice"},
			},
		},
		"HeldByAWindowToo": {
			args: []string{"approve", "shop", "regions.us.us"},
			want: `approved change af0af0af0af0 (a0b1c2d3e4f5) for station regions.us.us of Track shop by alice; it still waits: deny window "release-freeze" until 2026-06-01T15:00Z (in 3h)` + "\n",
			wantControls: []control{
				{Kind: "Approval", Name: "shop-regions-us-us", Labels: labels("shop"), Track: "shop", Station: "regions.us.us", Change: g3, By: "alice"},
			},
		},
		"AJunction": {
			// A junction without Applications that says approval: Manual
			// holds g3 back from its sections; an Approval of the
			// junction's path lets it in. The status has no station of
			// that path: the stations it holds back say it.
			setup: heldAtRegions,
			args:  []string{"approve", "shop", "regions"},
			want:  "approved change af0af0af0af0 (a0b1c2d3e4f5) for junction regions of Track shop by alice; the Track lets it in at once\n",
			wantControls: []control{
				{Kind: "Approval", Name: "shop-regions", Labels: labels("shop"), Track: "shop", Station: "regions", Change: g3, By: "alice"},
			},
		},
		"AStationTheJunctionHoldsBack": {
			// Its own Approval lets nothing in while the junction holds
			// the change back: said, with what would.
			setup: heldAtRegions,
			args:  []string{"approve", "shop", "regions.us.us"},
			want:  "approved change af0af0af0af0 (a0b1c2d3e4f5) for station regions.us.us of Track shop by alice; it still waits for approval at junction regions, which holds it back: `kubectl k8sta approve shop regions -n $NS`\n",
			wantControls: []control{
				{Kind: "Approval", Name: "shop-regions-us-us", Labels: labels("shop"), Track: "shop", Station: "regions.us.us", Change: g3, By: "alice"},
			},
		},
		"AJunctionNothingWaitsAt": {
			args:    []string{"approve", "shop", "regions"},
			wantErr: "no change waits at junction regions of Track shop (no station of its sections says it holds one back): name the change to approve with --change",
		},
		"NothingWaits": {
			args:    []string{"approve", "guestbook", "int"},
			wantErr: "no change waits to enter station int of Track guestbook (its status.stations[].next is empty): name the change to approve with --change",
		},
		"NotAChangeID": {
			args:    []string{"approve", "guestbook", "prod", "--change", "v1.2.3"},
			wantErr: `--change "v1.2.3" is not a change id: a change id is 12 hexadecimal digits, as ` + "`kubectl k8sta status` and `history`" + ` show`,
		},
		"NoSuchStation": {
			args:    []string{"approve", "guestbook", "staging"},
			wantErr: `Track guestbook has no station or junction "staging"; its stations: dev, int, prod`,
		},
		"NoSuchTrack": {
			args:    []string{"approve", "questbook", "prod"},
			wantErr: "Track questbook does not exist in namespace $NS (kubectl get tracks -n $NS lists its Tracks; -n picks another namespace)",
		},
		"ASection": {
			args:    []string{"approve", "eu", "prod"},
			wantErr: "Track eu is a section: control its stations through the Track whose junction feeds it, by their paths there (junction.eu.station, as that Track's status shows them)",
		},
	})
}

func TestFreeze(t *testing.T) {
	runControlCases(t, map[string]controlCase{
		"TheWholeTrack": {
			args: []string{"freeze", "guestbook", "--reason", "release week"},
			want: `froze Track guestbook by alice (Freeze guestbook, reason "release week"); no new change enters any of its stations until ` +
				"`kubectl k8sta unfreeze guestbook -n $NS`, and a change already being delivered finishes\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook", Labels: labels("guestbook"), Track: "guestbook", Reason: "release week", By: "alice"},
			},
		},
		"Stations": {
			args: []string{"freeze", "guestbook", "int", "prod"},
			want: "froze station int of Track guestbook by alice (Freeze guestbook-int); no new change enters it until `kubectl k8sta unfreeze guestbook int -n $NS`, and a change already being delivered finishes\n" +
				"froze station prod of Track guestbook by alice (Freeze guestbook-prod); no new change enters it until `kubectl k8sta unfreeze guestbook prod -n $NS`, and a change already being delivered finishes\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook-int", Labels: labels("guestbook"), Track: "guestbook", Stations: []string{"int"}, By: "alice"},
				{Kind: "Freeze", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Stations: []string{"prod"}, By: "alice"},
			},
		},
		"AJunction": {
			args: []string{"freeze", "shop", "regions"},
			want: "froze junction regions of Track shop by alice (Freeze shop-regions); no new change enters its sections until `kubectl k8sta unfreeze shop regions -n $NS`, and a change already being delivered finishes\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "shop-regions", Labels: labels("shop"), Track: "shop", Stations: []string{"regions"}, By: "alice"},
			},
		},
		"AStationOfASection": {
			args: []string{"freeze", "shop", "regions.eu.prod"},
			want: "froze station regions.eu.prod of Track shop by alice (Freeze shop-regions-eu-prod); no new change enters it until `kubectl k8sta unfreeze shop regions.eu.prod -n $NS`, and a change already being delivered finishes\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "shop-regions-eu-prod", Labels: labels("shop"), Track: "shop", Stations: []string{"regions.eu.prod"}, By: "alice"},
			},
		},
		"AgainWithAnotherReason": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: []string{"prod"}, Reason: "audit", By: "bob"}})
			},
			args: []string{"freeze", "guestbook", "prod", "--reason", "incident 42"},
			want: `froze station prod of Track guestbook by alice (Freeze guestbook-prod, reason "incident 42"); no new change enters it until ` +
				"`kubectl k8sta unfreeze guestbook prod -n $NS`, and a change already being delivered finishes\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Stations: []string{"prod"}, Reason: "incident 42", By: "alice"},
			},
		},
		// Both names the Freeze of prod could take belong to another
		// Track's Freezes: nothing is frozen, not int either.
		"NothingHalfApplied": {
			setup: func(t *testing.T, ns string) {
				for _, n := range []string{"guestbook-prod", hashedName("guestbook", "prod")} {
					put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, n), Spec: v1alpha1.FreezeSpec{Track: "other", By: "bob"}})
				}
			},
			args:    []string{"freeze", "guestbook", "int", "prod"},
			wantErr: "cannot name the Freeze of station prod of Track guestbook: guestbook-prod and " + hashedName("guestbook", "prod") + " are taken by controls of other Tracks or stations",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook-prod", Track: "other", By: "bob"},
				{Kind: "Freeze", Name: hashedName("guestbook", "prod"), Track: "other", By: "bob"},
			},
		},
		"NoSuchStation": {
			args:    []string{"freeze", "guestbook", "prod", "staging"},
			wantErr: `Track guestbook has no station or junction "staging"; its stations: dev, int, prod`,
		},
		"ASectionIsNoStation": {
			args:    []string{"freeze", "shop", "regions.eu"},
			wantErr: `Track shop has no station or junction "regions.eu"; its stations: dev, regions.us.us, regions.eu.canary, regions.eu.prod`,
		},
		"ReasonTooLong": {
			args:    []string{"freeze", "guestbook", "--reason", strings.Repeat("x", 257)},
			wantErr: "--reason is 257 bytes long: a Freeze's reason may be at most 256",
		},
	})
}

func TestUnfreeze(t *testing.T) {
	whole := func(t *testing.T, ns string) {
		put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "guestbook"), Spec: v1alpha1.FreezeSpec{Track: "guestbook", By: "bob"}})
	}
	prod := func(t *testing.T, ns string) {
		put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: []string{"prod"}, By: "alice"}})
	}
	runControlCases(t, map[string]controlCase{
		"TheWholeTrack": {
			setup: whole,
			args:  []string{"unfreeze", "guestbook"},
			want:  "lifted the freeze of Track guestbook (deleted Freeze guestbook); new changes enter its stations again\n",
		},
		"AStationAChangeWaitsAt": {
			setup: func(t *testing.T, ns string) {
				prod(t, ns)
				setStation(t, ns, "guestbook", "prod", func(s map[string]any) {
					s["heldBy"], s["message"] = "Freeze", "prod: frozen by alice until lifted"
				})
			},
			args: []string{"unfreeze", "guestbook", "prod"},
			want: "lifted the freeze of station prod of Track guestbook (deleted Freeze guestbook-prod); change 3c3c3c3c3c3c (v1.2.3), which waits at it, enters it now\n",
		},
		"EscapesTheChangeThatWaits": {
			setup: func(t *testing.T, ns string) {
				prod(t, ns)
				// Whoever may write the Track's status writes what the
				// terminal shows: it is shown, never run.
				setStation(t, ns, "guestbook", "prod", func(s map[string]any) {
					s["heldBy"], s["next"] = "Freeze", "\x1b]0;pwned\x07\x1b[2J"
				})
			},
			args: []string{"unfreeze", "guestbook", "prod"},
			want: "lifted the freeze of station prod of Track guestbook (deleted Freeze guestbook-prod); change \\x1b]0;pwned\\a\\x1b[2J, which waits at it, enters it now\n",
		},
		"AStationTheWholeTrackFreezes": {
			setup: func(t *testing.T, ns string) { whole(t, ns); prod(t, ns) },
			args:  []string{"unfreeze", "guestbook", "prod"},
			want:  "lifted the freeze of station prod of Track guestbook (deleted Freeze guestbook-prod); it stays frozen by Freeze guestbook (the whole Track, by bob)\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook", Track: "guestbook", By: "bob"},
			},
		},
		"TheWholeTrackWithStationsFrozen": {
			setup: func(t *testing.T, ns string) { whole(t, ns); prod(t, ns) },
			args:  []string{"unfreeze", "guestbook"},
			want:  "lifted the freeze of Track guestbook (deleted Freeze guestbook); these still freeze stations of the Track: Freeze guestbook-prod (prod, by alice)\n",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook-prod", Track: "guestbook", Stations: []string{"prod"}, By: "alice"},
			},
		},
		"NothingHalfLifted": {
			setup:   prod,
			args:    []string{"unfreeze", "guestbook", "prod", "int"},
			wantErr: "station int of Track guestbook has no Freeze guestbook-int that kubectl k8sta freeze made: nothing lifted",
			wantControls: []control{
				{Kind: "Freeze", Name: "guestbook-prod", Track: "guestbook", Stations: []string{"prod"}, By: "alice"},
			},
		},
		"NotFrozen": {
			args:    []string{"unfreeze", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook has no Freeze guestbook-prod that kubectl k8sta freeze made: nothing lifted",
		},
		"FrozenByManyFreezes": {
			// What still holds is listed 20 at most, each Freeze's
			// stations cut at 256 bytes: a Freeze may name 100 paths of
			// 4096 bytes each.
			setup: func(t *testing.T, ns string) {
				for _, c := range manyFreezes() {
					put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, c.Name), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: c.Stations, By: "bob"}})
				}
			},
			args: []string{"unfreeze", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook has no Freeze guestbook-prod that kubectl k8sta freeze made: nothing lifted; it stays frozen by Freeze h00 (prod, " +
				strings.Repeat("a", 247) + "…, by bob), " + func() string {
				var l []string
				for i := 1; i < 20; i++ {
					l = append(l, fmt.Sprintf("Freeze h%02d (prod, by bob)", i))
				}
				return strings.Join(l, ", ")
			}() + " and 2 more",
			wantControls: manyFreezes(),
		},
		"FrozenByAnotherFreeze": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "holiday"), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: []string{"int", "prod"}, By: "bob"}})
			},
			args:    []string{"unfreeze", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook has no Freeze guestbook-prod that kubectl k8sta freeze made: nothing lifted; it stays frozen by Freeze holiday (int, prod, by bob)",
			wantControls: []control{
				{Kind: "Freeze", Name: "holiday", Track: "guestbook", Stations: []string{"int", "prod"}, By: "bob"},
			},
		},
		"FrozenByItsJunction": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "shop-regions"), Spec: v1alpha1.FreezeSpec{Track: "shop", Stations: []string{"regions"}, By: "bob"}})
			},
			args:    []string{"unfreeze", "shop", "regions.eu.prod"},
			wantErr: "station regions.eu.prod of Track shop has no Freeze shop-regions-eu-prod that kubectl k8sta freeze made: nothing lifted; it stays frozen by Freeze shop-regions (regions, by bob)",
			wantControls: []control{
				{Kind: "Freeze", Name: "shop-regions", Track: "shop", Stations: []string{"regions"}, By: "bob"},
			},
		},
		"NoSuchStation": {
			args:    []string{"unfreeze", "guestbook", "staging"},
			wantErr: `Track guestbook has no station or junction "staging"; its stations: dev, int, prod`,
		},
	})
}

// A listCounter is a client of the real apiserver that counts the Lists it
// makes, by the list's type.
type listCounter struct {
	client.Client
	lists map[string]int
}

func (c *listCounter) List(ctx context.Context, l client.ObjectList, opts ...client.ListOption) error {
	c.lists[fmt.Sprintf("%T", l)]++
	return c.Client.List(ctx, l, opts...)
}

// A requestCounter is a client of the real apiserver that counts the
// requests it makes, by verb and type ("get *v1alpha1.Freeze"; each page of
// a List is one), and the largest page a List asked for.
type requestCounter struct {
	client.Client
	requests map[string]int
	maxLimit int64
}

func newRequestCounter(t *testing.T) *requestCounter {
	t.Helper()
	c, err := NewClient(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &requestCounter{Client: c, requests: map[string]int{}}
}

func (c *requestCounter) count(verb string, o any) {
	t := fmt.Sprintf("%T", o)
	if u, ok := o.(*unstructured.Unstructured); ok {
		t = u.GetKind()
	}
	c.requests[verb+" "+t]++
}

func (c *requestCounter) Get(ctx context.Context, key client.ObjectKey, o client.Object, opts ...client.GetOption) error {
	c.count("get", o)
	return c.Client.Get(ctx, key, o, opts...)
}

func (c *requestCounter) List(ctx context.Context, l client.ObjectList, opts ...client.ListOption) error {
	c.count("list", l)
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	if lo.Limit == 0 || lo.Limit > c.maxLimit {
		c.maxLimit = lo.Limit
		if lo.Limit == 0 {
			c.maxLimit = -1 // unlimited
		}
	}
	return c.Client.List(ctx, l, opts...)
}

func (c *requestCounter) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	c.count("create", o)
	return c.Client.Create(ctx, o, opts...)
}

func (c *requestCounter) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	c.count("update", o)
	return c.Client.Update(ctx, o, opts...)
}

func (c *requestCounter) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	c.count("delete", o)
	return c.Client.Delete(ctx, o, opts...)
}

// TestRequests counts the requests unfreeze and unpin make to the apiserver
// for two stations' Freezes and a station's Pin: the Track once, the kind
// controlled once (one page), the deletes, and the Tickets and
// Subscriptions once when a lifted station has a change waiting.
func TestRequests(t *testing.T) {
	cases := map[string]struct {
		setup func(t *testing.T, ns string)
		run   func(s *session) error
		want  map[string]int
	}{
		"UnfreezeTwoStations": {
			setup: func(t *testing.T, ns string) {
				for _, p := range []string{"int", "prod"} {
					put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "guestbook-"+p), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: []string{p}, By: "alice"}})
					setStation(t, ns, "guestbook", p, func(s map[string]any) { s["heldBy"], s["next"] = "Freeze", c4 })
				}
			},
			run: func(s *session) error { return s.unfreeze(context.Background(), "guestbook", []string{"int", "prod"}) },
			want: map[string]int{
				"get Track": 1, "list *v1alpha1.FreezeList": 1, "delete *v1alpha1.Freeze": 2,
				"list *v1alpha1.TicketList": 1, "list *v1alpha1.SubscriptionList": 1,
			},
		},
		"Unpin": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "alice"}})
			},
			run:  func(s *session) error { return s.unpin(context.Background(), "guestbook", "prod") },
			want: map[string]int{"get Track": 1, "list *v1alpha1.PinList": 1, "delete *v1alpha1.Pin": 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := namespace(t)
			linear(t, ns)
			tc.setup(t, ns)
			counter := newRequestCounter(t)
			s := &session{opts: Options{Out: &bytes.Buffer{}, Now: func() time.Time { return now }}, client: counter, namespace: ns}
			if err := tc.run(s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, counter.requests); diff != "" {
				t.Errorf("requests: -want +got:\n%s", diff)
			}
		})
	}
}

// TestUnfreezeReadsChangesOnce lifts two Freezes a change waits at each:
// the output names both changes from one reading of the Track's Tickets and
// Subscriptions, not one per station.
func TestUnfreezeReadsChangesOnce(t *testing.T) {
	ns := namespace(t)
	linear(t, ns)
	for _, p := range []string{"int", "prod"} {
		put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, "guestbook-"+p), Spec: v1alpha1.FreezeSpec{Track: "guestbook", Stations: []string{p}, By: "alice"}})
		setStation(t, ns, "guestbook", p, func(s map[string]any) { s["heldBy"], s["next"] = "Freeze", c4 })
	}
	c, err := NewClient(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	counter := &listCounter{Client: c, lists: map[string]int{}}
	out := &bytes.Buffer{}
	s := &session{opts: Options{Out: out, Now: func() time.Time { return now }}, client: counter, namespace: ns}
	if err := s.unfreeze(context.Background(), "guestbook", []string{"int", "prod"}); err != nil {
		t.Fatal(err)
	}
	want := "lifted the freeze of station int of Track guestbook (deleted Freeze guestbook-int); change " + c4 + " (v1.2.4), which waits at it, enters it now\n" +
		"lifted the freeze of station prod of Track guestbook (deleted Freeze guestbook-prod); change " + c4 + " (v1.2.4), which waits at it, enters it now\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output: -want +got:\n%s", diff)
	}
	wantLists := map[string]int{"*v1alpha1.FreezeList": 1, "*v1alpha1.TicketList": 1, "*v1alpha1.SubscriptionList": 1}
	if diff := cmp.Diff(wantLists, counter.lists); diff != "" {
		t.Errorf("lists: -want +got:\n%s", diff)
	}
}

// TestControlsOfTrackPageByPage lists the Track's Freezes and Pins in a
// namespace that holds 200 of another Track's first: they come in pages of
// at most 100, and the Track's, on every page, are all found.
func TestControlsOfTrackPageByPage(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	bob := as(t, "bob")
	ours := []string{"a-guestbook", "p-guestbook", "z-guestbook"}
	for i := range 200 {
		n := fmt.Sprintf("other-%03d", i)
		for _, o := range []client.Object{
			&v1alpha1.Freeze{ObjectMeta: objectMeta(ns, n), Spec: v1alpha1.FreezeSpec{Track: "other", By: "bob"}},
			&v1alpha1.Pin{ObjectMeta: objectMeta(ns, n), Spec: v1alpha1.PinSpec{Track: "other", Station: "prod", Change: c1, By: "bob"}},
		} {
			if err := bob.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range ours {
		put(t, ns, &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, n), Spec: v1alpha1.FreezeSpec{Track: "guestbook", By: "bob"}})
		put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, n), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "bob"}})
	}
	counter := newRequestCounter(t)
	fs, err := freezesOf(ctx, counter, ns, "guestbook")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pinsOf(ctx, counter, ns, "guestbook")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, "Freeze "+f.Name)
	}
	for _, p := range ps {
		got = append(got, "Pin "+p.Name)
	}
	want := []string{"Freeze a-guestbook", "Freeze p-guestbook", "Freeze z-guestbook", "Pin a-guestbook", "Pin p-guestbook", "Pin z-guestbook"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("controls: -want +got:\n%s", diff)
	}
	// 203 of each kind: pages of 100, 100 and 3.
	wantRequests := map[string]int{"list *v1alpha1.FreezeList": 3, "list *v1alpha1.PinList": 3}
	if diff := cmp.Diff(wantRequests, counter.requests); diff != "" {
		t.Errorf("requests: -want +got:\n%s", diff)
	}
	if counter.maxLimit != listPage {
		t.Errorf("largest page asked for: want %d, got %d (-1: unlimited)", listPage, counter.maxLimit)
	}
}

func TestPin(t *testing.T) {
	runControlCases(t, map[string]controlCase{
		"ItsCurrentChange": {
			args: []string{"pin", "guestbook", "prod"},
			want: "pinned station prod of Track guestbook to change 2b2b2b2b2b2b (v1.2.2) by alice (Pin guestbook-prod); the station keeps it, and nothing flows past prod until `kubectl k8sta unpin guestbook prod -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c2, By: "alice"},
			},
		},
		"AChangeOfItsHistory": {
			args: []string{"pin", "guestbook", "prod", "--change", c1, "--reason", "v1.2.2 leaks memory"},
			want: "pinned station prod of Track guestbook to change 1a1a1a1a1a1a (v1.2.1) by alice (Pin guestbook-prod); the Track delivers it to the station again, and nothing flows past prod until `kubectl k8sta unpin guestbook prod -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c1, Reason: "v1.2.2 leaks memory", By: "alice"},
			},
		},
		"MovesAPin": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c2, By: "bob"}})
			},
			args: []string{"pin", "guestbook", "prod", "--change", c1},
			want: "pinned station prod of Track guestbook to change 1a1a1a1a1a1a (v1.2.1) by alice (Pin guestbook-prod, moved from change 2b2b2b2b2b2b (v1.2.2)); the Track delivers it to the station again, and nothing flows past prod until `kubectl k8sta unpin guestbook prod -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c1, By: "alice"},
			},
		},
		// function-k8sta holds prod at its spec.pin: a Pin would not.
		"PinnedByTheSpec": {
			setup:   func(t *testing.T, ns string) { specPin(t, ns, "guestbook", "prod", c1) },
			args:    []string{"pin", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook is pinned to change " + c1 + " by the Track's spec, which wins over any Pin: nothing written; edit spec.stations[].pin of the Track in git to move or lift that pin",
		},
		// function-k8sta holds prod at the first Pin by name: a-hotfix.
		"PinnedByAPinFirstByName": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "a-hotfix"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "bob"}})
			},
			args:    []string{"pin", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook is pinned by Pin a-hotfix to change " + c1 + " (by bob), which wins over Pin guestbook-prod as it comes first by name: nothing written; lift it with `kubectl delete pin a-hotfix -n $NS` first",
			wantControls: []control{
				{Kind: "Pin", Name: "a-hotfix", Track: "guestbook", Station: "prod", Change: c1, By: "bob"},
			},
		},
		// A Pin later by name holds nothing while guestbook-prod exists.
		"BeforeAPinLaterByName": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "z-hotfix"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "bob"}})
			},
			args: []string{"pin", "guestbook", "prod"},
			want: "pinned station prod of Track guestbook to change 2b2b2b2b2b2b (v1.2.2) by alice (Pin guestbook-prod); the station keeps it, and nothing flows past prod until `kubectl k8sta unpin guestbook prod -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c2, By: "alice"},
				{Kind: "Pin", Name: "z-hotfix", Track: "guestbook", Station: "prod", Change: c1, By: "bob"},
			},
		},
		"AChangeItNeverVerified": {
			args:    []string{"pin", "guestbook", "prod", "--change", c4},
			wantErr: "station prod never verified change 4d4d4d4d4d4d; its history: 2b2b2b2b2b2b (v1.2.2, verified 24h ago), 1a1a1a1a1a1a (v1.2.1, verified 5d ago)",
		},
		"NoSuchStation": {
			args:    []string{"pin", "shop", "regions"},
			wantErr: `Track shop has no station "regions"; its stations: dev, regions.us.us, regions.eu.canary, regions.eu.prod`,
		},
	})
}

func TestRollback(t *testing.T) {
	runControlCases(t, map[string]controlCase{
		"ToThePreviousChange": {
			args: []string{"rollback", "guestbook", "prod"},
			want: "rolled station prod of Track guestbook back to change 1a1a1a1a1a1a (v1.2.1), verified there 5d ago, by alice (Pin guestbook-prod); the Track delivers it to the station again, and no new change enters prod or flows past it until `kubectl k8sta unpin guestbook prod -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c1, Reason: "rollback from change " + c2, By: "alice"},
			},
		},
		// dev delivers v1.2.4, which it has not verified: the change before
		// it is the newest it verified.
		"WhileDelivering": {
			args: []string{"rollback", "guestbook", "dev"},
			want: "rolled station dev of Track guestbook back to change 3c3c3c3c3c3c (v1.2.3), verified there 3h ago, by alice (Pin guestbook-dev); the Track delivers it to the station again, and no new change enters dev or flows past it until `kubectl k8sta unpin guestbook dev -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-dev", Labels: labels("guestbook"), Track: "guestbook", Station: "dev", Change: c3, Reason: "rollback from change " + c4, By: "alice"},
			},
		},
		"ToATag": {
			args: []string{"rollback", "guestbook", "dev", "--to", "v1.2.1", "--reason", "bad schema migration"},
			want: "rolled station dev of Track guestbook back to change 1a1a1a1a1a1a (v1.2.1), verified there 5d ago, by alice (Pin guestbook-dev); the Track delivers it to the station again, and no new change enters dev or flows past it until `kubectl k8sta unpin guestbook dev -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "guestbook-dev", Labels: labels("guestbook"), Track: "guestbook", Station: "dev", Change: c1, Reason: "bad schema migration", By: "alice"},
			},
		},
		"AStationOfASection": {
			args: []string{"rollback", "shop", "regions.eu.canary"},
			want: "rolled station regions.eu.canary of Track shop back to change 9e9e9e9e9e9e (9f8e7d6c5b4a), verified there 24h ago, by alice (Pin shop-regions-eu-canary); the Track delivers it to the station again, and no new change enters regions.eu.canary or flows past it until `kubectl k8sta unpin shop regions.eu.canary -n $NS`\n",
			wantControls: []control{
				{Kind: "Pin", Name: "shop-regions-eu-canary", Labels: labels("shop"), Track: "shop", Station: "regions.eu.canary", Change: g2, Reason: "rollback from change " + g3, By: "alice"},
			},
		},
		"PinnedByTheSpec": {
			setup:   func(t *testing.T, ns string) { specPin(t, ns, "guestbook", "prod", c1) },
			args:    []string{"rollback", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook is pinned to change " + c1 + " by the Track's spec, which wins over any Pin: nothing written; edit spec.stations[].pin of the Track in git to move or lift that pin",
		},
		"PinnedByAPinFirstByName": {
			setup: func(t *testing.T, ns string) {
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "a-hotfix"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "bob"}})
			},
			args:    []string{"rollback", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook is pinned by Pin a-hotfix to change " + c1 + " (by bob), which wins over Pin guestbook-prod as it comes first by name: nothing written; lift it with `kubectl delete pin a-hotfix -n $NS` first",
			wantControls: []control{
				{Kind: "Pin", Name: "a-hotfix", Track: "guestbook", Station: "prod", Change: c1, By: "bob"},
			},
		},
		"ToAChangeItNeverVerified": {
			args:    []string{"rollback", "guestbook", "prod", "--to", c3},
			wantErr: "station prod never verified change 3c3c3c3c3c3c; its history: 2b2b2b2b2b2b (v1.2.2, verified 24h ago), 1a1a1a1a1a1a (v1.2.1, verified 5d ago)",
		},
		"NothingEarlier": {
			args:    []string{"rollback", "shop", "regions.us.us"},
			wantErr: "station regions.us.us of Track shop has verified no change but the one it holds (9e9e9e9e9e9e): there is nothing earlier to roll back to",
		},
		"NoSuchStation": {
			args:    []string{"rollback", "guestbook", "staging"},
			wantErr: `Track guestbook has no station "staging"; its stations: dev, int, prod`,
		},
	})
}

func TestUnpin(t *testing.T) {
	pinned := func(t *testing.T, ns string) {
		put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "guestbook-prod"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c1, By: "alice"}})
	}
	runControlCases(t, map[string]controlCase{
		"APin": {
			setup: pinned,
			args:  []string{"unpin", "guestbook", "prod"},
			want:  "unpinned station prod of Track guestbook (deleted Pin guestbook-prod); new changes enter it and flow past it again\n",
		},
		"WhileAnotherPinHoldsIt": {
			setup: func(t *testing.T, ns string) {
				pinned(t, ns)
				put(t, ns, &v1alpha1.Pin{ObjectMeta: objectMeta(ns, "hotfix"), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c2, By: "bob"}})
			},
			args: []string{"unpin", "guestbook", "prod"},
			want: "unpinned station prod of Track guestbook (deleted Pin guestbook-prod); it stays pinned by Pin hotfix (change 2b2b2b2b2b2b, by bob)\n",
			wantControls: []control{
				{Kind: "Pin", Name: "hotfix", Track: "guestbook", Station: "prod", Change: c2, By: "bob"},
			},
		},
		"NotPinned": {
			args:    []string{"unpin", "guestbook", "prod"},
			wantErr: "station prod of Track guestbook has no Pin guestbook-prod that kubectl k8sta pin or rollback made: nothing lifted",
		},
		"NoSuchStation": {
			args:    []string{"unpin", "guestbook", "staging"},
			wantErr: `Track guestbook has no station "staging"; its stations: dev, int, prod`,
		},
	})
}

func TestHistory(t *testing.T) {
	runControlCases(t, map[string]controlCase{
		"Text": {
			args: []string{"history", "guestbook", "int"},
			want: `Changes station int of Track guestbook verified, newest first:

CHANGE  ID            COMMIT        VERIFIED
v1.2.3  3c3c3c3c3c3c  333333333333  60m ago (2026-06-01T11:00:00Z)  current
v1.2.2  2b2b2b2b2b2b  222222222222  2d ago (2026-05-30T12:00:00Z)

Roll back with ` + "`kubectl k8sta rollback guestbook int -n $NS` [--to ID]\n",
		},
		"JSON": {
			args: []string{"history", "shop", "regions.us.us", "-o", "json"},
			want: `{
  "track": "shop",
  "namespace": "$NS",
  "station": "regions.us.us",
  "change": "9e9e9e9e9e9e",
  "history": [
    {
      "id": "9e9e9e9e9e9e",
      "label": "9f8e7d6c5b4a",
      "commit": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
      "verifiedAt": "2026-05-31T12:00:00Z"
    }
  ]
}
`,
		},
		"NoSuchStation": {
			args:    []string{"history", "guestbook", "staging"},
			wantErr: `Track guestbook has no station "staging"; its stations: dev, int, prod`,
		},
	})
}

// heldAtRegions is what function-k8sta writes when the junction regions,
// without Applications and approval: Manual, holds g3 back from the
// stations of its sections.
func heldAtRegions(t *testing.T, ns string) {
	t.Helper()
	for _, path := range []string{"regions.us.us", "regions.eu.prod"} {
		setStation(t, ns, "shop", path, func(s map[string]any) {
			s["next"], s["heldBy"], s["heldAt"], s["message"] = g3, "Approval", "regions", "regions: waits for approval of change "+g3
			delete(s, "until")
		})
	}
}

// manyFreezes are 22 Freezes of prod by bob, h00 to h21; h00 also freezes
// ten stations of 300 bytes.
func manyFreezes() []control {
	var out []control
	for i := range 22 {
		c := control{Kind: "Freeze", Name: fmt.Sprintf("h%02d", i), Track: "guestbook", Stations: []string{"prod"}, By: "bob"}
		if i == 0 {
			for j := range 10 {
				c.Stations = append(c.Stations, strings.Repeat(string(rune('a'+j)), 300))
			}
		}
		out = append(out, c)
	}
	return out
}
