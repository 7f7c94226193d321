package fn

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"
)

// TestRunFunctionControls is the operator controls as Crossplane hands them
// to the function: Approvals, Freezes and Pins fetched for its
// requirements, and each station's history in the Track's observed status.
func TestRunFunctionControls(t *testing.T) {
	A, B := changeA, changeB
	Z, H := change("v0.9.0", 9*time.Hour), change("v0.8.0", 20*time.Hour)
	def := response.DefaultTTL
	rsp := func(resources map[string]*fnv1.Resource, status *structpb.Struct, conds ...*fnv1.Condition) *fnv1.RunFunctionResponse {
		return &fnv1.RunFunctionResponse{Meta: ttl(def), Desired: &fnv1.State{Resources: resources, Composite: &fnv1.Resource{Resource: status}},
			Conditions: conds, Requirements: requiringControls(nil)}
	}
	warning := func(r *fnv1.RunFunctionResponse, message string) *fnv1.RunFunctionResponse {
		r.Results = append(r.Results, &fnv1.Result{Severity: fnv1.Severity_SEVERITY_WARNING, Message: message, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()})
		return r
	}
	withResults := func(r *fnv1.RunFunctionResponse, results ...*fnv1.Result) *fnv1.RunFunctionResponse {
		r.Results = append(r.Results, results...)
		return r
	}
	manual := trackYAML("guestbook", true, st("dev"), st("int", "soak: 10m"), st("prod", "approval: Manual"))
	intVerified := observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, time.Hour))
	otherTrack := approvalOf("payments-prod", "prod", A.ID)
	otherTrack.Spec.Track = "payments"
	// rollback is a Track whose prod verified H, then B; last verified Z.
	rollback := trackYAML("guestbook", true, st("dev"), st("prod"), st("last")) + `status:
  stations:
  - {path: prod, history: [` + verifiedAs(B, "2026-11-25T11:00:00Z") + `, ` + verifiedAs(H, "2026-11-24T20:00:00Z") + `]}
`

	cases := map[string]struct {
		reason string
		xr     string
		obs    map[string]*fnv1.Resource
		// controls are what Crossplane fetched for the controls'
		// requirements; with notFetched, it has fetched nothing yet.
		controls   []any
		notFetched bool
		want       *fnv1.RunFunctionResponse
	}{
		"ControlsNotFetchedYet": {
			reason:     "Until Crossplane has fetched the controls the function asks for them and keeps everything as it is: a change must not slip past a Freeze it has not seen.",
			xr:         manual,
			obs:        intVerified,
			notFetched: true,
			want: &fnv1.RunFunctionResponse{Meta: ttl(def), Requirements: requiringControls(nil),
				Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{
					NameSubscription: PassThrough(intVerified[NameSubscription].GetResource()),
					"ticket-dev":     PassThrough(intVerified["ticket-dev"].GetResource()),
					"ticket-int":     PassThrough(intVerified["ticket-int"].GetResource()),
				}},
				Conditions: []*fnv1.Condition{condWant(TypeValid, unknownS, ReasonFetchingControls, "waiting for Crossplane to fetch the Track's Approvals, Freezes and Pins")}},
		},
		"AwaitsApproval": {
			reason: "A verified at int waits before prod, which says approval: Manual: no Ticket is composed for prod, and its status and the Promoted condition say what waits.",
			xr:     manual,
			obs:    intVerified,
			want: rsp(map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"int "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"prod - Waiting next="+A.ID+" heldBy=Approval | waits for approval of change "+A.ID),
				valid, condWant(TypePromoted, falseS, ReasonAwaitingApproval, "prod: waits for approval of change "+A.ID)),
		},
		"Approved": {
			reason:   "An Approval of prod and A lets A in: prod's Ticket is composed.",
			xr:       manual,
			obs:      intVerified,
			controls: []any{approvalOf("guestbook-prod", "prod", A.ID)},
			want: rsp(map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue),
				"ticket-prod": tk(t, "prod", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"int "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"prod "+A.ID+" Delivering"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "prod: Ticket is delivering change "+A.ID)),
		},
		"ApprovalOfAnotherTrack": {
			reason:   "An Approval of another Track's station of the same name approves nothing here.",
			xr:       manual,
			obs:      intVerified,
			controls: []any{otherTrack},
			want: rsp(map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"int "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"prod - Waiting next="+A.ID+" heldBy=Approval | waits for approval of change "+A.ID),
				valid, condWant(TypePromoted, falseS, ReasonAwaitingApproval, "prod: waits for approval of change "+A.ID)),
		},
		"Frozen": {
			reason:   "A Freeze of the whole Track keeps B out of dev and A out of int; nothing composed changes.",
			xr:       linear(t),
			obs:      observed(t, subscriptionResource(t, B), verifiedTicket("dev", A, time.Hour)),
			controls: []any{freezeOf("guestbook", "end of quarter")},
			want: rsp(map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified next="+B.ID+" heldBy=Freeze | frozen by alice until lifted: end of quarter"+history(verifiedAs(A, "2026-11-25T11:00:00Z")),
					"int - Waiting next="+A.ID+" heldBy=Freeze | frozen by alice until lifted: end of quarter",
					"prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonFrozen, "dev: frozen by alice until lifted: end of quarter")),
		},
		"FreezeOfAnUnknownStation": {
			reason:   "A Freeze naming a station the Track does not have holds nothing, and a warning says so.",
			xr:       linear(t),
			obs:      observed(t, subscriptionResource(t, A)),
			controls: []any{freezeOf("guestbook-qa", "", "qa")},
			want: warning(rsp(map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Delivering", "int - Waiting", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+A.ID)),
				"Freeze guestbook-qa names station qa, which Track guestbook does not have, and hold nothing: name a station as status.stations[].path shows it, or a junction"),
		},
		"RollbackToAChangeInHistory": {
			reason: "A Pin of prod to H, which no Ticket holds but prod's history lists, composes prod's Ticket for H; last, after it, keeps Z though prod verified B.",
			xr:     rollback,
			obs: observed(t, subscriptionResource(t, B), verifiedTicket("dev", B, time.Hour), verifiedTicket("prod", B, time.Hour),
				verifiedTicket("last", Z, time.Hour)),
			controls: []any{pinOf("guestbook-prod", "prod", H.ID)},
			want: withResults(rsp(map[string]*fnv1.Resource{
				NameSubscription: &fnv1.Resource{Ready: rTrue, Resource: y(t, `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: team-a}
spec:
  forProvider:
    repo: {url: `+repoURL+`, sourceBranch: main}
    images: [{repository: ghcr.io/acme/guestbook, strategy: SemVer}]
    git: {}
    overlays:
    - {station: dev, overlay: overlays/dev}
    - {station: prod, overlay: overlays/prod}
    - {station: last, overlay: overlays/last}
  providerConfigRef: {kind: ProviderConfig, name: default}
`)},
				"ticket-dev":  tk(t, "dev", B, rTrue),
				"ticket-prod": tk(t, "prod", H, rFalse),
				"ticket-last": tk(t, "last", Z, rTrue),
			},
				stationsWant(t, "dev "+B.ID+" Verified"+history(verifiedAs(B, "2026-11-25T11:00:00Z")),
					"prod "+H.ID+" Delivering next="+B.ID+" heldBy=Pin | pinned to change "+H.ID+" by bob: nothing flows past it"+
						history(verifiedAs(B, "2026-11-25T11:00:00Z"), verifiedAs(H, "2026-11-24T20:00:00Z")),
					"last "+Z.ID+" Verified"+history(verifiedAs(Z, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "prod: Ticket is delivering change "+H.ID)),
				// The observed status lists prod: what holds it now is told.
				normal(EventPinned, "station prod holds change "+B.ID+" back: pinned to change "+H.ID+" by bob: nothing flows past it")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			required := withControls(t, nil, tc.controls...)
			if tc.notFetched {
				required = nil
			}
			req := &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.xr)}, Resources: tc.obs},
				RequiredResources: required,
			}
			got, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if diff := cmp.Diff(tc.want, withoutReleases(got), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestRunFunctionWindows is promotion windows at the function's clock:
// across midnight in the window's time zone, and across the night its
// clocks go back an hour.
func TestRunFunctionWindows(t *testing.T) {
	A, Z := changeA, change("v0.9.0", 9*time.Hour)
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// Each Track has dev and prod; prod has a window.
	track := func(w string) string {
		return trackYAML("guestbook", true, st("dev"), st("prod")) + "  windows: [" + w + "]\n"
	}
	// releaseFreeze opens at 22:00 in Berlin (21:00 UTC in November) and
	// closes four hours later, the next day.
	releaseFreeze := track(`{name: release-freeze, kind: deny, schedule: "0 22 * * *", duration: 4h, timeZone: Europe/Berlin, stations: [prod]}`)
	// officeHours is 9:00 to 17:00 on weekdays in New York, where clocks go
	// back from EDT (UTC-4) to EST (UTC-5) on Sunday 2026-11-01.
	officeHours := track(`{name: office-hours, kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timeZone: America/New_York, stations: [prod]}`)
	obs := observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour), verifiedTicket("prod", Z, time.Hour))
	rsp := func(ttlD time.Duration, prod *fnv1.Resource, status *structpb.Struct, promoted *fnv1.Condition) *fnv1.RunFunctionResponse {
		return &fnv1.RunFunctionResponse{Meta: ttl(ttlD), Requirements: requiringControls(nil),
			Desired: &fnv1.State{Composite: &fnv1.Resource{Resource: status}, Resources: map[string]*fnv1.Resource{
				NameSubscription: junctionSub(t, "dev", "prod"), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-prod": prod,
			}},
			Conditions: []*fnv1.Condition{valid, promoted}}
	}
	devRow := "dev " + A.ID + " Verified" + history(verifiedAs(A, "2026-11-25T11:00:00Z"))
	prodHistory := history(verifiedAs(Z, "2026-11-25T11:00:00Z"))
	cases := map[string]struct {
		reason string
		xr     string
		now    string
		want   *fnv1.RunFunctionResponse
	}{
		"DenyWindowPastMidnight": {
			reason: "At 01:59:30 in Berlin the deny window opened at 22:00 the day before is still open: prod keeps Z until it closes at 02:00 (01:00 UTC), and the function comes back then.",
			xr:     releaseFreeze, now: "2026-11-26T00:59:30Z",
			want: rsp(30*time.Second, tk(t, "prod", Z, rTrue),
				stationsSince(t, "2026-11-26T00:59:30Z", devRow,
					"prod "+Z.ID+" Verified next="+A.ID+" heldBy=Window until=2026-11-26T01:00:00Z | deny window \"release-freeze\" until 2026-11-26T01:00Z"+prodHistory),
				condWant(TypePromoted, falseS, ReasonOutsideWindow, `prod: deny window "release-freeze" until 2026-11-26T01:00Z`)),
		},
		"DenyWindowClosed": {
			reason: "At 02:00 in Berlin the window has closed: A enters prod.",
			xr:     releaseFreeze, now: "2026-11-26T01:00:00Z",
			want: rsp(response.DefaultTTL, tk(t, "prod", A, rFalse),
				stationsSince(t, "2026-11-26T01:00:00Z", devRow, "prod "+A.ID+" Delivering"+prodHistory),
				condWant(TypePromoted, falseS, ReasonDelivering, "prod: Ticket is delivering change "+A.ID)),
		},
		"AllowWindowAcrossTheClockChange": {
			reason: "On Friday at 18:00 in New York (EDT) the allow window next opens on Monday at 9:00 EST, 14:00 UTC, not 13:00: the clocks went back on Sunday.",
			xr:     officeHours, now: "2026-10-30T22:00:00Z",
			want: rsp(response.DefaultTTL, tk(t, "prod", Z, rTrue),
				stationsSince(t, "2026-10-30T22:00:00Z", devRow,
					"prod "+Z.ID+" Verified next="+A.ID+" heldBy=Window until=2026-11-02T14:00:00Z | outside allow window \"office-hours\" until 2026-11-02T14:00Z"+prodHistory),
				condWant(TypePromoted, falseS, ReasonOutsideWindow, `prod: outside allow window "office-hours" until 2026-11-02T14:00Z`)),
		},
		"AnHourAfterTheSameHourInSummer": {
			reason: "At 13:59:45 UTC on Monday, 8:59:45 EST, the window is still closed, though 13:59:45 UTC was within it the Monday before: the function comes back at 9:00 EST.",
			xr:     officeHours, now: "2026-11-02T13:59:45Z",
			want: rsp(15*time.Second, tk(t, "prod", Z, rTrue),
				stationsSince(t, "2026-11-02T13:59:45Z", devRow,
					"prod "+Z.ID+" Verified next="+A.ID+" heldBy=Window until=2026-11-02T14:00:00Z | outside allow window \"office-hours\" until 2026-11-02T14:00Z"+prodHistory),
				condWant(TypePromoted, falseS, ReasonOutsideWindow, `prod: outside allow window "office-hours" until 2026-11-02T14:00Z`)),
		},
		"AllowWindowOpen": {
			reason: "At 9:00 EST the window is open: A enters prod.",
			xr:     officeHours, now: "2026-11-02T14:00:00Z",
			want: rsp(response.DefaultTTL, tk(t, "prod", A, rFalse),
				stationsSince(t, "2026-11-02T14:00:00Z", devRow, "prod "+A.ID+" Delivering"+prodHistory),
				condWant(TypePromoted, falseS, ReasonDelivering, "prod: Ticket is delivering change "+A.ID)),
		},
		"BadWindow": {
			reason: "A window the function cannot read makes the Track invalid, naming the field and the fix, and changes nothing composed.",
			xr:     track(`{name: office-hours, kind: allow, schedule: "0 9 * * 1-5", duration: 8h, timeZone: America/Gotham}`), now: "2026-11-02T14:00:00Z",
			want: func() *fnv1.RunFunctionResponse {
				c := condWant(TypeValid, falseS, ReasonInvalidTrack, `Track guestbook: spec.windows[0].timeZone "America/Gotham" is not an IANA time zone name; write one like "Europe/Berlin" or "UTC". Nothing composed was changed until this is fixed.`)
				desired := map[string]*fnv1.Resource{}
				for n, r := range obs {
					desired[n] = PassThrough(r.GetResource())
				}
				return &fnv1.RunFunctionResponse{Meta: ttl(response.DefaultTTL), Desired: &fnv1.State{Resources: desired}, Conditions: []*fnv1.Condition{c},
					Results: []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_WARNING, Message: c.GetMessage(), Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}}}
			}(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.xr)}, Resources: obs},
				RequiredResources: withControls(t, nil),
			}
			clock := at(tc.now)
			got, err := New(WithClock(func() time.Time { return clock })).RunFunction(context.Background(), req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if diff := cmp.Diff(tc.want, withoutReleases(got), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
