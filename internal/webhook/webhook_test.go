package webhook

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/internal/repourl"
)

const (
	testID     = "team-a.guestbook"
	testSecret = "Zk3s9Qm2u8VtYw4Lr7Pn1Xc6Bh5Dj0Ga_-Ke3Sf9Tq2"
)

// secrets knows one id; "broken" fails.
var secrets = SecretSourceFunc(func(_ context.Context, _ Kind, id string) ([]byte, error) {
	switch id {
	case testID:
		return []byte(testSecret), nil
	case "broken":
		return nil, errors.New("apiserver down")
	case "empty":
		return nil, nil
	}
	return nil, fmt.Errorf("secret of %s: %w", id, ErrNotFound)
})

// recorder collects notified Events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) notify(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func newServer(t testing.TB, opts ...Option) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(NewReceiver(secrets, rec.notify, opts...))
	t.Cleanup(srv.Close)
	return srv, rec
}

// request is a webhook as its sender would send it.
type request struct {
	kind   Kind
	event  string // the event header's value
	body   string
	secret string // to sign with, or to put in the path/header
	id     string
	// overrides
	path    string
	headers map[string]string
	method  string
}

func (r request) pathOrDefault() string {
	if r.path != "" {
		return r.path
	}
	if r.id == "" {
		r.id = testID
	}
	return Path(r.kind, r.id, r.secret)
}

// sign sets the headers the sender sets: the event, and the signature or
// token.
func (r request) sign(req *http.Request) {
	req.Header.Set("Content-Type", "application/json")
	sig := hex.EncodeToString(Sign([]byte(r.secret), []byte(r.body)))
	switch r.kind {
	case GitHub, GHCR:
		req.Header.Set("X-GitHub-Event", r.event)
		req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
	case Gitea:
		req.Header.Set("X-Gitea-Event", r.event)
		req.Header.Set("X-Gitea-Signature", sig)
	case Bitbucket:
		req.Header.Set("X-Event-Key", r.event)
		req.Header.Set("X-Hub-Signature", "sha256="+sig)
	case GitLab:
		req.Header.Set("X-Gitlab-Event", r.event)
		req.Header.Set("X-Gitlab-Token", r.secret)
	}
	for k, v := range r.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
}

func (r request) send(t testing.TB, srv *httptest.Server) (int, string) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, srv.URL+r.pathOrDefault(), strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	r.sign(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// testKey is the key a sender of the kind holds for testID.
func testKey(kind Kind) string { return Key([]byte(testSecret), kind) }

// otherKind is a kind authenticated the same way as kind, or any other.
func otherKind(kind Kind) Kind {
	for _, k := range Kinds() {
		if k != kind && k.Auth() == kind.Auth() {
			return k
		}
	}
	return GitHub
}

// good is a valid webhook of every kind, and the Event it gives.
var good = map[Kind]struct {
	event string
	body  string
	want  Event
}{
	DockerHub:    {body: dockerHubPush, want: Event{Repositories: []string{"docker.io/acme/guestbook"}}},
	GHCR:         {event: "package", body: ghcrPackage, want: Event{Repositories: []string{"ghcr.io/acme/guestbook"}}},
	Harbor:       {body: harborPush, want: Event{Repositories: []string{"harbor.example.com/acme/guestbook"}}},
	Quay:         {body: quayPush, want: Event{Repositories: []string{"quay.io/acme/guestbook"}}},
	Distribution: {body: distributionPush, want: Event{Repositories: []string{"registry.example.com:5000/acme/guestbook"}}},
	GitHub: {event: "push", body: githubPush, want: Event{
		Repositories: []string{"github.com/acme/guestbook-config"}, Branches: []string{"main"},
	}},
	GitLab: {event: "Push Hook", body: gitlabPush, want: Event{
		Repositories: []string{"gitlab.example.com/acme/guestbook-config"}, Branches: []string{"main"},
	}},
	Gitea: {event: "push", body: giteaPush, want: Event{
		Repositories: []string{"gitea.example.com/acme/guestbook-config"}, Branches: []string{"develop"},
	}},
	Bitbucket: {event: "repo:push", body: bitbucketCloudPush, want: Event{
		Repositories: []string{"bitbucket.org/acme/guestbook-config"}, Branches: []string{"main"},
	}},
}

func TestReceiver(t *testing.T) {
	srv, rec := newServer(t)
	for _, kind := range Kinds() {
		g := good[kind]
		valid := request{kind: kind, event: g.event, body: g.body, secret: testKey(kind)}
		with := func(f func(r *request)) request {
			r := valid
			f(&r)
			return r
		}
		type want struct {
			code   int
			reason string
			event  bool
		}
		cases := map[string]struct {
			r    request
			want want
		}{
			"Good": {r: valid, want: want{code: 200, reason: "ok", event: true}},
			"WrongSecret": {r: with(func(r *request) { r.secret = "wrong-secret-wrong-secret-wrong-secret-1234" }),
				want: want{code: 401, reason: Unauthorized}},
			"RootToken":  {r: with(func(r *request) { r.secret = testSecret }), want: want{code: 401, reason: Unauthorized}},
			"UnknownID":  {r: with(func(r *request) { r.id = "team-b.other" }), want: want{code: 401, reason: Unauthorized}},
			"BadID":      {r: with(func(r *request) { r.id = "..%2f" }), want: want{code: 401, reason: Unauthorized}},
			"SourceDown": {r: with(func(r *request) { r.id = "broken" }), want: want{code: 503}},
			"NoSecret":   {r: with(func(r *request) { r.id = "empty" }), want: want{code: 401, reason: Unauthorized}},
			"GET":        {r: with(func(r *request) { r.method = http.MethodGet }), want: want{code: 405, reason: "use POST"}},
			"Oversize": {r: with(func(r *request) { r.body = `{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}` }),
				want: want{code: 413, reason: "body over 1048576 bytes"}},
			"Malformed": {r: with(func(r *request) { r.body = `{"repository": ` }), want: want{code: 400, reason: "malformed JSON"}},
			"WrongShape": {r: with(func(r *request) {
				r.body = `{"repository": 42, "push_data": 1, "events": 1, "type": 1, "docker_url": 1, "ref": 1, "package": 1}`
			}), want: want{code: 400, reason: "malformed JSON: field"}},
			"Trailing": {r: with(func(r *request) { r.body = g.body + "{}" }), want: want{code: 400, reason: "malformed JSON: data after the object"}},
			"Empty":    {r: with(func(r *request) { r.body = `{}` }), want: want{code: 400}},
			"Form": {r: with(func(r *request) { r.headers = map[string]string{"Content-Type": "application/x-www-form-urlencoded"} }),
				want: want{code: 415, reason: "send the payload as application/json"}},
		}
		switch kind.Auth() {
		case AuthHMAC:
			hdr := map[Kind]string{GitHub: "X-Hub-Signature-256", GHCR: "X-Hub-Signature-256", Gitea: "X-Gitea-Signature", Bitbucket: "X-Hub-Signature"}[kind]
			cases["WrongSecret"] = struct {
				r    request
				want want
			}{r: cases["WrongSecret"].r, want: want{code: 401, reason: Unauthorized}}
			cases["NoSignature"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.headers = map[string]string{hdr: ""} }), want: want{code: 401, reason: Unauthorized}}
			cases["TamperedBody"] = struct {
				r    request
				want want
			}{r: with(func(r *request) {
				sig := hex.EncodeToString(Sign([]byte(testKey(kind)), []byte(g.body)))
				if hdr != "X-Gitea-Signature" {
					sig = "sha256=" + sig
				}
				r.body = strings.Replace(g.body, "acme", "evil", 1)
				r.headers = map[string]string{hdr: sig}
			}), want: want{code: 401, reason: Unauthorized}}
			cases["GarbageSignature"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.headers = map[string]string{hdr: "sha256=zz"} }), want: want{code: 401, reason: Unauthorized}}
			// The body is read before the id is looked up: a body over the
			// limit gets the same answer for an unknown id.
			cases["OversizeUnknownID"] = struct {
				r    request
				want want
			}{r: with(func(r *request) {
				r.id = "team-b.other"
				r.body = `{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
			}), want: want{code: 413, reason: "body over 1048576 bytes"}}
			cases["MissingEventHeader"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.event = "" }), want: want{code: 400, reason: "missing X-"}}
		case AuthHeaderToken:
			cases["WrongSecret"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.headers = map[string]string{"X-Gitlab-Token": "wrong"} }), want: want{code: 401, reason: Unauthorized}}
			cases["NoToken"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.headers = map[string]string{"X-Gitlab-Token": ""} }), want: want{code: 401, reason: Unauthorized}}
			// The token is checked before the body is read.
			cases["OversizeWrongToken"] = struct {
				r    request
				want want
			}{r: with(func(r *request) {
				r.body = strings.Repeat("a", 2*MaxBodyBytes)
				r.headers = map[string]string{"X-Gitlab-Token": "wrong"}
			}), want: want{code: 401, reason: Unauthorized}}
		case AuthPathToken:
			cases["NoToken"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.path = PathPrefix + string(kind) + "/" + testID }), want: want{code: 401, reason: Unauthorized}}
			cases["ShortToken"] = struct {
				r    request
				want want
			}{r: with(func(r *request) { r.path = Path(kind, testID, "short") }), want: want{code: 401, reason: Unauthorized}}
		}
		for name, tc := range cases {
			t.Run(string(kind)+"/"+name, func(t *testing.T) {
				rec.take()
				code, reason := tc.r.send(t, srv)
				if code != tc.want.code || !strings.HasPrefix(reason, tc.want.reason) {
					t.Errorf("got %d %q, want %d %q...", code, reason, tc.want.code, tc.want.reason)
				}
				if strings.Contains(reason, testSecret) || strings.Contains(reason, testKey(kind)) || strings.Contains(reason, "wrong-secret") {
					t.Errorf("the answer echoes a secret: %q", reason)
				}
				got := rec.take()
				if !tc.want.event {
					if len(got) != 0 {
						t.Errorf("notified %+v, want nothing", got)
					}
					return
				}
				want := g.want
				want.Kind, want.ID = kind, testID
				if diff := cmp.Diff([]Event{want}, got, cmpopts.IgnoreUnexported(Event{}), cmp.Transformer("first", func(e Event) Event {
					// Every URL form the payload gives is kept; compare the first.
					if len(e.Repositories) > 1 {
						e.Repositories = e.Repositories[:1]
					}
					return e
				})); diff != "" {
					t.Errorf("-want, +got:\n%s", diff)
				}
			})
		}
	}
}

// A path that names no kind is not a webhook: 404. Kinds are public, so
// this tells nothing about ids.
func TestUnknownPaths(t *testing.T) {
	srv, _ := newServer(t)
	for _, p := range []string{"/", "/hook/", "/hook/nope/" + testID, "/other/github/" + testID, "/hook/GitHub/" + testID} {
		code, reason := request{kind: GitHub, event: "push", body: githubPush, secret: testKey(GitHub), path: p}.send(t, srv)
		if code != 404 || reason != "unknown webhook path" {
			t.Errorf("POST %s: got %d %q, want 404", p, code, reason)
		}
	}
}

// Every authentication failure gets the same answer, byte for byte: an
// unknown id, a malformed id or path, an id with no secret, a wrong key,
// the root token instead of the kind's key, a missing signature. A prober
// learns nothing about which ids or Secrets exist.
func TestUnauthorizedIsUniform(t *testing.T) {
	srv, _ := newServer(t)
	dump := func(r request) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+r.pathOrDefault(), strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		r.sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		resp.Header.Del("Date")
		b, err := httputil.DumpResponse(resp, true)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, kind := range Kinds() {
		g := good[kind]
		valid := request{kind: kind, event: g.event, body: g.body, secret: testKey(kind), id: testID}
		with := func(f func(r *request)) request {
			r := valid
			f(&r)
			return r
		}
		want := dump(with(func(r *request) { r.id = "team-b.unknown" }))
		for name, r := range map[string]request{
			"WrongKey":      with(func(r *request) { r.secret = "wrong-secret-wrong-secret-wrong-secret-1234" }),
			"RootToken":     with(func(r *request) { r.secret = testSecret }),
			"NoSecret":      with(func(r *request) { r.id = "empty" }),
			"BadIDSyntax":   with(func(r *request) { r.id = "-a" }),
			"NoID":          with(func(r *request) { r.path = PathPrefix + string(kind) }),
			"ExtraSegment":  with(func(r *request) { r.path = Path(kind, testID, testKey(kind)) + "/x" }),
			"OtherKindsKey": with(func(r *request) { r.secret = testKey(otherKind(kind)) }),
			"NoAuthentication": with(func(r *request) {
				r.secret = ""
				r.headers = map[string]string{"X-Hub-Signature-256": "", "X-Gitea-Signature": "", "X-Hub-Signature": "", "X-Gitlab-Token": ""}
			}),
		} {
			if got := dump(r); got != want {
				t.Errorf("%s/%s: answer differs from an unknown id's:\n-unknown id:\n%s\n+%s:\n%s", kind, name, want, name, got)
			}
		}
		if !strings.HasPrefix(want, "HTTP/1.1 401") {
			t.Errorf("%s: an unknown id gets %q, want a 401", kind, want)
		}
	}
}

// The key of one kind of sender authenticates no other kind: a path token
// that a registry shows in its UI cannot sign a git push, and the root token
// authenticates nothing.
func TestKeyOfOneKindAuthenticatesNoOther(t *testing.T) {
	srv, rec := newServer(t)
	for _, a := range Kinds() {
		for _, b := range Kinds() {
			if a == b {
				continue
			}
			g := good[b]
			code, reason := request{kind: b, event: g.event, body: g.body, secret: testKey(a)}.send(t, srv)
			if code != http.StatusUnauthorized {
				t.Errorf("%s's key sent as %s: got %d %q, want 401", a, b, code, reason)
			}
		}
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("notified %d events, want none", len(got))
	}
}

func TestKey(t *testing.T) {
	seen := map[string]Kind{}
	for _, kind := range Kinds() {
		k := Key([]byte(testSecret), kind)
		if k != Key([]byte(testSecret), kind) {
			t.Errorf("Key(%s) is not deterministic", kind)
		}
		if !tokenRE.MatchString(k) || len(k) != 43 {
			t.Errorf("Key(%s) = %q, want 43 base64url characters", kind, k)
		}
		if other, ok := seen[k]; ok {
			t.Errorf("Key(%s) == Key(%s)", kind, other)
		}
		seen[k] = kind
		if k == Key([]byte(testSecret+"x"), kind) {
			t.Errorf("Key(%s) does not depend on the token", kind)
		}
	}
}

// Events that are authenticated but not ours are acknowledged and ignored.
func TestIgnored(t *testing.T) {
	srv, rec := newServer(t)
	for name, tc := range map[string]struct {
		r      request
		reason string
	}{
		"GitHubPing":      {r: request{kind: GitHub, event: "ping", body: `{"zen":"Keep it logically awesome.","hook_id":1}`}, reason: "ping"},
		"GitHubIssue":     {r: request{kind: GitHub, event: "issues", body: `{}`}, reason: `event "issues" is not a push`},
		"GitHubTag":       {r: request{kind: GitHub, event: "push", body: githubTagPush}, reason: "a tag push"},
		"GitHubDelete":    {r: request{kind: GitHub, event: "push", body: githubDelete}, reason: "a deleted branch"},
		"GHCRPing":        {r: request{kind: GHCR, event: "ping", body: `{}`}, reason: "ping"},
		"GHCRPush":        {r: request{kind: GHCR, event: "push", body: githubPush}, reason: `event "push" is not a package event`},
		"GHCRNpm":         {r: request{kind: GHCR, event: "package", body: ghcrNpm}, reason: `package type "npm" is not a container`},
		"GHCRDeleted":     {r: request{kind: GHCR, event: "package", body: strings.Replace(ghcrPackage, `"published"`, `"deleted"`, 1)}, reason: `package action "deleted"`},
		"GitLabTag":       {r: request{kind: GitLab, event: "Tag Push Hook", body: `{"object_kind":"tag_push"}`}, reason: `event "Tag Push Hook" is not a push`},
		"GitLabSysTag":    {r: request{kind: GitLab, event: "System Hook", body: `{"object_kind":"tag_push","ref":"refs/tags/v1"}`}, reason: `object_kind "tag_push"`},
		"GitLabDelete":    {r: request{kind: GitLab, event: "Push Hook", body: strings.Replace(gitlabPush, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", zeroSHA, 1)}, reason: "a deleted branch"},
		"GiteaCreate":     {r: request{kind: Gitea, event: "create", body: `{}`}, reason: `event "create" is not a push`},
		"BitbucketPR":     {r: request{kind: Bitbucket, event: "pullrequest:created", body: `{}`}, reason: `event "pullrequest:created"`},
		"BitbucketTag":    {r: request{kind: Bitbucket, event: "repo:push", body: `{"repository":{"links":{"html":{"href":"https://bitbucket.org/a/b"}}},"push":{"changes":[{"new":{"type":"tag","name":"v1"}}]}}`}, reason: "no branch updated"},
		"HarborPull":      {r: request{kind: Harbor, body: harborPull}, reason: `event type "PULL_ARTIFACT"`},
		"QuayBuild":       {r: request{kind: Quay, body: quayBuild}, reason: "not a repository push"},
		"DistributionPul": {r: request{kind: Distribution, body: `{"events":[{"action":"pull","target":{"repository":"a","tag":"v1"},"request":{"host":"r.example.com"}}]}`}, reason: "no manifest push"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.r.secret = testKey(tc.r.kind)
			code, reason := tc.r.send(t, srv)
			if code != http.StatusAccepted || !strings.HasPrefix(reason, "ignored: "+tc.reason) {
				t.Errorf("got %d %q, want 202 %q", code, reason, "ignored: "+tc.reason)
			}
			if got := rec.take(); len(got) != 0 {
				t.Errorf("notified %+v", got)
			}
		})
	}
}

func TestBitbucketServer(t *testing.T) {
	ev, ignored, err := Parse(Bitbucket, http.Header{"X-Event-Key": {"repo:refs_changed"}}, []byte(bitbucketServerPush))
	if err != nil || ignored != "" {
		t.Fatalf("Parse(...): %q, %v", ignored, err)
	}
	want := Event{Kind: Bitbucket, Repositories: []string{"bitbucket.example.com:7999/acme/guestbook-config", "bitbucket.example.com/scm/acme/guestbook-config"}, Branches: []string{"release"}}
	if diff := cmp.Diff(want, ev, cmpopts.IgnoreUnexported(Event{})); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
}

func TestEventMatches(t *testing.T) {
	img := Event{Kind: GHCR, Repositories: []string{"ghcr.io/acme/guestbook"}}
	for repo, want := range map[string]bool{"ghcr.io/acme/guestbook": true, "GHCR.io/Acme/Guestbook": true, "ghcr.io/acme/guestbook:v1": true, "ghcr.io/acme/other": false} {
		if got := img.Matches(repo); got != want {
			t.Errorf("Matches(%q): got %v", repo, got)
		}
	}
	hub := Event{Kind: DockerHub, Repositories: []string{"docker.io/library/nginx"}}
	for _, repo := range []string{"nginx", "docker.io/nginx", "index.docker.io/library/nginx:1.25"} {
		if !hub.Matches(repo) {
			t.Errorf("Matches(%q): got false", repo)
		}
	}
	git := Event{Kind: GitHub, Repositories: []string{"github.com/acme/guestbook-config"}, Branches: []string{"main"}}
	for _, repo := range []string{"https://github.com/acme/guestbook-config.git", "git@github.com:acme/guestbook-config.git", "ssh://git@github.com/acme/guestbook-config", "https://token@github.com/Acme/guestbook-config/"} {
		if !git.Matches(repo) {
			t.Errorf("Matches(%q): got false", repo)
		}
	}
	if !git.MatchesBranch("refs/heads/main") || git.MatchesBranch("dev") {
		t.Error("MatchesBranch")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "docker.io/library/nginx", "nginx:1.25": "docker.io/library/nginx", "acme/app": "docker.io/acme/app",
		"docker.io/acme/app": "docker.io/acme/app", "index.docker.io/acme/app:v1": "docker.io/acme/app",
		"registry-1.docker.io/library/nginx@sha256:abcd": "docker.io/library/nginx",
		"ghcr.io/Acme/App:v1.2.3":                        "ghcr.io/acme/app", "localhost:5000/a/b:c": "localhost:5000/a/b",
		"https://harbor.example.com/acme/app": "harbor.example.com/acme/app", "127.0.0.1:5000/x": "127.0.0.1:5000/x",
		"localhost/a": "localhost/a",
	} {
		if got := NormalizeImageRepository(in); got != want {
			t.Errorf("NormalizeImageRepository(%q): got %q, want %q", in, got, want)
		}
	}
	// Git URLs match by repourl.MatchKey: the Track's spelling and any of
	// the payload's.
	git := Event{Kind: GitHub, Repositories: []string{repourl.MatchKey("https://github.com/acme/app"), repourl.MatchKey("http://gitea.local:3000/a/b.git")}}
	for in, want := range map[string]bool{
		"https://github.com/Acme/App.git": true, "git@github.com:acme/app.git": true,
		"ssh://git@github.com:22/acme/app": true, "https://GitHub.com:443/acme/app/": true,
		"http://gitea.local:3000/a/b": true, "gitea.local:3000/a/b": true,
		"http://gitea.local/a/b": false, "https://github.com/acme/app2": false, "/srv/git/app": false, "": false,
	} {
		if got := git.Matches(in); got != want {
			t.Errorf("Matches(%q): got %v, want %v", in, got, want)
		}
	}
}

func TestGenerateToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || !tokenRE.MatchString(tok) || seen[tok] {
			t.Fatalf("GenerateToken(): bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
	if got := Path(Quay, "ns.sub", "TOKEN"); got != "/hook/quay/ns.sub/TOKEN" {
		t.Errorf("Path(quay): %s", got)
	}
	if got := Path(GitHub, "ns.sub", "TOKEN"); got != "/hook/github/ns.sub" {
		t.Errorf("Path(github): %s", got)
	}
}

// A valid webhook is notified within 100 ms; this measures the latency
// from sending the request to the notify call over 100 webhooks.
func TestNotifyLatency(t *testing.T) {
	got := make(chan time.Time, 1)
	srv := httptest.NewServer(NewReceiver(secrets, func(Event) { got <- time.Now() }))
	defer srv.Close()
	var lat []time.Duration
	for i := range 100 {
		kind := Kinds()[i%len(Kinds())]
		g := good[kind]
		start := time.Now()
		code, reason := request{kind: kind, event: g.event, body: g.body, secret: testKey(kind)}.send(t, srv)
		if code != 200 {
			t.Fatalf("%s: %d %s", kind, code, reason)
		}
		lat = append(lat, (<-got).Sub(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[49], lat[98]
	t.Logf("request → notify over 100 webhooks: p50 %v, p99 %v", p50, p99)
}

func TestServe(t *testing.T) {
	rec := &recorder{}
	r := NewReceiver(secrets, rec.notify)
	ctx, cancel := context.WithCancel(context.Background())
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, l) }()
	body := githubPush
	req, _ := http.NewRequest(http.MethodPost, "http://"+l.Addr().String()+Path(GitHub, testID, ""), strings.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(Sign([]byte(testKey(GitHub)), []byte(body))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(rec.take()) != 1 {
		t.Errorf("got %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve(): %v", err)
	}
}

func TestSplitPath(t *testing.T) {
	key := testKey(Distribution)
	type want struct {
		kind      Kind
		id, key   string
		known, ok bool
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := map[string]struct {
		path string
		want want
	}{
		"Subscription":          {path: "/hook/github/team-a.guestbook", want: want{kind: GitHub, id: "team-a.guestbook", known: true, ok: true}},
		"ProviderConfig":        {path: "/hook/github/providerconfig:team-a:default", want: want{kind: GitHub, id: "providerconfig:team-a:default", known: true, ok: true}},
		"ClusterProviderConfig": {path: "/hook/distribution/clusterproviderconfig:platform/" + key, want: want{kind: Distribution, id: "clusterproviderconfig:platform", key: key, known: true, ok: true}},
		"LongestProviderConfig": {
			path: "/hook/gitlab/providerconfig:" + long(63) + ":" + long(253),
			want: want{kind: GitLab, id: "providerconfig:" + long(63) + ":" + long(253), known: true, ok: true},
		},
		"IDAtTheLimit":   {path: "/hook/gitlab/" + long(MaxIDLength), want: want{kind: GitLab, id: long(MaxIDLength), known: true, ok: true}},
		"IDOverTheLimit": {path: "/hook/gitlab/" + long(MaxIDLength+1), want: want{kind: GitLab, known: true}},
		"SlashInID":      {path: "/hook/github/providerconfig:team-a/default", want: want{kind: GitHub, known: true}},
		"NoKey":          {path: "/hook/distribution/providerconfig:team-a:default", want: want{kind: Distribution, known: true}},
		"UnknownKind":    {path: "/hook/svn/providerconfig:team-a:default", want: want{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kind, id, key, known, ok := splitPath(tc.path)
			if diff := cmp.Diff(tc.want, want{kind, id, key, known, ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("splitPath(%q): -want +got:\n%s", tc.path, diff)
			}
		})
	}
}
