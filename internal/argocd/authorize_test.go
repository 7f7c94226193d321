package argocd

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	testRepo   = "https://git.example.com/acme/guestbook-config.git"
	testBranch = "env/dev"
	testTrack  = "team-a/guestbook"
)

func app(annotation string, sources ...ApplicationSource) *Application {
	a := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "guestbook-dev"}}
	if annotation != "" {
		a.SetAnnotations(map[string]string{AuthorizedTracksAnnotation: annotation})
	}
	switch len(sources) {
	case 0:
	case 1:
		a.Spec.Source = &sources[0]
	default:
		a.Spec.Sources = sources
	}
	return a
}

func src(repo, rev string) ApplicationSource {
	return ApplicationSource{RepoURL: repo, Path: ".", TargetRevision: rev}
}

func TestAuthorize(t *testing.T) {
	type want struct {
		index int
		err   string // empty: authorized
	}
	cases := map[string]struct {
		app   *Application
		track string
		repo  string
		want  want
	}{
		"AnnotationMissing": {
			app: app("", src(testRepo, testBranch)),
			want: want{err: "Application argocd/guestbook-dev does not authorize track team-a/guestbook: " +
				"add team-a/guestbook to its annotation k8sta.io/authorized-tracks"},
		},
		"OtherTrack": {
			app: app("team-b/guestbook", src(testRepo, testBranch)),
			want: want{err: "Application argocd/guestbook-dev does not authorize track team-a/guestbook: " +
				"add team-a/guestbook to its annotation k8sta.io/authorized-tracks"},
		},
		"TrackPrefixIsNotTrack": {
			app: app("team-a/guestbook-eu", src(testRepo, testBranch)),
			want: want{err: "Application argocd/guestbook-dev does not authorize track team-a/guestbook: " +
				"add team-a/guestbook to its annotation k8sta.io/authorized-tracks"},
		},
		"SingleTrack": {
			app:  app("team-a/guestbook", src(testRepo, testBranch)),
			want: want{index: 0},
		},
		"ListWithSpaces": {
			app:  app(" team-b/other ,  team-a/guestbook , ", src(testRepo, testBranch)),
			want: want{index: 0},
		},
		"NoSource": {
			app: app(testTrack),
			want: want{err: "Application argocd/guestbook-dev has no source: set spec.source.repoURL to " +
				testRepo + " and spec.source.targetRevision to env/dev"},
		},
		"RepoMismatch": {
			app: app(testTrack, src("https://x/other.git", "main")),
			want: want{err: "Application argocd/guestbook-dev tracks https://x/other.git at main: " +
				"set spec.source.repoURL to " + testRepo + " and spec.source.targetRevision to env/dev"},
		},
		"BranchMismatch": {
			app: app(testTrack, src(testRepo, "env/prod")),
			want: want{err: "Application argocd/guestbook-dev tracks " + testRepo + " at env/prod: " +
				"set spec.source.targetRevision to env/dev"},
		},
		"EmptyTargetRevisionIsHEAD": {
			app: app(testTrack, src(testRepo, "")),
			want: want{err: "Application argocd/guestbook-dev tracks " + testRepo + " at HEAD: " +
				"set spec.source.targetRevision to env/dev"},
		},
		"BranchPrefixIsNotBranch": {
			app: app(testTrack, src(testRepo, "env/dev2")),
			want: want{err: "Application argocd/guestbook-dev tracks " + testRepo + " at env/dev2: " +
				"set spec.source.targetRevision to env/dev"},
		},
		"RefsHeadsForm": {
			app:  app(testTrack, src(testRepo, "refs/heads/env/dev")),
			want: want{index: 0},
		},
		"RefsTagsFormIsNotBranch": {
			app: app(testTrack, src(testRepo, "refs/tags/env/dev")),
			want: want{err: "Application argocd/guestbook-dev tracks " + testRepo + " at refs/tags/env/dev: " +
				"set spec.source.targetRevision to env/dev"},
		},
		"NoDotGitAndTrailingSlash": {
			app:  app(testTrack, src("https://GIT.Example.com/acme/guestbook-config/", testBranch)),
			want: want{index: 0},
		},
		"TrackRepoWithoutDotGit": {
			app:  app(testTrack, src("https://git.example.com/acme/guestbook-config.git/", testBranch)),
			repo: "https://git.example.com/acme/guestbook-config",
			want: want{index: 0},
		},
		// Matching follows repourl.MatchKey, as webhook matching does.
		"PathCaseIgnored": {
			app:  app(testTrack, src("https://git.example.com/ACME/guestbook-config.git", testBranch)),
			want: want{index: 0},
		},
		"DefaultPort": {
			app:  app(testTrack, src("https://git.example.com:443/acme/guestbook-config", testBranch)),
			want: want{index: 0},
		},
		"OtherPortIsOtherRepo": {
			app: app(testTrack, src("https://git.example.com:8443/acme/guestbook-config", testBranch)),
			want: want{err: "Application argocd/guestbook-dev tracks https://git.example.com:8443/acme/guestbook-config at env/dev: " +
				"set spec.source.repoURL to " + testRepo + " and spec.source.targetRevision to env/dev"},
		},
		"SCPAndHTTPSAreOneRepository": {
			app:  app(testTrack, src("git@git.example.com:acme/guestbook-config.git", testBranch)),
			want: want{index: 0},
		},
		"SSHAndHTTPSAreOneRepository": {
			app:  app(testTrack, src("ssh://git@git.example.com:22/acme/guestbook-config", testBranch)),
			repo: "https://git.example.com/acme/guestbook-config",
			want: want{index: 0},
		},
		"LocalPathsNeverMatch": {
			app:  app(testTrack, src("/srv/git/guestbook-config.git", testBranch)),
			repo: "/srv/git/guestbook-config",
			want: want{err: "Application argocd/guestbook-dev tracks /srv/git/guestbook-config.git at env/dev: " +
				"set spec.source.repoURL to /srv/git/guestbook-config and spec.source.targetRevision to env/dev"},
		},
		"FileURLsNeverMatch": {
			app:  app(testTrack, src("file:///srv/git/guestbook-config", testBranch)),
			repo: "file:///srv/git/guestbook-config",
			want: want{err: "Application argocd/guestbook-dev tracks file:///srv/git/guestbook-config at env/dev: " +
				"set spec.source.repoURL to file:///srv/git/guestbook-config and spec.source.targetRevision to env/dev"},
		},
		"SCPLikeURL": {
			app:  app(testTrack, src("git@GitHub.com:acme/guestbook-config.git", testBranch)),
			repo: "git@github.com:acme/guestbook-config",
			want: want{index: 0},
		},
		"MultiSourcePicksMatchingIndex": {
			app: app(testTrack,
				src("https://charts.example.com/helm", "1.2.3"),
				src(testRepo, "main"),
				src(testRepo, "refs/heads/env/dev"),
			),
			want: want{index: 2},
		},
		"MultiSourceBranchMismatch": {
			app: app(testTrack,
				src("https://charts.example.com/helm", "1.2.3"),
				src(testRepo, "main"),
			),
			want: want{err: "Application argocd/guestbook-dev tracks https://charts.example.com/helm at 1.2.3, " +
				testRepo + " at main: set spec.sources[1].targetRevision to env/dev"},
		},
		"MultiSourceRepoMismatch": {
			app: app(testTrack,
				src("https://charts.example.com/helm", "1.2.3"),
				src("https://x/other.git", ""),
			),
			want: want{err: "Application argocd/guestbook-dev tracks https://charts.example.com/helm at 1.2.3, " +
				"https://x/other.git at HEAD: set the repoURL of one of spec.sources to " + testRepo +
				" and its targetRevision to env/dev"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			track, repo := tc.track, tc.repo
			if track == "" {
				track = testTrack
			}
			if repo == "" {
				repo = testRepo
			}
			i, err := Authorize(tc.app, track, repo, testBranch)
			got := want{index: i}
			if err != nil {
				got.err = err.Error()
				var ue *UnauthorizedError
				if !IsUnauthorized(err) || !errors.As(err, &ue) {
					t.Fatalf("Authorize(...): error %T is not an *UnauthorizedError", err)
				}
				if ue.Application != "argocd/guestbook-dev" {
					t.Errorf("UnauthorizedError.Application: got %q", ue.Application)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("Authorize(...): -want, +got:\n%s", diff)
			}
		})
	}
}
