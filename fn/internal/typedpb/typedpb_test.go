package typedpb

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

var at = metav1.NewTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))

func fromYAML(t *testing.T, s string) *structpb.Struct {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	out := &structpb.Struct{}
	if err := out.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncoderStruct(t *testing.T) {
	change := &v1alpha1.Change{ID: "0123456789ab", Commit: "c", Images: []v1alpha1.Image{{Repository: "r", Tag: "v1"}}, DiscoveredAt: &at}
	cases := map[string]struct {
		reason string
		in     any
		want   string
	}{
		"Ticket": {
			reason: "Fields are named by their JSON tags, inline structs flattened; an empty status and a zero creationTimestamp are omitted, not written as {} and null.",
			in: &v1alpha1.Ticket{
				TypeMeta:   metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Ticket"},
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-a"},
				Spec: v1alpha1.TicketSpec{
					ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
					ForProvider: v1alpha1.TicketParameters{Track: "t", Station: "dev", Change: *change, Repo: v1alpha1.Repository{URL: "u"},
						Overlay: "o", Branch: "env/dev", Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "argocd"}}},
				},
			},
			want: `apiVersion: provider.k8sta.io/v1alpha1
kind: Ticket
metadata: {namespace: team-a}
spec:
  providerConfigRef: {kind: ProviderConfig, name: default}
  forProvider:
    track: t
    station: dev
    change: {id: 0123456789ab, commit: c, images: [{repository: r, tag: v1}], discoveredAt: "2026-11-25T12:00:00Z"}
    repo: {url: u}
    overlay: o
    branch: env/dev
    applications: [{name: a, namespace: argocd}]
`,
		},
		"EmptyPointerKept": {
			reason: "A non-nil pointer to an empty struct is kept: git: {} means follow the source branch.",
			in:     &v1alpha1.SubscriptionParameters{Track: "t", Git: &v1alpha1.GitSubscription{}, Interval: &metav1.Duration{Duration: 5 * time.Minute}},
			want:   `{track: t, repo: {url: ""}, git: {}, interval: 5m0s}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := NewEncoder().Struct(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fromYAML(t, tc.want), got, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nStruct(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestDecoderStruct(t *testing.T) {
	full := &v1alpha1.Ticket{
		TypeMeta:   metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Ticket"},
		ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "team-a", Labels: map[string]string{"l": "v"}},
		Spec: v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{Track: "t", Station: "dev",
			Change: v1alpha1.Change{ID: "0123456789ab", Commit: "c", Images: []v1alpha1.Image{{Repository: "r", Digest: "sha256:x"}}, DiscoveredAt: &at}}},
		Status: v1alpha1.TicketStatus{
			ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: xpv2.ConditionedStatus{Conditions: []xpv2.Condition{
				{Type: xpv2.TypeReady, Status: corev1.ConditionTrue, Reason: "Available", LastTransitionTime: at, ObservedGeneration: 3}}}},
			AtProvider: v1alpha1.TicketObservation{Change: &v1alpha1.Change{ID: "0123456789ab"}, Phase: v1alpha1.PhaseVerified, VerifiedAt: &at,
				Applications: []v1alpha1.ApplicationStatus{{Name: "a", Namespace: "argocd", Message: "m"}}},
		},
	}
	cases := map[string]struct {
		reason string
		in     string
		ignore []any
		want   *v1alpha1.Ticket
	}{
		"AsEncodingJSONWrites": {
			reason: "What encoding/json wrote is read back whole.",
			in:     marshal(t, full),
			want:   full,
		},
		"MetadataIgnored": {
			reason: "The values of an ignored type are left alone.",
			in:     marshal(t, full),
			ignore: []any{(*metav1.ObjectMeta)(nil)},
			want: func() *v1alpha1.Ticket {
				w := full.DeepCopy()
				w.ObjectMeta = metav1.ObjectMeta{}
				return w
			}(),
		},
		"WrongTypesIgnored": {
			reason: "A value of another type than its field's leaves the field zero; unknown fields are ignored.",
			in:     `{kind: [1], spec: {forProvider: {track: 3, station: dev, unknown: x, applications: {name: a}}}, status: {atProvider: {verifiedAt: yesterday}}}`,
			want:   &v1alpha1.Ticket{Spec: v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{Station: "dev"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := &v1alpha1.Ticket{}
			NewDecoder(tc.ignore...).Struct(fromYAML(t, tc.in), got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nStruct(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}
