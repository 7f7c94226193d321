package fn

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestParseTicket(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     obsTicket
		want   *ObservedTicket
	}{
		"Verified": {
			reason: "Everything the progression needs is read back.",
			in:     verifiedTicket("dev", changeA, time.Hour),
			want: &ObservedTicket{Change: changeA, LiveID: changeA.ID, Phase: v1alpha1.PhaseVerified, VerifiedAt: ago(time.Hour),
				Ready: "True", ReadyReason: "R", ReadySince: ago(2 * time.Hour)},
		},
		"Failed": {
			reason: "A failed Ticket's Ready message says why.",
			in:     obsTicket{path: "dev", spec: changeB, ready: "False", phase: v1alpha1.PhaseFailed, message: "Degraded"},
			want: &ObservedTicket{Change: changeB, Phase: v1alpha1.PhaseFailed, Ready: "False", ReadyReason: "R", ReadyMessage: "Degraded",
				ReadySince: ago(2 * time.Hour)},
		},
		"PausedRollout": {
			reason: "An Application entry with a message says the Ticket is held back for a reason (a paused Rollout).",
			in: obsTicket{path: "dev", spec: changeB, live: changeB, ready: "False", phase: v1alpha1.PhaseProgressing, message: "paused",
				apps: "[{name: a, namespace: argocd, sync: Synced, health: Healthy}, {name: b, namespace: argocd, sync: Synced, health: Suspended, message: paused}]"},
			want: &ObservedTicket{Change: changeB, LiveID: changeB.ID, Phase: v1alpha1.PhaseProgressing, Ready: "False", ReadyReason: "R", ReadyMessage: "paused",
				ReadySince: ago(2 * time.Hour), Held: true},
		},
		"ProgressingWithoutReason": {
			reason: "Application entries without a message hold nothing back but Argo CD.",
			in: obsTicket{path: "dev", spec: changeB, live: changeB, ready: "False", phase: v1alpha1.PhaseProgressing, message: "waiting",
				apps: "[{name: a, namespace: argocd, sync: Synced, health: Progressing}]"},
			want: &ObservedTicket{Change: changeB, LiveID: changeB.ID, Phase: v1alpha1.PhaseProgressing, Ready: "False", ReadyReason: "R", ReadyMessage: "waiting",
				ReadySince: ago(2 * time.Hour)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ParseTicket(tc.in.resource(t).GetResource())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParseTicket(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseSubscription(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 25, 11, 30, 0, 0, time.UTC))
	cases := map[string]struct {
		in   *fnv1.Resource
		want *ObservedSubscription
	}{
		"NothingYet": {in: subscriptionResource(t, nil, ""), want: &ObservedSubscription{}},
		"OverlayOnItsBase": {
			in: subscriptionResource(t, changeA, `[{commit: "`+overlayCommit+`", baseCommit: "`+changeA.Commit+`", stations: [prod], discoveredAt: "2026-11-25T11:30:00Z"}]`),
			want: &ObservedSubscription{Newest: changeA, OverlayChanges: []v1alpha1.OverlayChange{
				{Commit: overlayCommit, BaseCommit: changeA.Commit, Stations: []string{"prod"}, DiscoveredAt: &at},
			}},
		},
		"NewestAndOverlays": {
			in: subscriptionResource(t, changeA, `[{commit: "`+overlayCommit+`", stations: [int, prod], discoveredAt: "2026-11-25T11:30:00Z"}]`),
			want: &ObservedSubscription{Newest: changeA, OverlayChanges: []v1alpha1.OverlayChange{
				{Commit: overlayCommit, Stations: []string{"int", "prod"}, DiscoveredAt: &at},
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseSubscription(tc.in.GetResource())); diff != "" {
				t.Errorf("ParseSubscription(...): -want, +got:\n%s", diff)
			}
		})
	}
}

func TestDesiredSubscription(t *testing.T) {
	cases := map[string]struct {
		reason string
		track  string
		want   string
	}{
		"ImagesOnly": {
			reason: "git is present only when the Track follows the source branch; a ClusterProviderConfig is referenced as such.",
			track: `{repo: {url: https://git.example.com/u, sourceBranch: trunk}, subscriptions: {images: [{repository: r, strategy: Digest, constraint: latest}]},
				providerConfigRef: {kind: ClusterProviderConfig, name: shared}, stations: [{name: dev, overlay: o, applications: [{name: a}]}]}`,
			want: `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: ns}
spec:
  forProvider:
    repo: {url: https://git.example.com/u, sourceBranch: trunk}
    images: [{repository: r, strategy: Digest, constraint: latest}]
    overlays: [{station: dev, overlay: o}]
  providerConfigRef: {kind: ClusterProviderConfig, name: shared}
`,
		},
		"GitPaths": {
			reason: "The paths a Track follows on a monorepo reach its Subscription as written.",
			track:  `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [base/, apps/guestbook]}}, stations: [{name: dev, overlay: apps/guestbook/overlays/dev, applications: [{name: a}]}]}`,
			want: `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: ns}
spec:
  forProvider:
    repo: {url: https://git.example.com/u, sourceBranch: main}
    git: {paths: [base/, apps/guestbook]}
    overlays: [{station: dev, overlay: apps/guestbook/overlays/dev}]
  providerConfigRef: {kind: ProviderConfig, name: default}
`,
		},
		"GitOnlyNoOverlays": {
			reason: "Stations without overlays (junctions) are not listed.",
			track:  `{repo: {url: https://git.example.com/u}, subscriptions: {git: {}}, stations: [{name: j, tracks: [x]}]}`,
			want: `apiVersion: provider.k8sta.io/v1alpha1
kind: Subscription
metadata: {namespace: ns}
spec:
  forProvider:
    repo: {url: https://git.example.com/u, sourceBranch: main}
    git: {}
  providerConfigRef: {kind: ProviderConfig, name: default}
`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr, err := ParseTrack("t", y(t, tc.track))
			if err != nil {
				t.Fatal(err)
			}
			x, _ := Expand(tr, nil)
			if len(tr.Stations[0].Tracks) > 0 {
				x = &Expansion{Stops: []*Stop{{Path: "j", Track: tr, Station: &tr.Stations[0]}}}
			}
			got := DesiredSubscription("ns", tr, x.Stops)
			if diff := cmp.Diff(y(t, tc.want), got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nDesiredSubscription(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestPassThrough(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     *structpb.Struct
		want   *fnv1.Resource
	}{
		"KeepsSpecDropsStatus": {
			reason: "An observed resource is desired as it is: its spec and namespace, without status or server-set metadata; ready as observed.",
			in: y(t, `apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {name: n, namespace: team-a, uid: u, resourceVersion: "3"}
spec: {forProvider: {station: dev}}
status: {conditions: [{type: Ready, status: "True"}]}`),
			want: &fnv1.Resource{Ready: fnv1.Ready_READY_TRUE, Resource: y(t, `apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {namespace: team-a}
spec: {forProvider: {station: dev}}`)},
		},
		"NotReady": {
			reason: "Without a Ready True condition a resource is not ready.",
			in:     y(t, `{apiVersion: v1, kind: K, spec: {}}`),
			want:   &fnv1.Resource{Ready: fnv1.Ready_READY_FALSE, Resource: y(t, `{apiVersion: v1, kind: K, spec: {}}`)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PassThrough(tc.in), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nPassThrough(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
