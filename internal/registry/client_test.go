package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a repository with semver, pre-release, junk and build tags, a
// multi-arch index, a single-arch image and a mutable tag.
type fixture struct {
	reg     *testRegistry
	repo    string
	digests map[string]string // tag → digest
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{reg: newTestRegistry(t), digests: map[string]string{}}
	f.repo = f.reg.repo("acme/guestbook")
	tags := []struct {
		tag     string
		created time.Duration
	}{
		{"1.0.0", 1}, {"v1.2.3", 2}, {"1.9.9", 3}, {"1.10.0", 4}, {"v1.11.0-rc.1", 5},
		{"2.0.0-beta.1", 6}, {"2.0.0-rc.1", 7}, {"1.2", 8}, {"20240101", 9},
		{"latest", 10}, {"junk-abc", 11}, {"v1.x.0", 12},
		{"build-9", 20}, {"build-10", 30}, {"build-8", 40}, // build-8 rebuilt last
	}
	for _, tc := range tags {
		img := testImage(t, t0.Add(tc.created*time.Hour), "linux", "amd64")
		f.digests[tc.tag] = push(t, f.repo, img, tc.tag)
	}
	// 3.0.0 is multi-arch; 3.1.0 is amd64 only; 3.2.0 is arm64 only.
	f.digests["3.0.0"] = pushIndex(t, f.repo, "3.0.0", t0.Add(50*time.Hour), "linux/amd64", "linux/arm64")
	f.digests["3.1.0"] = push(t, f.repo, testImage(t, t0.Add(51*time.Hour), "linux", "amd64"), "3.1.0")
	f.digests["3.2.0"] = push(t, f.repo, testImage(t, t0.Add(52*time.Hour), "linux", "arm64"), "3.2.0")
	return f
}

func TestSelect(t *testing.T) {
	f := newFixture(t)
	type want struct {
		tag     string
		created time.Time
		err     string
	}
	cases := map[string]struct {
		p    Policy
		want want
	}{
		"SemVerAnyRelease":       {p: Policy{Constraint: "<3.0.0"}, want: want{tag: "1.10.0"}},
		"SemVerDefaultStrategy":  {p: Policy{Strategy: "", Constraint: "<3"}, want: want{tag: "1.10.0"}},
		"SemVerNoConstraint":     {p: Policy{Strategy: SemVer}, want: want{tag: "3.2.0"}},
		"SemVerRange":            {p: Policy{Strategy: SemVer, Constraint: ">=1.0.0 <1.10.0"}, want: want{tag: "1.9.9"}},
		"SemVerVPrefix":          {p: Policy{Strategy: SemVer, Constraint: "~1.2"}, want: want{tag: "v1.2.3"}},
		"SemVerPreReleaseAsked":  {p: Policy{Strategy: SemVer, Constraint: ">=2.0.0-0 <3"}, want: want{tag: "2.0.0-rc.1"}},
		"SemVerPreReleaseNot":    {p: Policy{Strategy: SemVer, Constraint: ">=1.11.0 <3"}, want: want{err: "none of the"}},
		"SemVerAllowTags":        {p: Policy{Strategy: SemVer, AllowTags: `^v`}, want: want{tag: "v1.2.3"}},
		"SemVerIgnoreTags":       {p: Policy{Strategy: SemVer, Constraint: "<3", IgnoreTags: []string{`^1\.10`, `^1\.9`}}, want: want{tag: "v1.2.3"}},
		"SemVerPreIgnored":       {p: Policy{Strategy: SemVer, Constraint: ">=2.0.0-0 <3", IgnoreTags: []string{`-rc`}}, want: want{tag: "2.0.0-beta.1"}},
		"SemVerPlatformArm":      {p: Policy{Strategy: SemVer, Constraint: "<3.2", Platform: "linux/arm64"}, want: want{tag: "3.0.0"}},
		"SemVerPlatformAmd":      {p: Policy{Strategy: SemVer, Platform: "linux/amd64"}, want: want{tag: "3.1.0"}},
		"SemVerPlatformNone":     {p: Policy{Strategy: SemVer, Constraint: ">=3", Platform: "linux/s390x"}, want: want{err: "has an image for platform linux/s390x"}},
		"LexicalAll":             {p: Policy{Strategy: Lexical}, want: want{tag: "v1.x.0"}},
		"LexicalBuilds":          {p: Policy{Strategy: Lexical, AllowTags: `^build-`}, want: want{tag: "build-9"}},
		"LexicalPlatform":        {p: Policy{Strategy: Lexical, AllowTags: `^3\.`, Platform: "linux/amd64"}, want: want{tag: "3.1.0"}},
		"NewestBuild":            {p: Policy{Strategy: NewestBuild, AllowTags: `^build-`}, want: want{tag: "build-8", created: t0.Add(40 * time.Hour)}},
		"NewestBuildAll":         {p: Policy{Strategy: NewestBuild}, want: want{tag: "3.2.0", created: t0.Add(52 * time.Hour)}},
		"NewestBuildPlatform":    {p: Policy{Strategy: NewestBuild, Platform: "linux/amd64"}, want: want{tag: "3.1.0", created: t0.Add(51 * time.Hour)}},
		"NewestBuildIndex":       {p: Policy{Strategy: NewestBuild, Platform: "linux/arm64", AllowTags: `^3\.[01]`}, want: want{tag: "3.0.0", created: t0.Add(50 * time.Hour)}},
		"NewestBuildLimit":       {p: Policy{Strategy: NewestBuild, AllowTags: `^build-`, DiscoveryLimit: 2}, want: want{tag: "build-10", created: t0.Add(30 * time.Hour)}}, // build-8 is never read
		"Digest":                 {p: Policy{Strategy: Digest, Constraint: "latest"}, want: want{tag: "latest"}},
		"DigestIndexPlatform":    {p: Policy{Strategy: Digest, Constraint: "3.0.0", Platform: "linux/arm64"}, want: want{tag: "3.0.0"}},
		"DigestPlatformMissing":  {p: Policy{Strategy: Digest, Constraint: "3.2.0", Platform: "linux/amd64"}, want: want{err: "has no image for platform linux/amd64"}},
		"DigestTagMissing":       {p: Policy{Strategy: Digest, Constraint: "nope"}, want: want{err: "cannot resolve tag nope"}},
		"NoMatch":                {p: Policy{Strategy: Lexical, AllowTags: `^zzz`}, want: want{err: "none of the 18 tags"}},
		"InvalidPolicy":          {p: Policy{Strategy: "Newest"}, want: want{err: "strategy \"Newest\" is invalid"}},
		"MissingRepository":      {p: Policy{Strategy: SemVer, Constraint: "<1"}, want: want{err: "none of the"}},
		"RepositoryDoesNotExist": {p: Policy{Strategy: SemVer}, want: want{err: "not found (404)"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := NewClient() // a fresh cache per case
			p := tc.p
			p.Repository = f.repo
			if name == "RepositoryDoesNotExist" {
				p.Repository = f.reg.repo("acme/nothing")
			}
			got, err := c.Select(context.Background(), p)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("Select(...): want error containing %q, got %v (%+v)", tc.want.err, err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select(...): %v", err)
			}
			want := Selection{Repository: p.Repository, Tag: tc.want.tag, Digest: f.digests[tc.want.tag], Created: tc.want.created}
			if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("Select(...): -want, +got:\n%s", diff)
			}
		})
	}
}

// The discovery limit bounds the configs NewestBuild reads per poll; later
// polls read further, and tags read before cost nothing.
func TestNewestBuildDiscoveryLimit(t *testing.T) {
	reg := newTestRegistry(t)
	repo := reg.repo("acme/builds")
	// In natural order b-1 < ... < b-6, but b-1 was built last.
	for i := 1; i <= 6; i++ {
		created := t0.Add(time.Duration(i) * time.Hour)
		if i == 1 {
			created = t0.Add(100 * time.Hour)
		}
		push(t, repo, testImage(t, created, "linux", "amd64"), fmt.Sprintf("b-%d", i))
	}
	cnt := newCounter()
	// No tags window: each poll here follows a push and must see it.
	c := NewClient(WithTransport(cnt), WithTagsWindow(0))
	p := Policy{Repository: repo, Strategy: NewestBuild, DiscoveryLimit: 3}
	ctx := context.Background()

	poll := func() (string, map[string]int) {
		t.Helper()
		cnt.take()
		s, err := c.Select(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return s.Tag, cnt.take()
	}
	// Poll 1 reads b-6, b-5, b-4 and leaves b-1..b-3 unread for good.
	if tag, n := poll(); tag != "b-6" || n["GET manifest"] != 3 || n["GET blob"] != 3 {
		t.Errorf("poll 1: got %s with %v, want b-6 with 3 manifests and 3 configs read", tag, n)
	}
	if tag, n := poll(); tag != "b-6" || !cmp.Equal(n, map[string]int{"GET tags": 1}) {
		t.Errorf("poll 2: got %s with %v, want b-6 from one tags-list request", tag, n)
	}
	// Four new tags, whatever their names: read 3 now and 1 next poll.
	for i, tag := range []string{"e", "d", "c", "a"} {
		push(t, repo, testImage(t, t0.Add(time.Duration(200+i)*time.Hour), "linux", "amd64"), tag)
	}
	// Built in the order e, d, c, a; read in the order e, d, c | a.
	if tag, n := poll(); tag != "c" || n["GET blob"] != 3 {
		t.Errorf("poll 3: got %s with %v, want c with 3 configs read", tag, n)
	}
	if tag, n := poll(); tag != "a" || n["GET blob"] != 1 {
		t.Errorf("poll 4: got %s with %v, want a with 1 config read", tag, n)
	}
	if tag, n := poll(); tag != "a" || !cmp.Equal(n, map[string]int{"GET tags": 1}) {
		t.Errorf("poll 5: got %s with %v, want e from one tags-list request", tag, n)
	}
}

// An idle poll makes one tags-list request and nothing else; a poll with a
// new tag resolves that tag only.
func TestPollCost(t *testing.T) {
	type poll struct {
		// push before polling: a tag → "" for a single-arch image, "index" for a multi-arch one
		push map[string]string
		want map[string]int
		tag  string
	}
	cases := map[string]struct {
		p     Policy
		polls []poll
	}{
		"SemVer": {
			p: Policy{Strategy: SemVer},
			polls: []poll{
				{want: map[string]int{"GET ping": 2, "GET tags": 1, "HEAD manifest": 1}, tag: "1.4.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.4.0"},
				{push: map[string]string{"1.5.0": ""}, want: map[string]int{"GET tags": 1, "HEAD manifest": 1}, tag: "1.5.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.5.0"},
				{push: map[string]string{"1.3.9": ""}, want: map[string]int{"GET tags": 1}, tag: "1.5.0"},
			},
		},
		"SemVerPlatform": {
			p: Policy{Strategy: SemVer, Platform: "linux/arm64"},
			polls: []poll{
				{want: map[string]int{"GET ping": 2, "GET tags": 1, "GET manifest": 1}, tag: "1.4.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.4.0"},
				{push: map[string]string{"1.5.0": "index"}, want: map[string]int{"GET tags": 1, "GET manifest": 1}, tag: "1.5.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.5.0"},
				// amd64-only: read (manifest + config), skipped, remembered
				{push: map[string]string{"1.6.0": ""}, want: map[string]int{"GET tags": 1, "GET manifest": 1, "GET blob": 1}, tag: "1.5.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.5.0"},
			},
		},
		"Lexical": {
			p: Policy{Strategy: Lexical, AllowTags: `^\d`},
			polls: []poll{
				{want: map[string]int{"GET ping": 2, "GET tags": 1, "HEAD manifest": 1}, tag: "1.4.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.4.0"},
			},
		},
		"NewestBuild": {
			p: Policy{Strategy: NewestBuild, AllowTags: `^\d|^nightly$`},
			polls: []poll{
				// 3 tags: 1.4.0 (index: manifest, child manifest, config), 1.3.0 and 1.2.0 (manifest, config)
				{want: map[string]int{"GET ping": 2, "GET tags": 1, "GET manifest": 4, "GET blob": 3}, tag: "1.4.0"},
				{want: map[string]int{"GET tags": 1}, tag: "1.4.0"},
				{push: map[string]string{"nightly": ""}, want: map[string]int{"GET tags": 1, "GET manifest": 1, "GET blob": 1}, tag: "nightly"},
				{want: map[string]int{"GET tags": 1}, tag: "nightly"},
			},
		},
		"Digest": {
			p: Policy{Strategy: Digest, Constraint: "main"},
			polls: []poll{
				{want: map[string]int{"GET ping": 2, "HEAD manifest": 1}, tag: "main"},
				{want: map[string]int{"HEAD manifest": 1}, tag: "main"},
				{push: map[string]string{"main": ""}, want: map[string]int{"HEAD manifest": 1}, tag: "main"},
			},
		},
		"DigestPlatform": {
			p: Policy{Strategy: Digest, Constraint: "main", Platform: "linux/amd64"},
			polls: []poll{
				{want: map[string]int{"GET ping": 2, "HEAD manifest": 1, "GET manifest": 1, "GET blob": 1}, tag: "main"},
				{want: map[string]int{"HEAD manifest": 1}, tag: "main"},
				{push: map[string]string{"main": "index"}, want: map[string]int{"HEAD manifest": 1, "GET manifest": 1}, tag: "main"},
				{want: map[string]int{"HEAD manifest": 1}, tag: "main"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reg := newTestRegistry(t)
			repo := reg.repo("acme/app")
			digests := map[string]string{}
			digests["1.2.0"] = push(t, repo, testImage(t, t0.Add(1*time.Hour), "linux", "arm64"), "1.2.0")
			digests["1.3.0"] = push(t, repo, testImage(t, t0.Add(2*time.Hour), "linux", "arm64"), "1.3.0")
			digests["1.4.0"] = pushIndex(t, repo, "1.4.0", t0.Add(3*time.Hour), "linux/amd64", "linux/arm64")
			digests["main"] = push(t, repo, testImage(t, t0.Add(3*time.Hour), "linux", "amd64"), "main")
			cnt := newCounter()
			// No tags window: this counts what each poll costs.
			c := NewClient(WithTransport(cnt), WithTagsWindow(0))
			p := tc.p
			p.Repository = repo
			for i, pl := range tc.polls {
				for tag, kind := range pl.push {
					created := t0.Add(time.Duration(10+i) * time.Hour)
					if kind == "index" {
						digests[tag] = pushIndex(t, repo, tag, created, "linux/amd64", "linux/arm64")
					} else {
						digests[tag] = push(t, repo, testImage(t, created, "linux", "amd64"), tag)
					}
				}
				cnt.take()
				got, err := c.Select(context.Background(), p)
				if err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
				if diff := cmp.Diff(pl.want, cnt.take()); diff != "" {
					t.Errorf("poll %d: requests: -want, +got:\n%s", i, diff)
				}
				if got.Tag != pl.tag || got.Digest != digests[pl.tag] {
					t.Errorf("poll %d: got %s@%s, want %s@%s", i, got.Tag, got.Digest, pl.tag, digests[pl.tag])
				}
			}
		})
	}
}

// A 429 with Retry-After stops all requests to that registry until it has
// passed; a 503 without one backs off by a default.
func TestRateLimited(t *testing.T) {
	reg := newTestRegistry(t)
	repo := reg.repo("acme/app")
	push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
	clock := &fakeClock{now: t0}
	cnt := newCounter()
	c := NewClient(WithTransport(cnt), withClock(clock.Now), WithTagsWindow(0))
	p := Policy{Repository: repo}
	ctx := context.Background()
	if _, err := c.Select(ctx, p); err != nil {
		t.Fatal(err)
	}

	reg.setWrap(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
	})
	cnt.take()
	_, err := c.Select(ctx, p)
	var rl *RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("Select(...): want a *RateLimitedError, got %v", err)
	}
	wantMsg := fmt.Sprintf("registry %s rate-limited us; retrying after 30s", reg.host)
	if err.Error() != wantMsg {
		t.Errorf("Select(...): got %q, want %q", err.Error(), wantMsg)
	}
	if d, ok := RetryAfter(err); !ok || d != 30*time.Second {
		t.Errorf("RetryAfter(...): got %v, %v, want 30s", d, ok)
	}
	if diff := cmp.Diff(map[string]int{"GET tags": 1}, cnt.take()); diff != "" {
		t.Errorf("requests (no retry in place): -want, +got:\n%s", diff)
	}

	// Within the back-off: no request at all.
	clock.Add(20 * time.Second)
	_, err = c.Select(ctx, p)
	if d, ok := RetryAfter(err); !ok || d != 10*time.Second {
		t.Errorf("Select(...) in back-off: got %v, want a RateLimitedError with 10s", err)
	}
	if n := cnt.take(); len(n) != 0 {
		t.Errorf("Select(...) in back-off made requests: %v", n)
	}

	// A 503 without Retry-After backs off by the default.
	clock.Add(11 * time.Second)
	reg.setWrap(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err = c.Select(ctx, p)
	if !errors.As(err, &rl) || rl.RetryAfter != firstBackOff || !strings.Contains(err.Error(), "is unavailable (503); retrying after 15s") {
		t.Errorf("Select(...) on 503: got %v", err)
	}

	// Recovered.
	reg.setWrap(nil)
	clock.Add(firstBackOff)
	got, err := c.Select(ctx, p)
	if err != nil || got.Tag != "1.0.0" {
		t.Errorf("Select(...) after the back-off: got %+v, %v", got, err)
	}
}

// Credentials come from docker config JSON; an auth failure says so in
// words and never contains the credential, even when the registry echoes it.
func TestAuth(t *testing.T) {
	reg := newTestRegistry(t)
	repo := reg.repo("private/app")
	digest := push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
	const user, pass = "robot", "s3cr3t-Pa55word-xyz"
	reg.setWrap(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			// A careless registry echoing what it got.
			fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials %s / %s"}]}`, r.Header.Get("Authorization"), p)
			return
		}
		next.ServeHTTP(w, r)
	})
	cfg := func(password string) []byte {
		return []byte(fmt.Sprintf(`{"auths":{"http://%s":{"username":%q,"password":%q}}}`, reg.host, user, password))
	}
	p := Policy{Repository: repo}

	kc, err := NewKeychain(cfg(pass))
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewClient(WithKeychain(kc)).Select(context.Background(), p)
	if err != nil || got.Digest != digest {
		t.Fatalf("Select(...) with credentials: got %+v, %v", got, err)
	}

	for name, c := range map[string]*Client{
		"Anonymous": NewClient(),
		"WrongPassword": func() *Client {
			kc, err := NewKeychain(cfg("wrong-password-123"))
			if err != nil {
				t.Fatal(err)
			}
			return NewClient(WithKeychain(kc))
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Select(context.Background(), p)
			if err == nil {
				t.Fatal("Select(...): want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "refused our credentials (401 Unauthorized)") {
				t.Errorf("Select(...): error does not say what is wrong: %s", msg)
			}
			for _, secret := range []string{"wrong-password-123", "cm9ib3Q6d3Jvbmctc"} {
				if strings.Contains(msg, secret) {
					t.Errorf("Select(...): error contains the credential %q: %s", secret, msg)
				}
			}
		})
	}
}

func TestNewKeychain(t *testing.T) {
	doc := []byte(`{"auths":{
		"https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
		"ghcr.io": {"username": "gh", "password": "ghpass"},
		"ghcr.io/acme": {"username": "acme", "password": "acmepass"},
		"*.azurecr.io": {"username": "az", "password": "azpass"}
	}}`)
	legacy := []byte(`{"quay.io": {"auth": "cXVheTpxdWF5cGFzcw=="}}`)
	kc, err := NewKeychain(doc, legacy)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"nginx":                     "hub",
		"docker.io/acme/app":        "hub",
		"ghcr.io/other/app":         "gh",
		"ghcr.io/acme/app":          "acme",
		"ghcr.io/acmecorp/app":      "gh",
		"team.azurecr.io/app":       "az",
		"quay.io/acme/app":          "quay",
		"registry.example.com/app":  "",
		"azurecr.io.evil.com/thing": "",
	}
	for repo, want := range cases {
		t.Run(repo, func(t *testing.T) {
			r, err := parseRepo(repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(r)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != want {
				t.Errorf("Resolve(%s): got user %q, want %q", repo, cfg.Username, want)
			}
		})
	}

	for name, bad := range map[string]string{
		"NotJSON":   `{"auths": {"ghcr.io": {"password": "hunter2hunter2"`,
		"BadBase64": `{"auths": {"ghcr.io": {"auth": "hunter2hunter2!"}}}`,
		"NoColon":   `{"auths": {"ghcr.io": {"auth": "aHVudGVyMmh1bnRlcjI="}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewKeychain([]byte(bad))
			if err == nil {
				t.Fatal("NewKeychain(...): want an error")
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "aHVudGVy") {
				t.Errorf("NewKeychain(...): error quotes the secret: %v", err)
			}
		})
	}
}
