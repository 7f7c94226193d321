package fn

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestParseTrack(t *testing.T) {
	type want struct {
		track *Track
		err   error
	}
	cases := map[string]struct {
		reason string
		spec   string
		want   want
	}{
		"Defaults": {
			reason: "Source branch, rendered branch, Application namespace and providerConfigRef get their defaults.",
			spec:   `{repo: {url: u}, subscriptions: {git: {}}, stations: [{name: dev, overlay: o, applications: [{name: a}], soak: 90s, pin: abc}, {name: regions, tracks: [us]}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "u", SourceBranch: "main"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ProviderConfig", Name: "default"},
				Stations: []Station{
					{Name: "dev", Overlay: "o", Branch: "env/dev", Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "argocd"}}, Soak: 90 * time.Second, Pin: "abc"},
					{Name: "regions", Branch: "env/regions", Tracks: []string{"us"}},
				},
			}},
		},
		"AsWritten": {
			reason: "What the Track says wins over defaults.",
			spec:   `{repo: {url: u, sourceBranch: trunk}, providerConfigRef: {kind: ClusterProviderConfig, name: shared}, stations: [{name: dev, overlay: o, branch: rendered/dev, applications: [{name: a, namespace: cd}]}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "u", SourceBranch: "trunk"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ClusterProviderConfig", Name: "shared"},
				Stations:          []Station{{Name: "dev", Overlay: "o", Branch: "rendered/dev", Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "cd"}}}},
			}},
		},
		"NoRepo": {
			spec: `{stations: [{name: a, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.url is empty: set it to the config repository's URL"}},
		},
		"NoStations": {
			spec: `{repo: {url: u}, stations: []}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations is empty: a Track needs at least one station"}},
		},
		"DuplicateStation": {
			spec: `{repo: {url: u}, stations: [{name: a, tracks: [b]}, {name: a, tracks: [c]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: two stations are named "a": station names must be unique`}},
		},
		"NotADNSLabel": {
			spec: `{repo: {url: u}, stations: [{name: A.b, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: spec.stations[0]: name "A.b" is not a DNS label (lower-case letters, digits and '-', at most 63)`}},
		},
		"EmptyStation": {
			spec: `{repo: {url: u}, stations: [{name: a}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations[0]: station a has neither applications nor tracks: give it one or both"}},
		},
		"NoOverlay": {
			spec: `{repo: {url: u}, stations: [{name: a, applications: [{name: x}]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations[0]: station a has applications but no overlay: set overlay to its kustomize directory"}},
		},
		"BadSoak": {
			spec: `{repo: {url: u}, stations: [{name: a, tracks: [b], soak: soon}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: spec.stations[0]: station a: soak "soon" is not a duration such as 10m or 1h30m`}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTrack("t", y(t, tc.spec))
			if diff := cmp.Diff(tc.want.err, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("%s\nParseTrack(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.track, got, cmpopts.IgnoreFields(Track{}, "Subscriptions")); diff != "" {
				t.Errorf("%s\nParseTrack(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseTrackSubscriptions(t *testing.T) {
	for name, tc := range map[string]struct {
		spec string
		want bool
	}{
		"Subscribes": {spec: `{repo: {url: u}, subscriptions: {images: [{repository: r}]}, stations: [{name: a, tracks: [b]}]}`, want: true},
		"Section":    {spec: `{repo: {url: u}, stations: [{name: a, tracks: [b]}]}`, want: false},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTrack("t", y(t, tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Subscriptions != (*structpb.Struct)(nil)); diff != "" {
				t.Errorf("Subscriptions set: -want, +got:\n%s", diff)
			}
		})
	}
}
