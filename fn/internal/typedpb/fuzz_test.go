package typedpb

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// The fields the function reads of observed Tickets and Subscriptions (as
// fn's ticketRead, objectIdentity and subscriptionRead select them): the
// allow-lists the fuzz target decodes through besides whole objects.
var (
	fuzzTicketRead = Select(func(t *v1alpha1.Ticket) []any {
		return []any{
			&t.Spec.ForProvider.Change,
			&t.Status.Conditions,
			&t.Status.AtProvider.Change,
			&t.Status.AtProvider.Phase,
			&t.Status.AtProvider.VerifiedAt,
			&t.Status.AtProvider.Applications,
		}
	})
	fuzzTicketIdentity   = Select(func(t *v1alpha1.Ticket) []any { return []any{&t.UID, &t.ResourceVersion} })
	fuzzSubscriptionRead = Select(func(s *v1alpha1.Subscription) []any {
		return []any{&s.Status.AtProvider.Newest, &s.Status.AtProvider.OverlayChanges}
	})
)

// fuzzSeeds are objects as the API server stores them: a verified Ticket, a
// Ticket being delivered, a Subscription with what it found.
func fuzzSeeds(f *testing.F) []string {
	f.Helper()
	at := metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	grace := int64(30)
	change := v1alpha1.Change{ID: "0123456789ab", Commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
		Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "v1.2.3", Digest: "sha256:0123"}}, DiscoveredAt: &at}
	verified := &v1alpha1.Ticket{
		TypeMeta: metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Ticket"},
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook-dev", Namespace: "team-a", UID: "6f1c1e9a-0000-4000-8000-000000000001",
			ResourceVersion: "12345", Generation: 4, CreationTimestamp: at, DeletionGracePeriodSeconds: &grace,
			Labels:          map[string]string{"crossplane.io/composite": "guestbook"},
			Annotations:     map[string]string{"crossplane.io/composition-resource-name": "ticket-dev"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "k8sta.io/v1alpha1", Kind: "Track", Name: "guestbook", UID: "u-track"}},
			Finalizers:      []string{"finalizer.managedresource.crossplane.io"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "crossplane", Operation: metav1.ManagedFieldsOperationApply, Time: &at,
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:forProvider":{}}}`)}}},
		},
		Spec: v1alpha1.TicketSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
			ForProvider: v1alpha1.TicketParameters{Track: "guestbook", Station: "dev", Change: change,
				Repo: v1alpha1.Repository{URL: "https://git.example.com/acme/guestbook.git"}, Overlay: "overlays/dev", Branch: "env/dev",
				Applications: []v1alpha1.ApplicationReference{{Name: "guestbook-dev", Namespace: "argocd"}}},
		},
		Status: v1alpha1.TicketStatus{
			ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: xpv2.ConditionedStatus{Conditions: []xpv2.Condition{
				{Type: xpv2.TypeReady, Status: corev1.ConditionTrue, Reason: "Available", LastTransitionTime: at, ObservedGeneration: 4},
				{Type: xpv2.TypeSynced, Status: corev1.ConditionTrue, Reason: "ReconcileSuccess", LastTransitionTime: at}}},
				ObservedStatus: xpv2.ObservedStatus{ObservedGeneration: 4}},
			AtProvider: v1alpha1.TicketObservation{Change: &change, Phase: v1alpha1.PhaseVerified, VerifiedAt: &at, RenderedCommit: "r1",
				Applications: []v1alpha1.ApplicationStatus{{Name: "guestbook-dev", Namespace: "argocd", Message: "healthy"}}},
		},
	}
	progressing := verified.DeepCopy()
	progressing.Status.AtProvider.Phase, progressing.Status.AtProvider.VerifiedAt = v1alpha1.PhaseProgressing, nil
	progressing.Status.Conditions = []xpv2.Condition{{Type: xpv2.TypeReady, Status: corev1.ConditionFalse, Reason: "Creating",
		Message: "waiting for guestbook-dev", LastTransitionTime: at}}
	interval := metav1.Duration{Duration: 5 * time.Minute}
	subscription := &v1alpha1.Subscription{
		TypeMeta:   metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Subscription"},
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "team-a", UID: "u-sub", ResourceVersion: "7"},
		Spec: v1alpha1.SubscriptionSpec{ForProvider: v1alpha1.SubscriptionParameters{
			Repo:     v1alpha1.Repository{URL: "https://git.example.com/acme/guestbook.git"},
			Images:   []v1alpha1.ImageSubscription{{Repository: "ghcr.io/acme/guestbook", Strategy: "SemVer", IgnoreTags: []string{"latest"}, DiscoveryLimit: 20}},
			Git:      &v1alpha1.GitSubscription{Paths: []v1alpha1.RepoPath{"base"}},
			Overlays: []v1alpha1.StationOverlay{{Station: "dev", Overlay: "overlays/dev"}},
			Interval: &interval,
		}},
		Status: v1alpha1.SubscriptionStatus{AtProvider: v1alpha1.SubscriptionObservation{
			Newest:         &change,
			OverlayChanges: []v1alpha1.OverlayChange{{Commit: "c2", BaseCommit: "c1", Stations: []string{"dev"}, DiscoveredAt: &at}},
			Sources:        []v1alpha1.SourceStatus{{Source: "git", Revision: "c2", LastPolled: &at}},
		}},
	}
	var seeds []string
	for _, o := range []any{verified, progressing, subscription} {
		j, err := json.Marshal(o)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(j))
	}
	return append(seeds,
		// Values of other types than their fields'.
		`{"kind":[1],"metadata":{"labels":{"a":1},"generation":"4"},"spec":{"forProvider":{"track":3,"change":{"images":{"tag":"v1"}}}},`+
			`"status":{"conditions":[null,{"lastTransitionTime":"yesterday"}],"atProvider":{"verifiedAt":7,"change":"c"}}}`,
		// Empty and null values.
		`{"metadata":{"labels":{},"finalizers":[],"deletionTimestamp":null},"spec":{"forProvider":{"change":{"images":[]}}},"status":{}}`,
	)
}

// FuzzDecode decodes arbitrary objects into Tickets and Subscriptions, whole
// and through the function's allow-lists: decoding never panics, and what it
// decodes is a fixed point, decoded again the same after it is encoded.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		s, err := structpb.NewStruct(m)
		if err != nil {
			return // not a Struct, as invalid UTF-8
		}
		roundTrip[v1alpha1.Ticket](t, s, nil)
		roundTrip[v1alpha1.Ticket](t, s, &fuzzTicketRead)
		roundTrip[v1alpha1.Ticket](t, s, &fuzzTicketIdentity)
		roundTrip[v1alpha1.Subscription](t, s, nil)
		roundTrip[v1alpha1.Subscription](t, s, &fuzzSubscriptionRead)
	})
}

// roundTrip decodes s into a T, through sel if not nil, encodes what it
// decoded and decodes that: both decoded values must be equal, but for an
// empty list or map of an omitempty field, which encodes to nothing (as in
// encoding/json) and so decodes to nil: Kubernetes holds both the same.
func roundTrip[T any](t *testing.T, s *structpb.Struct, sel *Selection) {
	t.Helper()
	decode := func(s *structpb.Struct) *T {
		v := new(T)
		if sel != nil {
			NewDecoder().Selected(s, v, *sel)
		} else {
			NewDecoder().Struct(s, v)
		}
		return v
	}
	first := decode(s)
	enc, err := NewEncoder().Struct(first)
	if err != nil {
		t.Fatalf("Struct(%T): cannot encode what was decoded: %v", first, err)
	}
	second := decode(enc)
	if diff := cmp.Diff(first, second, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%T decoded, encoded as %v and decoded again: -first, +second:\n%s", first, enc, diff)
	}
}
