package fn

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {}}, stations: [{name: dev, overlay: o, applications: [{name: a}], soak: 90s, pin: abcabcabcabc}, {name: regions, tracks: [us]}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "https://git.example.com/u", SourceBranch: "main"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ProviderConfig", Name: "default"},
				Stations: []Station{
					{Name: "dev", Overlay: "o", Branch: "env/dev", Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "argocd"}}, Soak: 90 * time.Second, Pin: "abcabcabcabc"},
					{Name: "regions", Branch: "env/regions", Tracks: []string{"us"}},
				},
			}},
		},
		"AsWritten": {
			reason: "What the Track says wins over defaults.",
			spec:   `{repo: {url: https://git.example.com/u, sourceBranch: trunk}, providerConfigRef: {kind: ClusterProviderConfig, name: shared}, stations: [{name: dev, overlay: o, branch: rendered/dev, applications: [{name: a, namespace: cd}]}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "https://git.example.com/u", SourceBranch: "trunk"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ClusterProviderConfig", Name: "shared"},
				Stations:          []Station{{Name: "dev", Overlay: "o", Branch: "rendered/dev", Applications: []v1alpha1.ApplicationReference{{Name: "a", Namespace: "cd"}}}},
			}},
		},
		"NoRepo": {
			spec: `{stations: [{name: a, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.url is empty: set it to the config repository's URL"}},
		},
		"NoStations": {
			spec: `{repo: {url: https://git.example.com/u}, stations: []}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations is empty: a Track needs at least one station"}},
		},
		"DuplicateStation": {
			spec: `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b]}, {name: a, tracks: [c]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: two stations are named "a": station names must be unique`}},
		},
		"NotADNSLabel": {
			spec: `{repo: {url: https://git.example.com/u}, stations: [{name: A.b, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: spec.stations[0]: name "A.b" is not a DNS label (lower-case letters, digits and '-', at most 63)`}},
		},
		"EmptyStation": {
			spec: `{repo: {url: https://git.example.com/u}, stations: [{name: a}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations[0]: station a has neither applications nor tracks: give it one or both"}},
		},
		"NoOverlay": {
			spec: `{repo: {url: https://git.example.com/u}, stations: [{name: a, applications: [{name: x}]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations[0]: station a has applications but no overlay: set overlay to its kustomize directory"}},
		},
		"BadSoak": {
			spec: `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b], soak: soon}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack, Message: `Track t: spec.stations[0]: station a: soak "soon" is not a duration such as 10m or 1h30m`}},
		},
		"FileURL": {
			reason: "A file:// URL would make the provider read its own disk: refused, naming the field.",
			spec:   `{repo: {url: "file:///var/lib/k8sta"}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.url " + msgURLScheme}},
		},
		"GitURL": {
			reason: "git:// is unauthenticated and unencrypted: refused.",
			spec:   `{repo: {url: "git://git.example.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.url " + msgURLScheme}},
		},
		"Credentials": {
			reason: "Credentials in the URL are refused, and the message does not quote them.",
			spec:   `{repo: {url: "https://bob:s3cret@git.example.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.url " + msgURLCredentials}},
		},
		"BadSourceBranch": {
			reason: "The source branch must be a branch name.",
			spec:   `{repo: {url: https://git.example.com/u, sourceBranch: "main..x"}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.repo.sourceBranch " + msgBranch}},
		},
		"BadBranch": {
			reason: "A rendered branch must be a branch name; the message names the station's field.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b]}, {name: b, overlay: o, branch: "-f", applications: [{name: x}]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.stations[1].branch " + msgBranch}},
		},
		"BranchIsSource": {
			reason: "A station may not write the source branch: publishing would replace it.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b]}, {name: b, overlay: o, branch: main, applications: [{name: x}]}]}`,
			want: want{err: TrackError{Reason: ReasonBranchIsSource,
				Message: "Track t: spec.stations[1].branch is main, the source branch (spec.repo.sourceBranch): publishing replaces a branch's whole tree; set spec.stations[1].branch to another branch"}},
		},
		"DefaultBranchIsSource": {
			reason: "A station's default branch env/<name> may not be the source branch either.",
			spec:   `{repo: {url: https://git.example.com/u, sourceBranch: env/prod}, stations: [{name: prod, overlay: o, applications: [{name: x}]}]}`,
			want: want{err: TrackError{Reason: ReasonBranchIsSource,
				Message: "Track t: spec.stations[0].branch defaults to env/prod, the source branch (spec.repo.sourceBranch): publishing replaces a branch's whole tree; set spec.stations[0].branch to another branch"}},
		},
		"OverlayLeavesRepository": {
			reason: "An overlay is a directory inside the repository.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, overlay: overlays/../../etc, applications: [{name: x}]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations[0].overlay must be a directory inside the repository, relative to its root, without '..'"}},
		},
		"BadPin": {
			reason: "A pin is a change id.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b], pin: latest}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations[0].pin must be a change id, 12 hexadecimal digits as status.stations[].change shows"}},
		},
		"ManualApproval": {
			reason: "approval: Manual makes a station wait for Approvals; Automatic is the default, written or not.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b], approval: Automatic}, {name: c, tracks: [d], approval: Manual}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "https://git.example.com/u", SourceBranch: "main"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ProviderConfig", Name: "default"},
				Stations:          []Station{{Name: "a", Branch: "env/a", Tracks: []string{"b"}}, {Name: "c", Branch: "env/c", Tracks: []string{"d"}, Manual: true}},
			}},
		},
		"BadApproval": {
			reason: "approval is Automatic or Manual, spelled as the XRD spells them.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b], approval: manual}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: `Track t: spec.stations[0].approval "manual" must be Automatic or Manual: Manual stops each change before the station until an Approval names it`}},
		},
		"TooManyStations": {
			reason: "A Track has at most 100 stations, though a Track that skips the XRD's maxItems may have more.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [` + strings.Join(stations("s", 101), ", ") + `]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations has 101 stations, more than 100: split the Track into sections fed by a junction"}},
		},
		"TooManyTracks": {
			reason: "A junction feeds at most 20 Tracks.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: j, tracks: [` + names("x", 21) + `]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations[0].tracks names 21 Tracks, more than 20: feed fewer sections from this junction"}},
		},
		"TooManyApplications": {
			reason: "A station has at most 50 Applications.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: a, overlay: o, applications: [` + strings.Repeat("{name: x}, ", 51) + `]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations[0].applications has 51 Applications, more than 50: split the station"}},
		},
		"GitPaths": {
			reason: "The paths a Track follows on a monorepo are kept as written.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [base/, apps/guestbook]}}, stations: [{name: a, tracks: [b]}]}`,
			want: want{track: &Track{
				Name: "t", Repo: v1alpha1.Repository{URL: "https://git.example.com/u", SourceBranch: "main"},
				ProviderConfigRef: ProviderConfigRef{Kind: "ProviderConfig", Name: "default"},
				GitPaths:          []string{"base/", "apps/guestbook"},
				Stations:          []Station{{Name: "a", Branch: "env/a", Tracks: []string{"b"}}},
			}},
		},
		"GitPathLeavesRepository": {
			reason: "A path is inside the repository; the message names the entry.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [base/, "apps/../../etc"]}}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.subscriptions.git.paths[1] " + msgPathDotSegment}},
		},
		"AbsoluteGitPath": {
			reason: "A path is relative to the repository root.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [/base]}}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.subscriptions.git.paths[0] " + msgPathAbsolute}},
		},
		"GitPathControlCharacter": {
			reason: "A control character is refused, and not quoted.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: ["apps/a\nforged: line"]}}, stations: [{name: a, tracks: [b]}]}`,
			want:   want{err: TrackError{Reason: ReasonInvalidTrack, Message: "Track t: spec.subscriptions.git.paths[0] " + msgPathControl}},
		},
		"GitPathNotAString": {
			reason: "Past the schema, a path may not be a string at all.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [{a: b}]}}, stations: [{name: a, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.subscriptions.git.paths[0] is empty: name a directory or file relative to the repository root, e.g. apps/guestbook/"}},
		},
		"TooManyGitPaths": {
			reason: "A Track follows at most 32 paths.",
			spec:   `{repo: {url: https://git.example.com/u}, subscriptions: {git: {paths: [` + names("p", 33) + `]}}, stations: [{name: a, tracks: [b]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.subscriptions.git.paths has 33 paths, more than 32: name their parent directories instead"}},
		},
		"BadTrackName": {
			reason: "A junction names Tracks by their object names.",
			spec:   `{repo: {url: https://git.example.com/u}, stations: [{name: j, tracks: [ok, Not_A_Name]}]}`,
			want: want{err: TrackError{Reason: ReasonInvalidTrack,
				Message: "Track t: spec.stations[0].tracks[1] must be the name of a Track in this namespace: a DNS subdomain of at most 253 characters"}},
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
		"Subscribes": {spec: `{repo: {url: https://git.example.com/u}, subscriptions: {images: [{repository: r}]}, stations: [{name: a, tracks: [b]}]}`, want: true},
		"Section":    {spec: `{repo: {url: https://git.example.com/u}, stations: [{name: a, tracks: [b]}]}`, want: false},
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

func TestQuotedCutsOnARune(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     string
		want   string
	}{
		"Short": {
			reason: "A value that fits is quoted whole.",
			in:     "dev", want: "dev",
		},
		"LongMultibyte": {
			reason: "A value past 64 bytes is cut before the rune that would cross the bound and marked: 20 three-byte runes fill 60 bytes, 'é' would take 62 and leave no room for the mark.",
			in:     strings.Repeat("日", 20) + "éééé",
			want:   strings.Repeat("日", 20) + "…",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := quoted(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nquoted(...): -want, +got:\n%s", tc.reason, diff)
			}
			if !utf8.ValidString(got) {
				t.Errorf("quoted(%q) = %q is not valid UTF-8", tc.in, got)
			}
		})
	}
}
