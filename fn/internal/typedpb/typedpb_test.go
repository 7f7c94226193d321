package typedpb

import (
	"encoding/json"
	"reflect"
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
			in:     &v1alpha1.SubscriptionParameters{Git: &v1alpha1.GitSubscription{}, Interval: &metav1.Duration{Duration: 5 * time.Minute}},
			want:   `{repo: {url: ""}, git: {}, interval: 5m0s}`,
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
		"TimesAsTheyEncode": {
			reason: "A time is read to the second, as it encodes; one that does not encode as RFC 3339 in UTC (year 10000 there) is not a time.",
			in:     `{spec: {forProvider: {change: {discoveredAt: "9999-12-31T23:30:00-01:00"}}}, status: {atProvider: {verifiedAt: "2026-11-25T12:00:00.5Z"}}}`,
			want:   &v1alpha1.Ticket{Status: v1alpha1.TicketStatus{AtProvider: v1alpha1.TicketObservation{VerifiedAt: &at}}},
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

func TestDecoderSelected(t *testing.T) {
	full := &v1alpha1.Ticket{
		TypeMeta:   metav1.TypeMeta{APIVersion: "provider.k8sta.io/v1alpha1", Kind: "Ticket"},
		ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "team-a", UID: "u-1", ResourceVersion: "7", Labels: map[string]string{"l": "v"}},
		Spec: v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{Track: "t", Station: "dev",
			Change: v1alpha1.Change{ID: "0123456789ab", Commit: "c", Images: []v1alpha1.Image{{Repository: "r", Digest: "sha256:x"}}, DiscoveredAt: &at}}},
		Status: v1alpha1.TicketStatus{
			ManagedResourceStatus: xpv2.ManagedResourceStatus{ConditionedStatus: xpv2.ConditionedStatus{Conditions: []xpv2.Condition{
				{Type: xpv2.TypeReady, Status: corev1.ConditionTrue, Reason: "Available", LastTransitionTime: at, ObservedGeneration: 3}}},
				ObservedStatus: xpv2.ObservedStatus{ObservedGeneration: 3}},
			AtProvider: v1alpha1.TicketObservation{Change: &v1alpha1.Change{ID: "0123456789ab"}, Phase: v1alpha1.PhaseVerified, VerifiedAt: &at,
				RenderedCommit: "r1", Applications: []v1alpha1.ApplicationStatus{{Name: "a", Namespace: "argocd", Message: "m"}}},
		},
	}
	cases := map[string]struct {
		reason string
		sel    Selection
		want   *v1alpha1.Ticket
	}{
		"OnlyWhatIsSelected": {
			reason: "Only the selected fields are decoded, each whole; everything else is left zero.",
			sel: Select(func(t *v1alpha1.Ticket) []any {
				return []any{&t.UID, &t.ResourceVersion, &t.Spec.ForProvider.Change, &t.Status.AtProvider.Phase}
			}),
			want: &v1alpha1.Ticket{
				ObjectMeta: metav1.ObjectMeta{UID: "u-1", ResourceVersion: "7"},
				Spec:       v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{Change: full.Spec.ForProvider.Change}},
				Status:     v1alpha1.TicketStatus{AtProvider: v1alpha1.TicketObservation{Phase: v1alpha1.PhaseVerified}},
			},
		},
		"InlineField": {
			reason: "A field of an inline struct is selected by its Go path; its JSON siblings are not.",
			sel:    Select(func(t *v1alpha1.Ticket) []any { return []any{&t.Status.Conditions} }),
			want: &v1alpha1.Ticket{Status: v1alpha1.TicketStatus{ManagedResourceStatus: xpv2.ManagedResourceStatus{
				ConditionedStatus: full.Status.ConditionedStatus}}},
		},
		"InlineStructWhole": {
			reason: "An inline struct selects all its fields.",
			sel:    Select(func(t *v1alpha1.Ticket) []any { return []any{&t.Status.ManagedResourceStatus} }),
			want:   &v1alpha1.Ticket{Status: v1alpha1.TicketStatus{ManagedResourceStatus: full.Status.ManagedResourceStatus}},
		},
		"WholeAndPart": {
			reason: "A struct selected whole is decoded whole, whatever else of it is selected too.",
			sel: Select(func(t *v1alpha1.Ticket) []any {
				return []any{&t.Status.AtProvider.Phase, &t.Status.AtProvider}
			}),
			want: &v1alpha1.Ticket{Status: v1alpha1.TicketStatus{AtProvider: full.Status.AtProvider}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := &v1alpha1.Ticket{}
			NewDecoder().Selected(fromYAML(t, marshal(t, full)), got, tc.sel)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nSelected(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSelectPanics(t *testing.T) {
	var elsewhere string
	cases := map[string]struct {
		reason string
		pick   func(t *v1alpha1.Ticket) []any
	}{
		"NotAPointer": {
			reason: "A field is named by a pointer to it.",
			pick:   func(t *v1alpha1.Ticket) []any { return []any{t.Kind} },
		},
		"NotAField": {
			reason: "A pointer to anything but a field of the Ticket given is refused.",
			pick:   func(*v1alpha1.Ticket) []any { return []any{&elsewhere} },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s\nSelect(...): want a panic, got none", tc.reason)
				}
			}()
			Select(tc.pick)
		})
	}
}

func TestAppendKey(t *testing.T) {
	ticket := func(f func(t *v1alpha1.Ticket)) *v1alpha1.Ticket {
		discovered := at
		t := &v1alpha1.Ticket{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a"},
			Spec: v1alpha1.TicketSpec{
				ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
				ForProvider: v1alpha1.TicketParameters{Track: "t", Station: "dev", Overlay: "o", Branch: "env/dev",
					Change:       v1alpha1.Change{ID: "0123456789ab", Commit: "c", Images: []v1alpha1.Image{{Repository: "r", Tag: "v1"}}, DiscoveredAt: &discovered},
					Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "argocd"}}},
			},
		}
		f(t)
		return t
	}
	cases := map[string]struct {
		reason string
		a, b   *v1alpha1.Ticket
		same   bool
	}{
		"EqualContent": {
			reason: "Values equal in content, reached through different pointers, share a key.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b:      ticket(func(*v1alpha1.Ticket) {}),
			same:   true,
		},
		"TimesEqualToTheSecond": {
			reason: "Times encoded the same (to the second) share a key.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b: ticket(func(t *v1alpha1.Ticket) {
				d := metav1.NewTime(at.Add(300 * time.Millisecond))
				t.Spec.ForProvider.Change.DiscoveredAt = &d
			}),
			same: true,
		},
		"StringsSplitDifferently": {
			reason: "Strings are not merely concatenated: overlay o + branch env/dev is not overlay oenv + branch /dev.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b:      ticket(func(t *v1alpha1.Ticket) { t.Spec.ForProvider.Overlay, t.Spec.ForProvider.Branch = "oenv", "/dev" }),
		},
		"NestedPointer": {
			reason: "A time a pointer in a nested struct reaches is part of the key.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b: ticket(func(t *v1alpha1.Ticket) {
				d := metav1.NewTime(at.Add(time.Hour))
				t.Spec.ForProvider.Change.DiscoveredAt = &d
			}),
		},
		"NilPointer": {
			reason: "A nil pointer differs from a pointer to a zero value.",
			a:      ticket(func(t *v1alpha1.Ticket) { t.Spec.ForProvider.Change.DiscoveredAt = nil }),
			b:      ticket(func(t *v1alpha1.Ticket) { t.Spec.ForProvider.Change.DiscoveredAt = &metav1.Time{} }),
		},
		"SliceElement": {
			reason: "Each element of a slice is part of the key.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b:      ticket(func(t *v1alpha1.Ticket) { t.Spec.ForProvider.Applications[0].Namespace = "other" }),
		},
		"MoreElements": {
			reason: "A slice's length is part of the key.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b: ticket(func(t *v1alpha1.Ticket) {
				t.Spec.ForProvider.Applications = append(t.Spec.ForProvider.Applications, v1alpha1.ApplicationReference{})
			}),
		},
		"Map": {
			reason: "A map's entries are part of the key.",
			a:      ticket(func(t *v1alpha1.Ticket) { t.Labels = map[string]string{"a": "1", "b": "2"} }),
			b:      ticket(func(t *v1alpha1.Ticket) { t.Labels = map[string]string{"a": "1", "b": "3"} }),
		},
		"MapOrder": {
			reason: "A map's order is not: equal maps share a key.",
			a:      ticket(func(t *v1alpha1.Ticket) { t.Labels = map[string]string{"a": "1", "b": "2", "c": "3"} }),
			b: ticket(func(t *v1alpha1.Ticket) {
				t.Labels = map[string]string{}
				for _, k := range []string{"c", "a", "b"} {
					t.Labels[k] = map[string]string{"a": "1", "b": "2", "c": "3"}[k]
				}
			}),
			same: true,
		},
		"ZeroStatusVersusSet": {
			reason: "A status that is not zero differs from one that is.",
			a:      ticket(func(*v1alpha1.Ticket) {}),
			b:      ticket(func(t *v1alpha1.Ticket) { t.Status.AtProvider.Phase = v1alpha1.PhaseVerified }),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ka, kb := AppendKey(nil, tc.a), AppendKey(nil, tc.b)
			if diff := cmp.Diff(tc.same, string(ka) == string(kb)); diff != "" {
				t.Errorf("%s\nAppendKey(a) == AppendKey(b): -want, +got:\n%s", tc.reason, diff)
			}
			if !tc.same {
				return
			}
			// Equal keys: equal encodings.
			ea, err := NewEncoder().Struct(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			eb, err := NewEncoder().Struct(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ea, eb, protocmp.Transform()); diff != "" {
				t.Errorf("%s\nStruct(a), Struct(b) of equal keys: -a, +b:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestEncoderStructWith(t *testing.T) {
	in := &v1alpha1.TicketParameters{Track: "t", Station: "dev", Change: v1alpha1.Change{ID: "0123456789ab", Commit: "c"}, Repo: v1alpha1.Repository{URL: "u"}}
	got, err := NewEncoder().StructWith(in, []Known{{Field: &in.Change, Value: structpb.NewStringValue("known")}})
	if err != nil {
		t.Fatal(err)
	}
	want := fromYAML(t, `{track: t, station: dev, change: known, repo: {url: u}, overlay: "", branch: ""}`)
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("A known field is encoded as the value the caller gives, the others as Struct does.\nStructWith(...): -want, +got:\n%s", diff)
	}
}

func TestEncoderObjectsApart(t *testing.T) {
	pcr := &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	objects := []*v1alpha1.Ticket{
		{Spec: v1alpha1.TicketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pcr}, ForProvider: v1alpha1.TicketParameters{Station: "dev"}}},
		{Spec: v1alpha1.TicketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pcr}, ForProvider: v1alpha1.TicketParameters{Station: "prod"}}},
	}
	e := NewEncoder()
	var refs []*structpb.Value
	for _, o := range objects {
		s, err := e.StructWith(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if least := leastHeld(s); e.Held() < least {
			t.Errorf("Held() is at least what the object's values hold: want >= %d, got %d", least, e.Held())
		}
		refs = append(refs, s.GetFields()["spec"].GetStructValue().GetFields()["providerConfigRef"])
	}
	if refs[0] == refs[1] {
		t.Errorf("Objects share nothing but known fields: both reach the same providerConfigRef value")
	}
}

// leastHeld is at least what the values s reaches hold: their structs,
// their map entries' keys and values, their strings.
func leastHeld(s *structpb.Struct) int {
	n := int(reflect.TypeFor[structpb.Struct]().Size())
	for k, v := range s.GetFields() {
		n += len(k) + 8 + int(reflect.TypeFor[structpb.Value]().Size())
		switch k := v.GetKind().(type) {
		case *structpb.Value_StringValue:
			n += len(k.StringValue)
		case *structpb.Value_StructValue:
			n += leastHeld(k.StructValue)
		}
	}
	return n
}
