package gitrepo

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// TestCacheIdentity: one clone per repository and credentials. Spellings of
// one repository share it; other credentials, or a path that differs in case
// (another repository on a case-sensitive server), never do.
func TestCacheIdentity(t *testing.T) {
	alice := Auth{Username: "alice", Password: "tok-A"}
	cases := map[string]struct {
		a, b         string
		authA, authB Auth
		same         bool
	}{
		"HostCase":          {a: "https://GitHub.com/acme/config", b: "https://github.com/acme/config", same: true},
		"DefaultPort":       {a: "https://github.com:443/acme/config", b: "https://github.com/acme/config", same: true},
		"DotGit":            {a: "https://github.com/acme/config.git/", b: "https://github.com/acme/config", same: true},
		"SCPAndSSH":         {a: "git@github.com:acme/config.git", b: "ssh://git@github.com:22/acme/config", same: true},
		"SameSecretContent": {a: "https://github.com/acme/config", b: "https://github.com/acme/config", authA: alice, authB: Auth{Username: "alice", Password: "tok-A"}, same: true},
		"OtherPassword":     {a: "https://github.com/acme/config", b: "https://github.com/acme/config", authA: alice, authB: Auth{Username: "alice", Password: "tok-B"}},
		"OtherUser":         {a: "https://github.com/acme/config", b: "https://github.com/acme/config", authA: alice, authB: Auth{Username: "bob", Password: "tok-A"}},
		"AnonymousIsOwn":    {a: "https://github.com/acme/config", b: "https://github.com/acme/config", authA: alice},
		"OtherSSHKey":       {a: "git@github.com:acme/config", b: "git@github.com:acme/config", authA: Auth{SSHPrivateKey: []byte("k1"), SSHKnownHosts: []byte("h")}, authB: Auth{SSHPrivateKey: []byte("k2"), SSHKnownHosts: []byte("h")}},
		"OtherKnownHosts":   {a: "git@github.com:acme/config", b: "git@github.com:acme/config", authA: Auth{SSHPrivateKey: []byte("k"), SSHKnownHosts: []byte("h1")}, authB: Auth{SSHPrivateKey: []byte("k"), SSHKnownHosts: []byte("h2")}},
		"InsecureHostKey":   {a: "git@github.com:acme/config", b: "git@github.com:acme/config", authA: Auth{SSHPrivateKey: []byte("k")}, authB: Auth{SSHPrivateKey: []byte("k"), InsecureIgnoreHostKey: true}},
		"OtherSSHLogin":     {a: "ssh://alice@github.com/acme/config", b: "ssh://bob@github.com/acme/config"},
		"FieldsDoNotBleed":  {a: "https://github.com/acme/config", b: "https://github.com/acme/config", authA: Auth{Username: "ab", Password: "c"}, authB: Auth{Username: "a", Password: "bc"}},
		"PathCase":          {a: "https://github.com/Acme/Config", b: "https://github.com/acme/config"},
		"HTTPSAndSSH":       {a: "https://github.com/acme/config", b: "ssh://git@github.com/acme/config"},
		"OtherRepository":   {a: "https://github.com/acme/config", b: "https://github.com/acme/config2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCache(t)
			a, b := open(t, c, tc.a, tc.authA), open(t, c, tc.b, tc.authB)
			if got := a == b; got != tc.same {
				t.Errorf("Repo(%q) == Repo(%q): want %v, got %v", tc.a, tc.b, tc.same, got)
			}
			if a.dir == b.dir != tc.same {
				t.Errorf("clone directories %s and %s: want shared %v", a.dir, b.dir, tc.same)
			}
			for _, secret := range []string{"tok-A", "tok-B"} {
				if strings.Contains(a.dir+b.dir, secret) {
					t.Errorf("a clone directory name holds a credential")
				}
			}
		})
	}

	// The directory name is keyed per process: two caches name one
	// repository and token differently, so a name is no hash of the token.
	a := open(t, newCache(t), "https://github.com/acme/config", alice)
	b := open(t, newCache(t), "https://github.com/acme/config", alice)
	if filepath.Base(a.dir) == filepath.Base(b.dir) {
		t.Errorf("two caches gave one repository and token the same directory name %s", filepath.Base(a.dir))
	}
}

// TestCacheRefusesPolicy: the cache checks the plain-http allow-list itself,
// whatever policy parsed the URL.
func TestCacheRefusesPolicy(t *testing.T) {
	lenient, err := repourl.NewPolicy("git.example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := lenient.Parse("http://git.example.com/acme/config")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newCache(t).Repo(u, Auth{}); !errors.Is(err, repourl.ErrInsecure) {
		t.Errorf("Repo(%s) with the default policy: want %v, got %v", u, repourl.ErrInsecure, err)
	}
	if _, err := newCache(t, WithPolicy(lenient)).Repo(u, Auth{}); err != nil {
		t.Errorf("Repo(%s) with the policy that allows it: %v", u, err)
	}
	if _, err := newCache(t).Repo(repourl.URL{}, Auth{}); !errors.Is(err, repourl.ErrInvalid) {
		t.Errorf("Repo(zero URL): want %v, got %v", repourl.ErrInvalid, err)
	}

	// Loopback is no exception: in a pod it is the provider's own metrics
	// endpoint and its sidecars.
	def, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"http://127.0.0.1:8080/acme/config", "http://localhost/acme/config", "http://[::1]/acme/config"} {
		loop, err := repourl.NewPolicy("127.0.0.1", "localhost", "[::1]")
		if err != nil {
			t.Fatal(err)
		}
		u, err := loop.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := def.Repo(u, Auth{}); !errors.Is(err, repourl.ErrInsecure) {
			t.Errorf("Repo(%s) with the default policy: want %v, got %v", u, repourl.ErrInsecure, err)
		}
	}
}

// recorder is a reverse proxy in front of a git server that records the
// basic-auth user of every request.
type recorder struct {
	mu    sync.Mutex
	users []string // "" for a request without credentials
	base  string
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if pass != "" {
			user += ":" + pass
		}
		rec.mu.Lock()
		rec.users = append(rec.users, user)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	rec.base = "http://" + l.Addr().String()
	return rec
}

// since returns the users of the requests after the first n.
func (r *recorder) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.users[n:]...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.users)
}

// TestTenantsDoNotMix is hole 4: two tenants name one repository on one
// server. Tenant A's credentials grant it, tenant B's do not. B never sees
// A's objects, and A's credentials are never sent on B's fetch.
func TestTenantsDoNotMix(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t, gitserver.WithBasicAuth("alice", "pw-alice-XYZZY"))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	rec := newRecorder(t, s.URL("config"))
	repoURL := rec.base + "/config.git"
	c := newCache(t)

	tenantA := Auth{Username: "alice", Password: "pw-alice-XYZZY"}
	tenantB := Auth{Username: "bob", Password: "pw-bob"}
	a := open(t, c, repoURL, tenantA)
	if err := a.Fetch(ctx); err != nil {
		t.Fatalf("tenant A: Fetch: %v", err)
	}
	if !a.HasCommit(c0) {
		t.Fatalf("tenant A: HasCommit(%s) after Fetch: false", c0)
	}

	// Tenant B names the same repository in another spelling.
	b := open(t, c, strings.Replace(repoURL, "http://", "HTTP://", 1)+"/", tenantB)
	anonymous := open(t, c, repoURL, Auth{})
	for name, r := range map[string]*Repo{"B": b, "anonymous": anonymous} {
		if r == a {
			t.Fatalf("tenant %s got tenant A's clone", name)
		}
		if r.HasCommit(c0) {
			t.Errorf("tenant %s: HasCommit(%s) before any fetch of its own: true", name, c0)
		}
		if _, err := r.Files(c0); !errors.Is(err, ErrCommitNotFound) {
			t.Errorf("tenant %s: Files(%s): want %v, got %v", name, c0, ErrCommitNotFound, err)
		}
		before := rec.count()
		err := r.Fetch(ctx)
		if !errors.Is(err, ErrAuth) {
			t.Errorf("tenant %s: Fetch: want %v, got %v", name, ErrAuth, err)
		}
		mustNotContain(t, err, tenantA.Password, tenantB.Password)
		sent := rec.since(before)
		if len(sent) == 0 {
			t.Errorf("tenant %s: Fetch sent no request", name)
		}
		for _, u := range sent {
			if strings.Contains(u, tenantA.Password) || strings.HasPrefix(u, "alice") {
				t.Errorf("tenant %s: a request of its fetch carried tenant A's credentials", name)
			}
		}
		if r.HasCommit(c0) {
			t.Errorf("tenant %s: HasCommit(%s) after its refused fetch: true", name, c0)
		}
		if _, ok, _ := r.Head("main"); ok {
			t.Errorf("tenant %s: Head(main) after its refused fetch: ok", name)
		}
	}

	// Tenant A still works, and another namespace with the same Secret
	// content shares A's clone: one clone per repository and credentials.
	a2 := open(t, c, repoURL, Auth{Username: "alice", Password: "pw-alice-XYZZY"})
	if a2 != a {
		t.Error("the same credentials did not share the clone")
	}
	if err := a2.Fetch(ctx); err != nil {
		t.Errorf("tenant A again: %v", err)
	}
}

// randomBytes is incompressible content, so a pack is as large as it.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFetchTooLarge: a repository larger than the per-repository bound is
// refused with ErrTooLarge while its pack arrives, and nothing of it stays.
func TestFetchTooLarge(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	s.CreateRepo(t, "big", map[string][]byte{"blob.bin": randomBytes(t, 2<<20)})
	small := s.CreateRepo(t, "small", gitserver.KustomizeTree())
	const bound = 512 << 10
	c := newCache(t, WithMaxRepoBytes(bound))

	r := open(t, c, s.URL("big"), Auth{})
	err := r.Fetch(ctx)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fetch of a 2 MiB repository with a %d-byte bound: want %v, got %v", bound, ErrTooLarge, err)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "--git-cache-max-repo-bytes") {
		t.Errorf("error %q does not name the flag to raise", err)
	}
	if _, ok, _ := r.Head("main"); ok {
		t.Error("Head(main) after a refused fetch: ok")
	}
	size, err := dirSize(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clone after the refused fetch: %d bytes on disk", size)
	if size > bound {
		t.Errorf("clone holds %d bytes after the refused fetch, more than the bound %d", size, bound)
	}
	if m, _ := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "tmp_pack_*")); len(m) != 0 {
		t.Errorf("temporary packs left behind: %v", m)
	}

	ok := open(t, c, s.URL("small"), Auth{})
	if err := ok.Fetch(ctx); err != nil {
		t.Fatalf("Fetch of a small repository: %v", err)
	}
	if !ok.HasCommit(small) {
		t.Error("small repository: commit missing")
	}
}

// TestEvict: over the total bound, least recently used clones nobody holds
// are deleted; a held clone never is.
func TestEvict(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	for _, name := range []string{"a", "b", "c"} {
		s.CreateRepo(t, name, map[string][]byte{"blob.bin": randomBytes(t, 64<<10)})
	}
	c := newCache(t)
	fetch := func(name string) *Repo {
		t.Helper()
		u, err := c.Policy().Parse(s.URL(name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Repo(u, Auth{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Fetch(ctx); err != nil {
			t.Fatalf("Fetch %s: %v", name, err)
		}
		return r
	}
	a := fetch("a")
	_, one := c.Usage()
	t.Logf("one clone: %d bytes", one)
	c.mu.Lock()
	c.maxBytes = one + one/2 // room for one clone and a half
	c.mu.Unlock()
	a.Release()

	exists := func(r *Repo) bool {
		_, err := os.Stat(r.dir)
		return err == nil
	}
	type state struct {
		A, B, C bool // the clone is still on disk
		Clones  int
	}
	b := fetch("b") // a is the least recently used and nobody holds it
	clones, _ := c.Usage()
	if diff := cmp.Diff(state{A: false, B: true, Clones: 1}, state{A: exists(a), B: exists(b), Clones: clones}); diff != "" {
		t.Errorf("after fetching b while a was released: -want +got:\n%s", diff)
	}
	if a.HasCommit(s.Head(t, "a", "main")) || !errors.Is(a.Fetch(ctx), errEvicted) {
		t.Error("an evicted Repo still answers instead of saying it was evicted")
	}
	if exists(a) {
		t.Error("using an evicted Repo recreated its clone")
	}

	cr := fetch("c") // b and c held: both stay, over the bound
	clones, total := c.Usage()
	if diff := cmp.Diff(state{B: true, C: true, Clones: 2}, state{A: exists(a), B: exists(b), C: exists(cr), Clones: clones}); diff != "" {
		t.Errorf("after fetching c while b was held: -want +got:\n%s", diff)
	}
	t.Logf("held clones over the bound: %d bytes for a bound of %d", total, c.maxBytes)

	b.Release() // now b may go
	clones, total = c.Usage()
	if diff := cmp.Diff(state{C: true, Clones: 1}, state{A: exists(a), B: exists(b), C: exists(cr), Clones: clones}); diff != "" {
		t.Errorf("after releasing b: -want +got:\n%s", diff)
	}
	if total > c.maxBytes {
		t.Errorf("%d bytes cached, more than the bound %d", total, c.maxBytes)
	}
	cr.Release()

	// A released repository opened again is a fresh clone that fetches.
	again := fetch("a")
	defer again.Release()
	if !again.HasCommit(s.Head(t, "a", "main")) {
		t.Error("a, fetched again after eviction: commit missing")
	}
}

// TestNewCacheRemovesStaleClones: clones of an earlier process (named with
// its salt) are removed; anything else in the directory is left alone.
func TestNewCacheRemovesStaleClones(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "0123456789abcdef0123456789abcdef-7")
	old := filepath.Join(dir, "0123456789abcdef0123456789abcdef")
	other := filepath.Join(dir, "lost+found")
	for _, d := range []string{stale, old, other} {
		if err := os.MkdirAll(filepath.Join(d, "objects"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewCache(dir); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{stale: false, old: false, other: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: want present %v, got error %v", filepath.Base(d), want, err)
		}
	}
}
