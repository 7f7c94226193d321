package gitrepo

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// testPolicy allows plain http to 127.0.0.1, where the test git servers
// listen: as the provider's operator would with --insecure-git-host.
func testPolicy(t testing.TB) repourl.Policy {
	t.Helper()
	p, err := repourl.NewPolicy("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newCache is a Cache in a temporary directory, with testPolicy unless opts
// set another, and no fetch window unless opts set one: tests change the
// remote and fetch at once, so each Fetch must start after it is called.
func newCache(t testing.TB, opts ...Option) *Cache {
	t.Helper()
	c, err := NewCache(t.TempDir(), append([]Option{WithPolicy(testPolicy(t)), WithFetchWindow(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// open returns the Repo of raw for auth, released when the test ends.
func open(t testing.TB, c *Cache, raw string, auth Auth) *Repo {
	t.Helper()
	u, err := c.Policy().Parse(raw)
	if err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	r, err := c.Repo(u, auth)
	if err != nil {
		t.Fatalf("Repo(%q): %v", raw, err)
	}
	t.Cleanup(r.Release)
	return r
}

// newRepo is the Repo of raw for auth in a cache of its own.
func newRepo(t testing.TB, raw string, auth Auth) *Repo {
	t.Helper()
	return open(t, newCache(t), raw, auth)
}

// closedPort returns a 127.0.0.1 port nobody listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// gitConfig sets a config value in a server-side bare repository.
func gitConfig(t testing.TB, s *gitserver.Server, repo, key, value string) {
	t.Helper()
	cmd := exec.Command("git", "config", key, value)
	cmd.Dir = s.Path(repo)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git config: %v: %s", err, out)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mustNotContain(t testing.TB, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(errString(err), s) {
			t.Errorf("error %q contains secret %q", errString(err), s)
		}
	}
}
