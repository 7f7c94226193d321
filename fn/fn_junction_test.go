package fn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func junctionSub(t testing.TB, paths ...string) *fnv1.Resource {
	ov := make([]string, 0, len(paths))
	for _, p := range paths {
		ov = append(ov, fmt.Sprintf("{station: %s, overlay: overlays/%s}", p, p[strings.LastIndex(p, ".")+1:]))
	}
	return &fnv1.Resource{Ready: rTrue, Resource: y(t, `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: team-a}
spec:
  forProvider:
    repo: {url: `+repoURL+`, sourceBranch: main}
    images: [{repository: ghcr.io/acme/guestbook, strategy: SemVer}]
    git: {}
    overlays: [`+strings.Join(ov, ", ")+`]
  providerConfigRef: {kind: ProviderConfig, name: default}
`)}
}

// jt is the desired Ticket name of section track at path.
func jt(t testing.TB, name, track, path string, c *v1alpha1.Change, ready fnv1.Ready) *fnv1.Resource {
	s := path[strings.LastIndex(path, ".")+1:]
	return ticketWant(t, name, track, path, "overlays/"+s, "app-"+s, c, ready)
}

// tracks is what Crossplane fetched for the function's requirements: each
// Track under its own name.
func tracks(t testing.TB, docs ...string) map[string]*fnv1.Resources {
	m := map[string]*fnv1.Resources{}
	for _, d := range docs {
		r := y(t, d)
		m[RequirementTracks+"."+str(r, "metadata", "name")] = &fnv1.Resources{Items: []*fnv1.Resource{{Resource: r}}}
	}
	return m
}

// absent adds what Crossplane returns for a required Track that does not exist.
func absent(m map[string]*fnv1.Resources, names ...string) map[string]*fnv1.Resources {
	for _, n := range names {
		m[RequirementTracks+"."+n] = &fnv1.Resources{}
	}
	return m
}

// requiring is the function's requirements for the named sections and the
// operator controls.
func requiring(names ...string) *fnv1.Requirements {
	ns := "team-a"
	r := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{}}
	for _, n := range names {
		r.Resources[RequirementTracks+"."+n] = &fnv1.ResourceSelector{ApiVersion: "k8sta.io/v1alpha1", Kind: "Track", Namespace: &ns, Match: &fnv1.ResourceSelector_MatchName{MatchName: n}}
	}
	return requiringControls(r)
}

func TestRunFunctionJunctions(t *testing.T) {
	A, Z := changeA, change("v0.9.0", 9*time.Hour)
	def := response.DefaultTTL
	requirements := requiring("guestbook-us", "guestbook-eu")
	rsp := func(ttlD time.Duration, resources map[string]*fnv1.Resource, status *structpb.Struct, conds ...*fnv1.Condition) *fnv1.RunFunctionResponse {
		r := &fnv1.RunFunctionResponse{Meta: ttl(ttlD), Desired: &fnv1.State{Resources: resources}, Conditions: conds, Requirements: requirements}
		if status != nil {
			r.Desired.Composite = &fnv1.Resource{Resource: status}
		}
		return r
	}
	invalidRsp := func(observed map[string]*fnv1.Resource, reason, message string) *fnv1.RunFunctionResponse {
		c := condWant(TypeValid, falseS, reason, message+". Nothing composed was changed until this is fixed.")
		desired := map[string]*fnv1.Resource{}
		for n, r := range observed {
			desired[n] = PassThrough(r.GetResource())
		}
		r := rsp(def, desired, nil, c)
		r.Results = []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_WARNING, Message: c.GetMessage(), Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}}
		return r
	}

	root := trackYAML("guestbook", true, st("dev"), "{name: regions, tracks: [guestbook-us, guestbook-eu]}")
	us := trackYAML("guestbook-us", false, st("us-staging"), st("us-prod"))
	eu := trackYAML("guestbook-eu", false, st("eu-staging"), st("eu-prod"))
	sub := junctionSub(t, "dev", "regions.guestbook-us.us-staging", "regions.guestbook-us.us-prod", "regions.guestbook-eu.eu-staging", "regions.guestbook-eu.eu-prod")
	devOnly := observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour))

	// The Track of issue 9 and its 40 sections, which expanded in full to
	// 3.2 M stations.
	fan := fanOut(20, 2)
	fanRoot := trackYAML("guestbook", true, fan[""]...)
	fanSections := make([]string, 0, len(fan)-1)
	fanNames := make([]string, 0, len(fan)-1)
	for l := 1; l <= 2; l++ {
		for k := 0; k < 20; k++ {
			n := fmt.Sprintf("l%d-%d", l, k)
			fanNames = append(fanNames, n)
			fanSections = append(fanSections, trackYAML(n, false, fan[n]...))
		}
	}
	shared := func(section, a, b string) string {
		return "Track " + section + " is fed by two junctions, " + a + " and " + b + ": a section has one junction, or its stations would write their rendered branches twice; remove " + section + " from the tracks of one of them"
	}

	nestedRoot := trackYAML("guestbook", true, st("dev"), st("regions", "tracks: [guestbook-us]"))
	nestedUS := trackYAML("guestbook-us", false, st("us-prod"), "{name: zones, tracks: [guestbook-us-east]}")
	nestedEast := trackYAML("guestbook-us-east", false, st("east-prod"))

	clashRoot := trackYAML("guestbook", true, st("regions-guestbook-us-us-prod"), "{name: regions, tracks: [guestbook-us]}")
	clashUS := trackYAML("guestbook-us", false, st("us-prod"))

	cases := map[string]struct {
		reason   string
		xr       string
		observed map[string]*fnv1.Resource
		required map[string]*fnv1.Resources
		// requires, when set, are the sections the function asks for;
		// guestbook-us and guestbook-eu otherwise.
		requires []string
		want     *fnv1.RunFunctionResponse
	}{
		"SectionsNotFetchedYet": {
			reason:   "Before Crossplane has fetched the sections the function asks for them and keeps what is composed; that is no error.",
			xr:       root,
			observed: devOnly,
			want: rsp(def, map[string]*fnv1.Resource{NameSubscription: PassThrough(devOnly[NameSubscription].GetResource()), "ticket-dev": PassThrough(devOnly["ticket-dev"].GetResource())}, nil,
				condWant(TypeValid, unknownS, ReasonFetching, "waiting for Crossplane to fetch the Tracks that junctions feed")),
		},
		"SectionsProgressIndependently": {
			reason: "The junction without Applications passes dev's verified change to the first station of each section; us-staging failing halts us-prod only, eu moves on.",
			xr:     root,
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "regions.guestbook-us.us-staging", spec: A, live: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseFailed, message: "app-us-staging: Degraded"},
				verifiedTicket("regions.guestbook-us.us-prod", Z, time.Hour),
				verifiedTicket("regions.guestbook-eu.eu-staging", A, time.Minute),
				verifiedTicket("regions.guestbook-eu.eu-prod", Z, time.Hour)),
			required: tracks(t, us, eu),
			want: rsp(response.DefaultTTL, map[string]*fnv1.Resource{
				NameSubscription:                         sub,
				"ticket-dev":                             tk(t, "dev", A, rTrue),
				"ticket-regions.guestbook-us.us-staging": jt(t, "guestbook-regions-guestbook-us-us-staging", "guestbook-us", "regions.guestbook-us.us-staging", A, rFalse),
				"ticket-regions.guestbook-us.us-prod":    jt(t, "guestbook-regions-guestbook-us-us-prod", "guestbook-us", "regions.guestbook-us.us-prod", Z, rTrue),
				"ticket-regions.guestbook-eu.eu-staging": jt(t, "guestbook-regions-guestbook-eu-eu-staging", "guestbook-eu", "regions.guestbook-eu.eu-staging", A, rTrue),
				"ticket-regions.guestbook-eu.eu-prod":    jt(t, "guestbook-regions-guestbook-eu-eu-prod", "guestbook-eu", "regions.guestbook-eu.eu-prod", A, rFalse),
			}, stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
				"regions.guestbook-us.us-staging "+A.ID+" Failed | app-us-staging: Degraded", "regions.guestbook-us.us-prod "+Z.ID+" Verified"+history(verifiedAs(Z, "2026-11-25T11:00:00Z")),
				"regions.guestbook-eu.eu-staging "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:59:00Z")), "regions.guestbook-eu.eu-prod "+A.ID+" Delivering"+history(verifiedAs(Z, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonHalted,
					"regions.guestbook-us.us-staging: Ticket Failed change "+A.ID+": app-us-staging: Degraded; the stations after it are halted; "+
						"regions.guestbook-eu.eu-prod: Ticket is delivering change "+A.ID)),
		},
		"BlockedSectionStationNamesItsOwnTracksField": {
			reason: "A section station blocked on its Application names it at its index in the section's spec.stations, and the section.",
			xr:     root,
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "regions.guestbook-us.us-staging", spec: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseBlocked,
					message:   "Application argocd/app-us-staging not found: create it, or fix spec.forProvider.applications[0]: no such Application",
					blockedOn: &v1alpha1.BlockedOn{Field: "applications[0]", Problem: "Application argocd/app-us-staging not found: create it, or name an Application that exists"}},
				verifiedTicket("regions.guestbook-eu.eu-staging", A, time.Hour),
				verifiedTicket("regions.guestbook-eu.eu-prod", A, time.Hour)),
			required: tracks(t, us, eu),
			want: rsp(def, map[string]*fnv1.Resource{
				NameSubscription:                         sub,
				"ticket-dev":                             tk(t, "dev", A, rTrue),
				"ticket-regions.guestbook-us.us-staging": jt(t, "guestbook-regions-guestbook-us-us-staging", "guestbook-us", "regions.guestbook-us.us-staging", A, rFalse),
				"ticket-regions.guestbook-eu.eu-staging": jt(t, "guestbook-regions-guestbook-eu-eu-staging", "guestbook-eu", "regions.guestbook-eu.eu-staging", A, rTrue),
				"ticket-regions.guestbook-eu.eu-prod":    jt(t, "guestbook-regions-guestbook-eu-eu-prod", "guestbook-eu", "regions.guestbook-eu.eu-prod", A, rTrue),
			}, stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
				"regions.guestbook-us.us-staging "+A.ID+" Blocked | Application argocd/app-us-staging not found: create it, or name an Application that exists: fix spec.stations[0].applications[0] of Track guestbook-us",
				"regions.guestbook-us.us-prod - Waiting",
				"regions.guestbook-eu.eu-staging "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "regions.guestbook-eu.eu-prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonHalted,
					"regions.guestbook-us.us-staging: Ticket Blocked change "+A.ID+": Application argocd/app-us-staging not found: create it, or name an Application that exists: fix spec.stations[0].applications[0] of Track guestbook-us; the stations after it are halted")),
		},
		"NestedJunction": {
			reason: "A junction station with Applications gets its Ticket first; junctions nest, and paths name every junction and section on the way.",
			xr:     nestedRoot,
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour), verifiedTicket("regions", A, time.Hour),
				verifiedTicket("regions.guestbook-us.us-prod", A, time.Hour)),
			required: tracks(t, nestedUS, nestedEast, nestedRoot),
			requires: []string{"guestbook-us", "guestbook-us-east"},
			want: rsp(response.DefaultTTL, map[string]*fnv1.Resource{
				NameSubscription:                      junctionSub(t, "dev", "regions", "regions.guestbook-us.us-prod", "regions.guestbook-us.zones.guestbook-us-east.east-prod"),
				"ticket-dev":                          tk(t, "dev", A, rTrue),
				"ticket-regions":                      tk(t, "regions", A, rTrue),
				"ticket-regions.guestbook-us.us-prod": jt(t, "guestbook-regions-guestbook-us-us-prod", "guestbook-us", "regions.guestbook-us.us-prod", A, rTrue),
				"ticket-regions.guestbook-us.zones.guestbook-us-east.east-prod": jt(t, "guestbook-regions-guestbook-us-zones-guestbook-us-east-38777728", "guestbook-us-east", "regions.guestbook-us.zones.guestbook-us-east.east-prod", A, rFalse),
			}, stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "regions "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "regions.guestbook-us.us-prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
				"regions.guestbook-us.zones.guestbook-us-east.east-prod "+A.ID+" Delivering"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "regions.guestbook-us.zones.guestbook-us-east.east-prod: Ticket is delivering change "+A.ID)),
		},
		"ClashingTicketNamesToldApart": {
			reason:   "Station regions-guestbook-us-us-prod and the section station at regions.guestbook-us.us-prod would both name their Tickets guestbook-regions-guestbook-us-us-prod: both names end with the hash of their own path.",
			xr:       clashRoot,
			observed: observed(t, subscriptionResource(t, A), verifiedTicket("regions-guestbook-us-us-prod", A, time.Hour)),
			required: tracks(t, clashUS),
			requires: []string{"guestbook-us"},
			want: rsp(response.DefaultTTL, map[string]*fnv1.Resource{
				NameSubscription:                      junctionSub(t, "regions-guestbook-us-us-prod", "regions.guestbook-us.us-prod"),
				"ticket-regions-guestbook-us-us-prod": ticketWant(t, "guestbook-regions-guestbook-us-us-prod-6bd22349", "guestbook", "regions-guestbook-us-us-prod", "overlays/regions-guestbook-us-us-prod", "app-regions-guestbook-us-us-prod", A, rTrue),
				"ticket-regions.guestbook-us.us-prod": jt(t, "guestbook-regions-guestbook-us-us-prod-01da9437", "guestbook-us", "regions.guestbook-us.us-prod", A, rFalse),
			}, stationsWant(t, "regions-guestbook-us-us-prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "regions.guestbook-us.us-prod "+A.ID+" Delivering"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "regions.guestbook-us.us-prod: Ticket is delivering change "+A.ID)),
		},
		"Cycle": {
			reason:   "A junction cycle is named, and nothing composed is dropped or changed.",
			xr:       root,
			observed: devOnly,
			required: tracks(t, trackYAML("guestbook-us", false, st("us-prod"), "{name: back, tracks: [guestbook]}"), eu, root),
			requires: []string{"guestbook-us", "guestbook-eu", "guestbook"},
			want: invalidRsp(devOnly, ReasonCycle,
				"junction cycle guestbook → guestbook-us → guestbook: station back of Track guestbook-us leads back to Track guestbook; remove guestbook from that station's tracks"),
		},
		"MissingSection": {
			reason:   "A junction naming a Track that does not exist is an error that says what to do.",
			xr:       root,
			observed: devOnly,
			required: absent(tracks(t, us), "guestbook-eu"),
			want: invalidRsp(devOnly, ReasonMissingTrack,
				"station regions of Track guestbook feeds Track guestbook-eu, which does not exist in this namespace: create it or remove it from the station's tracks"),
		},
		"SectionWithSubscriptions": {
			reason:   "A section must not have subscriptions of its own.",
			xr:       root,
			observed: devOnly,
			required: tracks(t, us, trackYAML("guestbook-eu", true, st("eu-staging"))),
			want: invalidRsp(devOnly, ReasonSectionHasSubscriptions,
				"Track guestbook-eu is a section (station regions of Track guestbook feeds it) but has subscriptions: a section is fed only by its junction; remove spec.subscriptions from Track guestbook-eu"),
		},
		"FanOut": {
			reason:   "The Track of issue 9 is refused at MaxStops stations with a Valid=False condition that names the limit and the fix, the first problems, and counts the rest; nothing composed is changed.",
			xr:       fanRoot,
			observed: devOnly,
			required: tracks(t, fanSections...),
			requires: fanNames,
			want: invalidRsp(devOnly, ReasonTooManyStations,
				"Track guestbook expands to more than 500 stations, junction sections included (j0.l1-4.j19 is the first past the limit): feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own; "+
					shared("l2-0", "j0.l1-0.j0", "j0.l1-0.j1")+"; "+shared("l2-1", "j0.l1-0.j0", "j0.l1-0.j1")+"; "+shared("l2-2", "j0.l1-0.j0", "j0.l1-0.j1")+"; "+
					shared("l2-3", "j0.l1-0.j0", "j0.l1-0.j1")+"; and 1956 more"),
		},
		"DuplicateBranch": {
			reason:   "Two stations writing one rendered branch is an error naming both.",
			xr:       root,
			observed: devOnly,
			required: tracks(t, us, trackYAML("guestbook-eu", false, st("eu-staging", "branch: env/us-prod"))),
			want: invalidRsp(devOnly, ReasonDuplicateBranch,
				"stations regions.guestbook-us.us-prod and regions.guestbook-eu.eu-staging both write rendered branch env/us-prod of "+repoURL+": set branch on one of them"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.xr)}, Resources: tc.observed},
				RequiredResources: withControls(t, tc.required),
			}
			got, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if tc.requires != nil {
				tc.want.Requirements = requiring(tc.requires...)
			}
			if diff := cmp.Diff(tc.want, withoutReleases(got), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRunFunctionAtTheLimit(t *testing.T) {
	// A root Track of n stations with Applications and a junction feeding
	// 20 sections of 24 stations each: 500 stations for n = 19.
	request := func(n int) *fnv1.RunFunctionRequest {
		root := trackYAML("guestbook", true, append(stations("r", n), "{name: j, tracks: ["+names("x", 20)+"]}")...)
		docs := make([]string, 0, 20)
		for i := 0; i < 20; i++ {
			name := fmt.Sprintf("x%d", i)
			docs = append(docs, trackYAML(name, false, stations(name, 24)...))
		}
		return &fnv1.RunFunctionRequest{
			Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, root)}},
			RequiredResources: withControls(t, tracks(t, docs...)),
		}
	}
	// manySections is a Track whose junctions name 520 sections.
	manySections := func() *fnv1.RunFunctionRequest {
		ss := make([]string, 0, 26)
		for i := 0; i < 26; i++ {
			ss = append(ss, fmt.Sprintf("{name: j%d, tracks: [%s]}", i, names(fmt.Sprintf("x%d-", i), 20)))
		}
		return &fnv1.RunFunctionRequest{Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, trackYAML("guestbook", true, ss...))}},
			RequiredResources: withControls(t, nil)}
	}
	type want struct {
		valid *fnv1.Condition
		// overlays is how many stations the desired Subscription is told.
		overlays int
		// requirements is how many sections the function asks for, and
		// the three kinds of operator controls.
		requirements int
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"AtTheLimit": {
			reason: "A Track of exactly MaxStops stations, junction sections included, composes as any other: its Subscription names every station with Applications.",
			req:    request(19),
			want:   want{valid: valid, overlays: 499, requirements: 20 + 3},
		},
		"PastTheLimit": {
			reason: "One station more is refused, and nothing is composed.",
			req:    request(20),
			want: want{requirements: 20 + 3, valid: condWant(TypeValid, falseS, ReasonTooManyStations,
				"Track guestbook expands to more than 500 stations, junction sections included (j.x19.x19-s23 is the first past the limit): feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own. Nothing composed was changed until this is fixed.")},
		},
		"TooManySections": {
			reason: "A Track whose junctions name more than MaxStops sections asks for MaxStops of them and is refused: it cannot have fewer stations.",
			req:    manySections(),
			want: want{requirements: MaxStops + 3, valid: condWant(TypeValid, falseS, ReasonTooManyStations,
				"the junctions of Track guestbook and its sections name more than 500 Tracks, so it expands to more than 500 stations: feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own. Nothing composed was changed until this is fixed.")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			got := want{
				overlays:     len(list(rsp.GetDesired().GetResources()[NameSubscription].GetResource(), "spec", "forProvider", "overlays")),
				requirements: len(rsp.GetRequirements().GetResources()),
			}
			for _, c := range rsp.GetConditions() {
				if c.GetType() == TypeValid {
					got.valid = c
				}
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform(), cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
