package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/k8sta/k8sta/internal/repourl"
)

// fuzzParse checks a parser's contract on any body: no panic; either an
// error that is a *BadRequestError, or an ignore reason, or an Event that
// names normalized repositories.
func fuzzParse(f *testing.F, kind Kind, header string, events []string, seeds ...string) {
	for _, s := range seeds {
		for _, e := range events {
			f.Add(e, []byte(s))
		}
	}
	f.Add("", []byte(`{}`))
	f.Add("x", []byte(`null`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		h := http.Header{}
		if header != "" {
			h.Set(header, event)
		}
		ev, ignored, err := Parse(kind, h, body)
		if err != nil {
			var bre *BadRequestError
			if !errors.As(err, &bre) || bre.Reason == "" {
				t.Fatalf("Parse(): error is not a *BadRequestError with a reason: %v", err)
			}
			return
		}
		if ignored != "" {
			return
		}
		if ev.Kind != kind || len(ev.Repositories) == 0 {
			t.Fatalf("Parse(): bad event %+v", ev)
		}
		for _, r := range ev.Repositories {
			n := repourl.MatchKey(r)
			if kind.Images() {
				n = NormalizeImageRepository(r)
			}
			if r == "" || n != r {
				t.Fatalf("Parse(): repository %q is not normalized (%q)", r, n)
			}
		}
		if !kind.Images() {
			if len(ev.Branches) == 0 {
				t.Fatalf("Parse(): git push without a branch: %+v", ev)
			}
			for _, b := range ev.Branches {
				if b == "" || strings.HasPrefix(b, "refs/") {
					t.Fatalf("Parse(): bad branch %q", b)
				}
			}
		}
	})
}

func FuzzParseDockerHub(f *testing.F) { fuzzParse(f, DockerHub, "", []string{""}, dockerHubPush) }
func FuzzParseGHCR(f *testing.F) {
	fuzzParse(f, GHCR, "X-GitHub-Event", []string{"package", "ping"}, ghcrPackage, ghcrNpm)
}
func FuzzParseHarbor(f *testing.F) { fuzzParse(f, Harbor, "", []string{""}, harborPush, harborPull) }
func FuzzParseQuay(f *testing.F)   { fuzzParse(f, Quay, "", []string{""}, quayPush, quayBuild) }
func FuzzParseDistribution(f *testing.F) {
	fuzzParse(f, Distribution, "", []string{""}, distributionPush)
}
func FuzzParseGitHub(f *testing.F) {
	fuzzParse(f, GitHub, "X-GitHub-Event", []string{"push", "ping"}, githubPush, githubTagPush, githubDelete)
}
func FuzzParseGitLab(f *testing.F) {
	fuzzParse(f, GitLab, "X-Gitlab-Event", []string{"Push Hook", "System Hook"}, gitlabPush)
}
func FuzzParseGitea(f *testing.F) { fuzzParse(f, Gitea, "X-Gitea-Event", []string{"push"}, giteaPush) }
func FuzzParseBitbucket(f *testing.F) {
	fuzzParse(f, Bitbucket, "X-Event-Key", []string{"repo:push", "repo:refs_changed"}, bitbucketCloudPush, bitbucketServerPush)
}

// FuzzNormalize checks that normalizing image repositories is idempotent
// (repourl.FuzzParse covers git URLs).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"nginx", "ghcr.io/a/b:v1", "git@github.com:a/b.git", "ssh://git@h:22/a/b", "https://u:p@h/a.git/", "docker.io/x@sha256:1", ":", "/:/", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := NormalizeImageRepository(s); NormalizeImageRepository(n) != n {
			t.Fatalf("NormalizeImageRepository(%q) = %q, and again %q", s, n, NormalizeImageRepository(n))
		}
	})
}

// FuzzPath checks that no path panics the router and that only
// well-formed paths are accepted.
func FuzzPath(f *testing.F) {
	f.Add("/hook/github/ns.name")
	f.Add("/hook/dockerhub/ns.name/" + testSecret)
	f.Add("/hook//x/")
	f.Fuzz(func(t *testing.T, p string) {
		kind, id, token, _, ok := splitPath(p)
		if !ok {
			return
		}
		if Path(kind, id, token) != p {
			t.Fatalf("splitPath(%q) = %s %s %s, which is not its Path", p, kind, id, token)
		}
	})
}
