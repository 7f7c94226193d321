package fn

import (
	"context"
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

var (
	trueS    = fnv1.Status_STATUS_CONDITION_TRUE
	falseS   = fnv1.Status_STATUS_CONDITION_FALSE
	unknownS = fnv1.Status_STATUS_CONDITION_UNKNOWN
	rTrue    = fnv1.Ready_READY_TRUE
	rFalse   = fnv1.Ready_READY_FALSE
	valid    = condWant(TypeValid, trueS, ReasonValid, "")
)

// linear is the 3-station Track of most cases: dev, int (soak 10m), prod.
func linear(t testing.TB, pins ...string) string {
	prodExtra := pins
	return trackYAML("guestbook", true, st("dev"), st("int", "soak: 10m"), st("prod", prodExtra...))
}

// legacy is the cluster-scoped XTrack a claim guestbook in team-a makes of
// Track doc, with claim labels that name Track payments of team-b.
func legacy(doc string) string {
	doc = strings.Replace(doc, "metadata: {name: guestbook, namespace: team-a}",
		"metadata: {name: guestbook-xk2v9, labels: {crossplane.io/claim-name: payments, crossplane.io/claim-namespace: team-b}}", 1)
	return strings.Replace(doc, "spec:\n", "spec:\n  claimRef: {apiVersion: legacy.k8sta.io/v1alpha1, kind: Track, name: guestbook, namespace: team-a}\n", 1)
}

func linearSub(t testing.TB, ready fnv1.Ready) *fnv1.Resource {
	return &fnv1.Resource{Ready: ready, Resource: y(t, `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: team-a}
spec:
  forProvider:
    repo: {url: `+repoURL+`, sourceBranch: main}
    images: [{repository: ghcr.io/acme/guestbook, strategy: SemVer}]
    git: {}
    overlays:
    - {station: dev, overlay: overlays/dev}
    - {station: int, overlay: overlays/int}
    - {station: prod, overlay: overlays/prod}
  providerConfigRef: {kind: ProviderConfig, name: default}
`)}
}

// tk is the desired Ticket of Track guestbook's station path, named
// guestbook-<path>.
func tk(t testing.TB, path string, c *v1alpha1.Change, ready fnv1.Ready) *fnv1.Resource {
	return ticketWant(t, "guestbook-"+path, "guestbook", path, "overlays/"+path, "app-"+path, c, ready)
}

func observed(t testing.TB, sub *fnv1.Resource, tickets ...obsTicket) map[string]*fnv1.Resource {
	m := map[string]*fnv1.Resource{}
	if sub != nil {
		m[NameSubscription] = sub
	}
	for _, o := range tickets {
		m[TicketName(o.path)] = o.resource(t)
	}
	return m
}

func TestRunFunction(t *testing.T) {
	type args struct {
		xr       string
		observed map[string]*fnv1.Resource
		required map[string]*fnv1.Resources
	}
	type want struct {
		rsp *fnv1.RunFunctionResponse
	}
	A, B := changeA, changeB
	rsp := func(ttlD time.Duration, resources map[string]*fnv1.Resource, status *structpb.Struct, conds ...*fnv1.Condition) *fnv1.RunFunctionResponse {
		r := &fnv1.RunFunctionResponse{Meta: ttl(ttlD), Desired: &fnv1.State{Resources: resources}, Conditions: conds, Requirements: requiringControls(nil)}
		if status != nil {
			r.Desired.Composite = &fnv1.Resource{Resource: status}
		}
		return r
	}
	def := response.DefaultTTL

	cases := map[string]struct {
		reason string
		args   args
		want   want
	}{
		"LinearNothingYet": {
			reason: "With no change discovered yet only the Subscription is composed; no Ticket exists before its first change.",
			args:   args{xr: linear(t)},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rFalse)},
				stationsWant(t, "dev - Waiting", "int - Waiting", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonWaiting, "dev: waiting for the Subscription's first change"))},
		},
		"LinearFirstChange": {
			reason: "Station 1 takes the Subscription's newest change: its Ticket is created.",
			args:   args{xr: linear(t), observed: observed(t, subscriptionResource(t, A))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Delivering", "int - Waiting", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+A.ID))},
		},
		"LegacyClaimLabelsIgnored": {
			reason: "A legacy XTrack whose claim labels name team-b composes its Subscription and Tickets in team-a, its claim reference's namespace, for Track guestbook.",
			args:   args{xr: legacy(linear(t)), observed: observed(t, subscriptionResource(t, A))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Delivering", "int - Waiting", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+A.ID))},
		},
		"LinearDevSyncing": {
			reason: "A Ticket that is not Ready yet holds the Track back: the Track says it is delivering, the Ticket says which step it is at.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				obsTicket{path: "dev", spec: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseSyncing, message: "app-dev: OutOfSync"})},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Delivering", "int - Waiting", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+A.ID))},
		},
		"LinearDevVerified": {
			reason: "Station 2 takes station 1's verified change.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Minute))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:59:00Z")), "int "+A.ID+" Delivering", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "int: Ticket is delivering change "+A.ID))},
		},
		"LinearSoakPending": {
			reason: "A change verified at int less than its soak ago does not move on; the TTL brings the function back when the soak ends.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, 9*time.Minute+30*time.Second))},
			want: want{rsp: rsp(30*time.Second, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Soaking"+history(verifiedAs(A, "2026-11-25T11:50:30Z")), "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonSoaking, "int: change "+A.ID+" soaks until 2026-11-25T12:00:30Z"))},
		},
		"LinearSoakLong": {
			reason: "A soak with more than the default TTL to go keeps the default TTL.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, 4*time.Minute))},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Soaking"+history(verifiedAs(A, "2026-11-25T11:56:00Z")), "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonSoaking, "int: change "+A.ID+" soaks until 2026-11-25T12:06:00Z"))},
		},
		"LinearSoakElapsed": {
			reason: "Once the soak has elapsed the change moves on to prod.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, 10*time.Minute))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue), "ticket-prod": tk(t, "prod", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:50:00Z")), "prod "+A.ID+" Delivering"),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "prod: Ticket is delivering change "+A.ID))},
		},
		"LinearAllReady": {
			reason: "Every station verified the newest change: the Track is promoted.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, time.Hour), verifiedTicket("prod", A, time.Minute))},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rTrue), "ticket-prod": tk(t, "prod", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:59:00Z"))),
				valid, condWant(TypePromoted, trueS, ReasonPromoted, "every station (3) holds its newest verified change"))},
		},
		"NewerChangeOvertakes": {
			reason: "B, newest and verified at dev, overtakes A, still syncing at int; dev moves on to C at once.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, changeC),
				verifiedTicket("dev", B, time.Hour),
				obsTicket{path: "int", spec: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseSyncing, message: "syncing"},
				verifiedTicket("prod", change("v0.9.0", 9*time.Hour), time.Hour))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", changeC, rFalse), "ticket-int": tk(t, "int", B, rFalse), "ticket-prod": tk(t, "prod", change("v0.9.0", 9*time.Hour), rTrue)},
				stationsWant(t, "dev "+changeC.ID+" Delivering"+history(verifiedAs(B, "2026-11-25T11:00:00Z")), "int "+B.ID+" Delivering", "prod "+change("v0.9.0", 9*time.Hour).ID+" Verified"+history(verifiedAs(change("v0.9.0", 9*time.Hour), "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+changeC.ID))},
		},
		"DegradedHalts": {
			reason: "A Degraded station keeps its change and halts the stations behind it, and only those: dev still takes the newest change.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, B),
				verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "int", spec: A, live: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseFailed, message: "app-int: Degraded"},
				verifiedTicket("prod", change("v0.9.0", 9*time.Hour), time.Hour))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", B, rFalse), "ticket-int": tk(t, "int", A, rFalse), "ticket-prod": tk(t, "prod", change("v0.9.0", 9*time.Hour), rTrue)},
				stationsWant(t, "dev "+B.ID+" Delivering"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Failed | app-int: Degraded", "prod "+change("v0.9.0", 9*time.Hour).ID+" Verified"+history(verifiedAs(change("v0.9.0", 9*time.Hour), "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "dev: Ticket is delivering change "+B.ID))},
		},
		"DegradedReported": {
			reason: "With nothing upstream moving, the Degraded station is what holds the Track back.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "int", spec: A, live: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseFailed, message: "app-int: Degraded"})},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+A.ID+" Failed | app-int: Degraded", "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonHalted, "int: Ticket Failed change "+A.ID+": app-int: Degraded; the stations after it are halted"))},
		},
		"BlockedOnInputNamesTheTracksField": {
			reason: "A Ticket blocked on its overlay halts the stations after it, and the station and the Promoted condition name the station's overlay on the Track, not the Ticket's field.",
			args: args{xr: linear(t), observed: observed(t, subscriptionResource(t, A),
				verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "int", spec: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseBlocked,
					message:   `spec.forProvider.overlay "overlays/int" does not exist at commit 666666666666: set it to a directory holding a kustomization.yaml`,
					blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `overlay "overlays/int" does not exist at commit 666666666666: name a directory holding a kustomization.yaml`}})},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rFalse)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), `int `+A.ID+` Blocked | overlay "overlays/int" does not exist at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay`, "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonHalted, "int: Ticket Blocked change "+A.ID+`: overlay "overlays/int" does not exist at commit 666666666666: name a directory holding a kustomization.yaml: fix spec.stations[1].overlay; the stations after it are halted`))},
		},
		"Pinned": {
			reason: "int pinned to A holds A although dev verified B, and nothing flows past it to prod.",
			args: args{xr: trackYAML("guestbook", true, st("dev"), st("int", "soak: 10m", "pin: "+A.ID), st("prod")), observed: observed(t, subscriptionResource(t, B),
				verifiedTicket("dev", B, time.Hour), verifiedTicket("int", A, time.Hour))},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", B, rTrue), "ticket-int": tk(t, "int", A, rTrue)},
				stationsWant(t, "dev "+B.ID+" Verified"+history(verifiedAs(B, "2026-11-25T11:00:00Z")), "int "+A.ID+" Verified next="+B.ID+" heldBy=Pin | pinned to change "+A.ID+": nothing flows past it"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "prod - Waiting"),
				valid, condWant(TypePromoted, falseS, ReasonPinned, "int: pinned to change "+A.ID+": nothing flows past it"))},
		},
		"PinRollsBack": {
			reason: "A station pinned to an older change any Ticket still names goes back to it.",
			args: args{xr: trackYAML("guestbook", true, st("dev"), st("int", "soak: 10m"), st("prod", "pin: "+A.ID)), observed: observed(t, subscriptionResource(t, B),
				verifiedTicket("dev", B, time.Hour), verifiedTicket("int", A, time.Hour), verifiedTicket("prod", B, time.Hour))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", B, rTrue), "ticket-int": tk(t, "int", B, rFalse), "ticket-prod": tk(t, "prod", A, rFalse)},
				stationsWant(t, "dev "+B.ID+" Verified"+history(verifiedAs(B, "2026-11-25T11:00:00Z")), "int "+B.ID+" Delivering"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "prod "+A.ID+" Delivering heldBy=Pin | pinned to change "+A.ID+": nothing flows past it"+history(verifiedAs(B, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "int: Ticket is delivering change "+B.ID))},
		},
		"OverlayOnlyChange": {
			reason: "An overlay-only commit goes to its station directly with the images the station has, and no further.",
			args: args{xr: linear(t), observed: observed(t,
				subscriptionResource(t, A, v1alpha1.OverlayChange{Commit: overlayCommit, Stations: []string{"int"}, DiscoveredAt: ago(30 * time.Minute)}),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", A, time.Hour), verifiedTicket("prod", A, time.Hour))},
			want: want{rsp: rsp(response.DefaultTTL, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", overlaid(A), rFalse), "ticket-prod": tk(t, "prod", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+overlaid(A).ID+" Delivering"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, falseS, ReasonDelivering, "int: Ticket is delivering change "+overlaid(A).ID))},
		},
		"OverlayOnlyChangeStaysPut": {
			reason: "Verified at its station, the overlay-only change does not move down to prod.",
			args: args{xr: linear(t), observed: observed(t,
				subscriptionResource(t, A, v1alpha1.OverlayChange{Commit: overlayCommit, Stations: []string{"int"}, DiscoveredAt: ago(30 * time.Minute)}),
				verifiedTicket("dev", A, time.Hour), verifiedTicket("int", overlaid(A), time.Hour), verifiedTicket("prod", A, time.Hour))},
			want: want{rsp: rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", overlaid(A), rTrue), "ticket-prod": tk(t, "prod", A, rTrue)},
				stationsWant(t, "dev "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z")), "int "+overlaid(A).ID+" Verified"+history(verifiedAs(overlaid(A), "2026-11-25T11:00:00Z")), "prod "+A.ID+" Verified"+history(verifiedAs(A, "2026-11-25T11:00:00Z"))),
				valid, condWant(TypePromoted, trueS, ReasonPromoted, "every station (3) holds its newest verified change"))},
		},
		"TellsTransitions": {
			reason: "The observed status said dev delivered A and int failed on it: dev verified A, which is told, and int failing still is not.",
			args: args{xr: linear(t) + `status:
  stations:
  - {path: dev, change: ` + A.ID + `, phase: Delivering, since: '2026-11-25T11:00:00Z'}
  - {path: int, change: ` + A.ID + `, phase: Failed, since: '2026-11-25T11:00:00Z', message: 'app-int: Degraded'}
`, observed: observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour),
				obsTicket{path: "int", spec: A, live: A, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseFailed, message: "app-int: Degraded"})},
			want: want{rsp: func() *fnv1.RunFunctionResponse {
				r := rsp(def, map[string]*fnv1.Resource{NameSubscription: linearSub(t, rTrue), "ticket-dev": tk(t, "dev", A, rTrue), "ticket-int": tk(t, "int", A, rFalse)},
					y(t, `status: {stations: [{path: dev, change: `+A.ID+`, phase: Verified, since: '2026-11-25T12:00:00Z', history: [`+verifiedAs(A, "2026-11-25T11:00:00Z")+`]},
  {path: int, change: `+A.ID+`, phase: Failed, since: '2026-11-25T11:00:00Z', message: 'app-int: Degraded'}, {path: prod, phase: Waiting, since: '2026-11-25T12:00:00Z'}]}`),
					valid, condWant(TypePromoted, falseS, ReasonHalted, "int: Ticket Failed change "+A.ID+": app-int: Degraded; the stations after it are halted"))
				r.Results = []*fnv1.Result{normal(EventVerified, "change "+A.ID+" verified at station dev")}
				return r
			}()},
		},
		"Section": {
			reason: "A Track without subscriptions composed on its own is a section: it composes nothing and says so.",
			args:   args{xr: trackYAML("guestbook-us", false, st("us-prod"))},
			want:   want{rsp: &fnv1.RunFunctionResponse{Meta: ttl(def), Conditions: []*fnv1.Condition{SectionCondition("guestbook-us")}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := &fnv1.RunFunctionRequest{
				Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.args.xr)}, Resources: tc.args.observed},
				RequiredResources: withControls(t, tc.args.required),
			}
			got, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if diff := cmp.Diff(tc.want.rsp, withoutReleases(got), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

var overlayCommit = "0123456789abcdef0123456789abcdef01234567"

// overlaid is c with the overlay-only commit applied.
func overlaid(c *v1alpha1.Change) *v1alpha1.Change {
	return &v1alpha1.Change{ID: v1alpha1.ChangeID(overlayCommit, c.Images), Commit: overlayCommit, Images: c.Images, DiscoveredAt: c.DiscoveredAt}
}

func TestIdentity(t *testing.T) {
	cases := map[string]struct {
		reason   string
		xr       string
		name, ns string
	}{
		"Namespaced": {
			reason: "A Track XR is named and namespaced as it is.",
			xr:     `{metadata: {name: guestbook, namespace: team-a}}`,
			name:   "guestbook", ns: "team-a",
		},
		"LegacyClaim": {
			reason: "A legacy XTrack takes its claim's name and namespace from its claim reference.",
			xr:     `{metadata: {name: guestbook-xk2v9}, spec: {claimRef: {apiVersion: legacy.k8sta.io/v1alpha1, kind: Track, name: guestbook, namespace: team-a}}}`,
			name:   "guestbook", ns: "team-a",
		},
		"LegacyLabelsIgnored": {
			reason: "The claim labels of a legacy XTrack, which anyone who can label it sets, do not move its Tickets to another namespace: the claim reference does.",
			xr: `{metadata: {name: guestbook-xk2v9, labels: {crossplane.io/claim-name: payments, crossplane.io/claim-namespace: team-b}},
				spec: {claimRef: {apiVersion: legacy.k8sta.io/v1alpha1, kind: Track, name: guestbook, namespace: team-a}}}`,
			name: "guestbook", ns: "team-a",
		},
		"LegacyLabelsOnly": {
			reason: "Claim labels without a claim reference give no namespace.",
			xr:     `{metadata: {name: guestbook-xk2v9, labels: {crossplane.io/claim-name: guestbook, crossplane.io/claim-namespace: team-a}}}`,
			name:   "guestbook-xk2v9", ns: "",
		},
		"LegacyWithoutClaim": {
			reason: "An XTrack created without a claim has no namespace for its Tickets.",
			xr:     `{metadata: {name: guestbook-xk2v9}}`,
			name:   "guestbook-xk2v9", ns: "",
		},
		"NamespacedClaimRefIgnored": {
			reason: "A namespaced Track is never moved by a claim reference written into its spec.",
			xr:     `{metadata: {name: guestbook, namespace: team-a}, spec: {claimRef: {name: payments, namespace: team-b}}}`,
			name:   "guestbook", ns: "team-a",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n, ns := identity(y(t, tc.xr))
			if diff := cmp.Diff([]string{tc.name, tc.ns}, []string{n, ns}); diff != "" {
				t.Errorf("%s\nidentity(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// TestRunFunctionInvalidTrack is the function refusing what the XRD refuses,
// for a Track that reached it without the XRD's validation (a legacy XRD,
// an older CRD): a Valid=False condition and a warning that name the field,
// and nothing composed changed.
func TestRunFunctionInvalidTrack(t *testing.T) {
	A := changeA
	devOnly := observed(t, subscriptionResource(t, A), verifiedTicket("dev", A, time.Hour))
	invalidRsp := func(reason, message string) *fnv1.RunFunctionResponse {
		c := condWant(TypeValid, falseS, reason, message+". Nothing composed was changed until this is fixed.")
		desired := map[string]*fnv1.Resource{}
		for n, r := range devOnly {
			desired[n] = PassThrough(r.GetResource())
		}
		return &fnv1.RunFunctionResponse{
			Meta: ttl(response.DefaultTTL), Desired: &fnv1.State{Resources: desired}, Conditions: []*fnv1.Condition{c},
			Results: []*fnv1.Result{{Severity: fnv1.Severity_SEVERITY_WARNING, Message: c.GetMessage(), Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}},
		}
	}
	withURL := func(url string) string { return strings.Replace(linear(t), "url: "+repoURL, "url: '"+url+"'", 1) }
	cases := map[string]struct {
		reason string
		xr     string
		want   *fnv1.RunFunctionResponse
	}{
		"FileURL": {
			reason: "A file:// repository would make the provider read its own disk.",
			xr:     withURL("file:///var/lib/k8sta/other-team"),
			want:   invalidRsp(ReasonInvalidTrack, "Track guestbook: spec.repo.url "+msgURLScheme),
		},
		"LocalPath": {
			reason: "So would a local path.",
			xr:     withURL("/var/lib/k8sta/other-team"),
			want:   invalidRsp(ReasonInvalidTrack, "Track guestbook: spec.repo.url "+msgURLScheme),
		},
		"GitScheme": {
			reason: "git:// is unauthenticated and unencrypted: refused.",
			xr:     withURL("git://git.example.com/acme/guestbook-config.git"),
			want:   invalidRsp(ReasonInvalidTrack, "Track guestbook: spec.repo.url "+msgURLScheme),
		},
		"Credentials": {
			reason: "Credentials in the URL are refused, and neither the condition nor the warning quotes them.",
			xr:     withURL("https://bob:s3cret@git.example.com/acme/guestbook-config.git"),
			want:   invalidRsp(ReasonInvalidTrack, "Track guestbook: spec.repo.url "+msgURLCredentials),
		},
		"BadGitPath": {
			reason: "A path the Subscription would follow outside the repository is refused, naming the entry.",
			xr:     strings.Replace(linear(t), "git: {}", "git: {paths: [base/, '../other-team/']}", 1),
			want:   invalidRsp(ReasonInvalidTrack, "Track guestbook: spec.subscriptions.git.paths[1] "+msgPathDotSegment),
		},
		"BranchIsSource": {
			reason: "A station may not render to the source branch.",
			xr:     trackYAML("guestbook", true, st("dev"), st("prod", "branch: main")),
			want: invalidRsp(ReasonBranchIsSource,
				"Track guestbook: spec.stations[1].branch is main, the source branch (spec.repo.sourceBranch): publishing replaces a branch's whole tree; set spec.stations[1].branch to another branch"),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := &fnv1.RunFunctionRequest{Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: y(t, tc.xr)}, Resources: devOnly}}
			got, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
			if err != nil {
				t.Fatalf("RunFunction: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
