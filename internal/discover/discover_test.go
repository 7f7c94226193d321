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
			got := Classify(tc.commits, overlays, "b0")
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Classify: -want +got:\n%s", diff)
			}
		})
	}
}
