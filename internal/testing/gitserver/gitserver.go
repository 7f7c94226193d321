// Package gitserver runs a real smart-HTTP git server for tests (git
// http-backend behind net/http/cgi, serving bare repositories from a temporary
// directory) and holds the kustomize repository the tests share. Repositories
// are created and changed with the git command line, never with the code
// under test.
package gitserver

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// HTTPBackend is the path of git's CGI program.
const HTTPBackend = "/usr/lib/git-core/git-http-backend"

// Server is a smart-HTTP git server listening on 127.0.0.1.
type Server struct {
	root string
	base string
	user string
	pass string
	auth bool

	stderr lockedBuffer
	hook   func(*http.Request)

	requests atomic.Int64
	services sync.Map // "<repo> <service>" → *atomic.Int64
}

// Requests is how many HTTP requests the server has answered, so that tests
// can prove a code path makes no git network call.
func (s *Server) Requests() int64 { return s.requests.Load() }

// The services a git client asks for.
const (
	UploadPack  = "git-upload-pack"  // a fetch
	ReceivePack = "git-receive-pack" // a push
)

// Sessions is how many times a client started service (UploadPack or
// ReceivePack) on repo: the ref advertisements served (GET
// info/refs?service=...), one per fetch or push whatever it then asks.
func (s *Server) Sessions(repo, service string) int64 {
	if n, ok := s.services.Load(repoDir(repo) + " " + service); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// countSession counts a ref advertisement by repository and service.
func (s *Server) countSession(r *http.Request) {
	repo, ok := strings.CutSuffix(r.URL.Path, "/info/refs")
	service := r.URL.Query().Get("service")
	if !ok || service == "" {
		return
	}
	n, _ := s.services.LoadOrStore(repoDir(repo)+" "+service, &atomic.Int64{})
	n.(*atomic.Int64).Add(1)
}

// lockedBuffer collects git http-backend's stderr, shown when a test fails.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth requires HTTP basic authentication with exactly this user and
// password; any other request gets 401.
func WithBasicAuth(user, pass string) Option {
	return func(s *Server) {
		s.user, s.pass, s.auth = user, pass, true
	}
}

// WithRequestHook runs hook before the server answers each request, e.g.
// to have a human push between a client's fetch and its push. hook runs on
// the server's goroutine: it may change repositories with Commit or Reset.
func WithRequestHook(hook func(*http.Request)) Option {
	return func(s *Server) { s.hook = hook }
}

// New starts a server; it is stopped when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := os.Stat(HTTPBackend); err != nil {
		if os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("git http-backend is required (K8STA_REQUIRE_INTEGRATION=1) but not available: %v", err)
		}
		t.Skipf("git http-backend not available: %v", err)
	}
	s := &Server{root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	backend := &cgi.Handler{
		Path: HTTPBackend,
		Dir:  s.root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.root,
		},
		InheritEnv: []string{"PATH"},
		Stderr:     &s.stderr,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("git http-backend stderr:\n%s", s.stderr.String())
		}
	})
	var h http.Handler = backend
	if s.auth {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(s.pass)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="gitserver"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		})
	}
	served := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.countSession(r)
		if s.hook != nil {
			s.hook(r)
		}
		served.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.base = "http://" + l.Addr().String()
	return s
}

// Root is the directory holding the bare repositories.
func (s *Server) Root() string { return s.root }

func repoDir(name string) string {
	name = strings.Trim(name, "/")
	if !strings.HasSuffix(name, ".git") {
		name += ".git"
	}
	return name
}

// URL of the repository, without credentials.
func (s *Server) URL(repo string) string {
	return s.base + "/" + repoDir(repo)
}

// Path is the bare repository's directory on disk.
func (s *Server) Path(repo string) string {
	return filepath.Join(s.root, filepath.FromSlash(repoDir(repo)))
}

// CreateEmptyRepo creates a bare repository with no commit at all.
func (s *Server) CreateEmptyRepo(t testing.TB, name string) {
	t.Helper()
	dir := s.Path(name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, "", nil, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	git(t, dir, nil, "config", "http.receivepack", "true")
}

// CreateRepo creates a bare repository whose branch main holds exactly files,
// and returns the commit.
func (s *Server) CreateRepo(t testing.TB, name string, files map[string][]byte) string {
	t.Helper()
	s.CreateEmptyRepo(t, name)
	return s.Commit(t, name, "main", files, "Initial commit")
}

// Commit adds a commit on top of branch (a root commit if the branch does not
// exist yet) that writes files; a nil value deletes that path. It returns the
// new commit.
func (s *Server) Commit(t testing.TB, repo, branch string, files map[string][]byte, message string) string {
	t.Helper()
	dir := s.Path(repo)
	ref := "refs/heads/" + branch
	parent := s.head(t, dir, branch)

	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var in bytes.Buffer
	fmt.Fprintf(&in, "commit %s\n", ref)
	fmt.Fprintf(&in, "committer Test Committer <test@example.com> %d +0000\n", time.Now().Unix())
	fmt.Fprintf(&in, "data %d\n%s\n", len(message), message)
	if parent != "" {
		fmt.Fprintf(&in, "from %s\n", parent)
	}
	for _, p := range paths {
		c := files[p]
		if c == nil {
			fmt.Fprintf(&in, "D %s\n", p)
			continue
		}
		fmt.Fprintf(&in, "M 100644 inline %s\ndata %d\n", p, len(c))
		in.Write(c)
		in.WriteString("\n")
	}
	in.WriteString("done\n")
	git(t, dir, &in, "fast-import", "--quiet", "--done")
	return s.head(t, dir, branch)
}

// Reset points branch at commit, whatever it held before: what a force push
// does. An empty commit deletes the branch.
func (s *Server) Reset(t testing.TB, repo, branch, commit string) {
	t.Helper()
	if commit == "" {
		git(t, s.Path(repo), nil, "update-ref", "-d", "refs/heads/"+branch)
		return
	}
	git(t, s.Path(repo), nil, "update-ref", "refs/heads/"+branch, commit)
}

// Head returns the commit branch points at, or "" if it does not exist.
func (s *Server) Head(t testing.TB, repo, branch string) string {
	t.Helper()
	return s.head(t, s.Path(repo), branch)
}

func (s *Server) head(t testing.TB, dir, branch string) string {
	t.Helper()
	out, err := gitOut(dir, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return ""
		}
		t.Fatalf("cannot read head of %s: %v: %s", branch, err, out)
	}
	return strings.TrimSpace(out)
}

// CommitTime returns the committer time of commit, to the second.
func (s *Server) CommitTime(t testing.TB, repo, commit string) time.Time {
	t.Helper()
	out := git(t, s.Path(repo), nil, "show", "-s", "--format=%ct", commit)
	sec, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("cannot read the committer time of %s: %q: %v", commit, out, err)
	}
	return time.Unix(sec, 0)
}

// Log returns the messages (subject and body, trimmed) of the commits on
// branch, newest first.
func (s *Server) Log(t testing.TB, repo, branch string) []string {
	t.Helper()
	out := git(t, s.Path(repo), nil, "log", "--format=%B%x00", "refs/heads/"+branch)
	var msgs []string
	for _, m := range strings.Split(out, "\x00") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// Files returns every file at the head of branch.
func (s *Server) Files(t testing.TB, repo, branch string) map[string][]byte {
	t.Helper()
	dir := s.Path(repo)
	out := git(t, dir, nil, "ls-tree", "-r", "-z", "--name-only", "refs/heads/"+branch)
	files := map[string][]byte{}
	for _, p := range strings.Split(out, "\x00") {
		if p == "" {
			continue
		}
		files[p] = []byte(git(t, dir, nil, "cat-file", "blob", "refs/heads/"+branch+":"+p))
	}
	return files
}

func gitOut(dir string, stdin *bytes.Buffer, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func git(t testing.TB, dir string, stdin *bytes.Buffer, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, stdin, args...)
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}
