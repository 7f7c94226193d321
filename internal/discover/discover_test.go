package discover

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/internal/gitrepo"
)

func TestClassify(t *testing.T) {
	overlays := []Overlay{
		{Station: "dev", Dir: "overlays/dev"},
		{Station: "regions.guestbook-us.prod", Dir: "overlays/us/"},
		{Station: "regions.guestbook-eu.prod", Dir: "./overlays/eu"},
	}
	own := "k8sta: render dev change abc\n\nK8sta-Change: abc"
	cases := map[string]struct {
		commits []gitrepo.Commit
		want    Classified
	}{
		"Nothing": {},
		"BaseCommit": {
			commits: []gitrepo.Commit{{Hash: "b1", Message: "bump base", Paths: []string{"base/deployment.yaml"}}},
			want:    Classified{Base: "b1"},
		},
		"NewestBaseWins": {
			commits: []gitrepo.Commit{
				{Hash: "b1", Message: "one", Paths: []string{"base/a.yaml"}},
				{Hash: "b2", Message: "two", Paths: []string{"README.md"}},
			},
			want: Classified{Base: "b2"},
		},
		"OverlayOnly": {
			commits: []gitrepo.Commit{{Hash: "o1", Message: "eu replicas", Paths: []string{"overlays/eu/replicas.yaml"}}},
			want:    Classified{Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{"regions.guestbook-eu.prod"}, Base: "b0"}}},
		},
		"TwoOverlays": {
			commits: []gitrepo.Commit{{Hash: "o1", Message: "both", Paths: []string{"overlays/eu/a.yaml", "overlays/us/a.yaml"}}},
			want: Classified{Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{
				"regions.guestbook-eu.prod", "regions.guestbook-us.prod",
			}, Base: "b0"}}},
		},
		"OverlayAfterBaseKeepsThatBase": {
			commits: []gitrepo.Commit{
				{Hash: "o1", Message: "dev before", Paths: []string{"overlays/dev/a.yaml"}},
				{Hash: "b1", Message: "base", Paths: []string{"base/a.yaml"}},
				{Hash: "o2", Message: "dev after", Paths: []string{"overlays/dev/a.yaml"}},
			},
			want: Classified{Base: "b1", Overlays: []OverlayCommit{
				{Commit: "o1", Stations: []string{"dev"}, Base: "b0"},
				{Commit: "o2", Stations: []string{"dev"}, Base: "b1"},
			}},
		},
		"MixedIsBase": {
			commits: []gitrepo.Commit{{Hash: "m1", Message: "mixed", Paths: []string{"base/a.yaml", "overlays/dev/a.yaml"}}},
			want:    Classified{Base: "m1"},
		},
		"PrefixIsNotOverlay": {
			commits: []gitrepo.Commit{{Hash: "p1", Message: "sibling dir", Paths: []string{"overlays/development/a.yaml"}}},
			want:    Classified{Base: "p1"},
		},
		"OwnCommitIgnored": {
			commits: []gitrepo.Commit{{Hash: "k1", Message: own, Paths: []string{"base/a.yaml"}}},
		},
		"OwnCommitMentionedInSubjectIsHuman": {
			commits: []gitrepo.Commit{{Hash: "h1", Message: "K8sta-Change: abc is what we call it", Paths: []string{"base/a.yaml"}}},
			want:    Classified{Base: "h1"},
		},
		"EmptyCommitIgnored": {
			commits: []gitrepo.Commit{{Hash: "e1", Message: "empty"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Classify(tc.commits, overlays, nil, "b0")
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Classify: -want +got:\n%s", diff)
			}
		})
	}
}

// A Track on a config monorepo follows only its paths and its stations'
// overlays: another app's commit is no change for it.
func TestClassifyPaths(t *testing.T) {
	overlays := []Overlay{
		{Station: "dev", Dir: "apps/a/overlays/dev"},
		{Station: "prod", Dir: "apps/a/overlays/prod/"},
	}
	monorepo := []string{"base/", "apps/a/"}
	cases := map[string]struct {
		reason  string
		paths   []string
		commits []gitrepo.Commit
		want    Classified
	}{
		"OtherAppSkipped": {
			reason:  "A commit to another app's directory is no change: neither base nor overlay.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "x1", Message: "app b", Paths: []string{"apps/b/overlays/dev/replicas.yaml", "apps/b/base/deployment.yaml"}}},
		},
		"RootFileOutsidePathsSkipped": {
			reason:  "A file outside every path is no change either.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "x1", Message: "docs", Paths: []string{"README.md"}}},
		},
		"SharedBase": {
			reason:  "A commit to a followed directory outside the overlays is a base change.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "b1", Message: "base", Paths: []string{"base/deployment.yaml"}}},
			want:    Classified{Base: "b1"},
		},
		"OwnAppOutsideOverlays": {
			reason:  "The app's own directory outside its overlays is base too.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "b1", Message: "app a base", Paths: []string{"apps/a/base/kustomization.yaml"}}},
			want:    Classified{Base: "b1"},
		},
		"OwnOverlay": {
			reason:  "A commit to a station's overlay is an overlay change for that station.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "o1", Message: "dev", Paths: []string{"apps/a/overlays/dev/replicas.yaml"}}},
			want:    Classified{Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{"dev"}, Base: "b0"}}},
		},
		"OwnOverlayAndOtherApp": {
			reason:  "Another app's paths in the same commit do not make an overlay change a base change.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "o1", Message: "both apps", Paths: []string{"apps/a/overlays/prod/replicas.yaml", "apps/b/base/deployment.yaml"}}},
			want:    Classified{Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{"prod"}, Base: "b0"}}},
		},
		"OwnOverlayAndBase": {
			reason:  "A followed path outside the overlays still makes a mixed commit a base change.",
			paths:   monorepo,
			commits: []gitrepo.Commit{{Hash: "m1", Message: "mixed", Paths: []string{"apps/a/overlays/dev/a.yaml", "base/a.yaml"}}},
			want:    Classified{Base: "m1"},
		},
		"OverlaysAlwaysCount": {
			reason:  "An overlay outside every path still counts: an overlay-only commit stays an overlay change.",
			paths:   []string{"base"},
			commits: []gitrepo.Commit{{Hash: "o1", Message: "dev", Paths: []string{"apps/a/overlays/dev/a.yaml"}}},
			want:    Classified{Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{"dev"}, Base: "b0"}}},
		},
		"SkippedKeepsBase": {
			reason: "A skipped commit between a base and an overlay commit moves neither.",
			paths:  monorepo,
			commits: []gitrepo.Commit{
				{Hash: "b1", Message: "base", Paths: []string{"base/a.yaml"}},
				{Hash: "x1", Message: "app b", Paths: []string{"apps/b/a.yaml"}},
				{Hash: "o1", Message: "dev", Paths: []string{"apps/a/overlays/dev/a.yaml"}},
				{Hash: "x2", Message: "app b again", Paths: []string{"apps/b/a.yaml"}},
			},
			want: Classified{Base: "b1", Overlays: []OverlayCommit{{Commit: "o1", Stations: []string{"dev"}, Base: "b1"}}},
		},
		"WholeSegments": {
			reason:  "apps/guest is not a prefix of apps/guestbook: paths match whole segments.",
			paths:   []string{"apps/guest"},
			commits: []gitrepo.Commit{{Hash: "x1", Message: "guestbook", Paths: []string{"apps/guestbook/a.yaml"}}},
		},
		"NoTrailingSlash": {
			reason:  "A directory without its trailing / matches what is below it.",
			paths:   []string{"apps/guest"},
			commits: []gitrepo.Commit{{Hash: "b1", Message: "guest", Paths: []string{"apps/guest/a.yaml"}}},
			want:    Classified{Base: "b1"},
		},
		"File": {
			reason: "A path may name a file: that file alone, not its namesakes.",
			paths:  []string{"kustomization.yaml"},
			commits: []gitrepo.Commit{
				{Hash: "b1", Message: "root", Paths: []string{"kustomization.yaml"}},
				{Hash: "x1", Message: "backup", Paths: []string{"kustomization.yaml.bak"}},
			},
			want: Classified{Base: "b1"},
		},
		"NoPathsEveryPath": {
			reason:  "Without paths every path outside the overlays is base, as before paths existed.",
			commits: []gitrepo.Commit{{Hash: "b1", Message: "app b", Paths: []string{"apps/b/overlays/dev/a.yaml"}}},
			want:    Classified{Base: "b1"},
		},
		"EmptyPathsEveryPath": {
			reason:  "An empty list is no list.",
			paths:   []string{},
			commits: []gitrepo.Commit{{Hash: "o1", Message: "dev and app b", Paths: []string{"apps/a/overlays/dev/a.yaml", "apps/b/a.yaml"}}},
			want:    Classified{Base: "o1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Classify(tc.commits, overlays, tc.paths, "b0")
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nClassify: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
