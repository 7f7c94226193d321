package fn

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestParseObserved(t *testing.T) {
	// The function reads of a Ticket only what the progression needs: no
	// type, of its metadata only its annotations (the released-at time, see
	// TestReleases), of its spec only the change; of the Subscription only
	// its newest change and overlay changes.
	ready := func(s corev1.ConditionStatus, message string) xpv2.ConditionedStatus {
		return xpv2.ConditionedStatus{Conditions: []xpv2.Condition{{Type: xpv2.TypeReady, Status: s, Reason: "R", Message: message, LastTransitionTime: *ago(2 * time.Hour)}}}
	}
	forProvider := func(c *v1alpha1.Change) v1alpha1.TicketParameters {
		return v1alpha1.TicketParameters{Change: *c}
	}
	at := metav1.NewTime(time.Date(2026, 11, 25, 11, 30, 0, 0, time.UTC))
	subscription := func(newest *v1alpha1.Change, ocs ...v1alpha1.OverlayChange) *v1alpha1.Subscription {
		return &v1alpha1.Subscription{Status: v1alpha1.SubscriptionStatus{AtProvider: v1alpha1.SubscriptionObservation{Newest: newest, OverlayChanges: ocs}}}
	}
	cases := map[string]struct {
		reason string
		in     map[string]*fnv1.Resource
		want   Observed
	}{
		"Verified": {
			reason: "Everything the progression needs is read back.",
			in:     map[string]*fnv1.Resource{"ticket-dev": verifiedTicket("dev", changeA, time.Hour).resource(t)},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{"dev": {
				Spec: v1alpha1.TicketSpec{ForProvider: forProvider(changeA)},
				Status: v1alpha1.TicketStatus{ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: ready(corev1.ConditionTrue, "")},
					AtProvider: v1alpha1.TicketObservation{Change: changeA, Phase: v1alpha1.PhaseVerified, VerifiedAt: ago(time.Hour)}},
			}}},
		},
		"Failed": {
			reason: "A failed Ticket's Ready message says why.",
			in:     map[string]*fnv1.Resource{"ticket-dev": obsTicket{path: "dev", spec: changeB, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseFailed, message: "Degraded"}.resource(t)},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{"dev": {
				Spec: v1alpha1.TicketSpec{ForProvider: forProvider(changeB)},
				Status: v1alpha1.TicketStatus{ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: ready(corev1.ConditionFalse, "Degraded")},
					AtProvider: v1alpha1.TicketObservation{Phase: v1alpha1.PhaseFailed}},
			}}},
		},
		"Blocked": {
			reason: "A blocked Ticket's field and problem are read back.",
			in: map[string]*fnv1.Resource{"ticket-dev": obsTicket{path: "dev", spec: changeB, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseBlocked, message: "spec.forProvider.branch env/dev holds commit 777777777777",
				blockedOn: &v1alpha1.BlockedOn{Field: "branch", Problem: "rendered branch env/dev holds commit 777777777777"}}.resource(t)},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{"dev": {
				Spec: v1alpha1.TicketSpec{ForProvider: forProvider(changeB)},
				Status: v1alpha1.TicketStatus{ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: ready(corev1.ConditionFalse, "spec.forProvider.branch env/dev holds commit 777777777777")},
					AtProvider: v1alpha1.TicketObservation{Phase: v1alpha1.PhaseBlocked, BlockedOn: &v1alpha1.BlockedOn{Field: "branch", Problem: "rendered branch env/dev holds commit 777777777777"}}},
			}}},
		},
		"PausedRollout": {
			reason: "Each Application entry is read back with its message (a paused Rollout).",
			in: map[string]*fnv1.Resource{"ticket-dev": obsTicket{path: "dev", spec: changeB, live: changeB, ready: corev1.ConditionFalse, phase: v1alpha1.PhaseProgressing, message: "paused",
				apps: []v1alpha1.ApplicationStatus{{Name: "a", Namespace: "argocd", Sync: "Synced", Health: "Healthy"}, {Name: "b", Namespace: "argocd", Sync: "Synced", Health: "Suspended", Message: "paused"}}}.resource(t)},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{"dev": {
				Spec: v1alpha1.TicketSpec{ForProvider: forProvider(changeB)},
				Status: v1alpha1.TicketStatus{ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: ready(corev1.ConditionFalse, "paused")},
					AtProvider: v1alpha1.TicketObservation{Change: changeB, Phase: v1alpha1.PhaseProgressing, Applications: []v1alpha1.ApplicationStatus{
						{Name: "a", Namespace: "argocd", Sync: "Synced", Health: "Healthy"}, {Name: "b", Namespace: "argocd", Sync: "Synced", Health: "Suspended", Message: "paused"}}}},
			}}},
		},
		"SubscriptionNothingYet": {
			reason: "A Subscription that found nothing yet has no newest change.",
			in:     map[string]*fnv1.Resource{NameSubscription: subscriptionResource(t, nil)},
			want:   Observed{Tickets: map[string]*v1alpha1.Ticket{}, Subscription: subscription(nil)},
		},
		"SubscriptionOverlayOnItsBase": {
			reason: "An overlay-only change is read back with its base commit and stations.",
			in: map[string]*fnv1.Resource{NameSubscription: subscriptionResource(t, changeA,
				v1alpha1.OverlayChange{Commit: overlayCommit, BaseCommit: changeA.Commit, Stations: []string{"prod"}, DiscoveredAt: &at})},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{}, Subscription: subscription(changeA,
				v1alpha1.OverlayChange{Commit: overlayCommit, BaseCommit: changeA.Commit, Stations: []string{"prod"}, DiscoveredAt: &at})},
		},
		"SubscriptionNewestAndOverlays": {
			reason: "An overlay-only change without a base is read back with its stations.",
			in: map[string]*fnv1.Resource{NameSubscription: subscriptionResource(t, changeA,
				v1alpha1.OverlayChange{Commit: overlayCommit, Stations: []string{"int", "prod"}, DiscoveredAt: &at})},
			want: Observed{Tickets: map[string]*v1alpha1.Ticket{}, Subscription: subscription(changeA,
				v1alpha1.OverlayChange{Commit: overlayCommit, Stations: []string{"int", "prod"}, DiscoveredAt: &at})},
		},
		"OthersIgnored": {
			reason: "A composed resource of another name is none of the function's.",
			in:     map[string]*fnv1.Resource{"other": subscriptionResource(t, changeA)},
			want:   Observed{Tickets: map[string]*v1alpha1.Ticket{}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Every observed Ticket carries the annotation Crossplane sets.
			for path, tk := range tc.want.Tickets {
				tk.Annotations = map[string]string{"crossplane.io/composition-resource-name": TicketName(path)}
			}
			if diff := cmp.Diff(tc.want, parseObserved(tc.in, nil), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nparseObserved(...): -want, +got:\n%s", tc.reason, diff)
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
			got, err := newComposer("ns", "t", nil).Subscription(tr, x.Stops)
			if err != nil {
				t.Fatal(err)
			}
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

// TestComposerKeysTheName is a Ticket composed again for the same station
// under another name (a station added later reads the same, so both take
// the hashed form; a legacy XTrack's claim renamed): the composer, which
// keeps what it encoded by the Ticket's typed content, answers with the new
// name, and with what it kept when nothing changed.
func TestComposerKeysTheName(t *testing.T) {
	tr, err := ParseTrack("guestbook", obj(y(t, trackYAML("guestbook", true, st("dev"))), "spec"))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := Expand(tr, nil)
	cache := newCaches().desired
	compose := func(track string, apart bool) *structpb.Struct {
		c := newComposer("team-a", track, cache)
		defer c.release()
		s, err := c.Ticket(x.Stops[0], changeA, apart)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := compose("guestbook", false)
	if diff := cmp.Diff("guestbook-dev", str(first, "metadata", "name")); diff != "" {
		t.Errorf("metadata.name: -want, +got:\n%s", diff)
	}
	if again := compose("guestbook", false); again != first {
		t.Errorf("composed again as it was: want what the composer kept")
	}
	cases := []struct {
		reason, track string
		apart         bool
		want          string
	}{
		{"Told apart from another station of its Track.", "guestbook", true, "guestbook-dev-0c6e96d7"},
		{"Composed for a Track of another name.", "payments", false, "payments-dev"},
		{"Back to its readable name.", "guestbook", false, "guestbook-dev"},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, str(compose(tc.track, tc.apart), "metadata", "name")); diff != "" {
			t.Errorf("%s\nmetadata.name: -want, +got:\n%s", tc.reason, diff)
		}
	}
}
