package gitrepo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

const (
	user     = "alice"
	password = "pa55-w0rd-XYZZY"
)

func TestHTTPAuth(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t, gitserver.WithBasicAuth(user, password))
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	tokenServer := gitserver.New(t, gitserver.WithBasicAuth("x-access-token", password))
	tokenServer.CreateRepo(t, "config", gitserver.KustomizeTree())
	open := gitserver.New(t)
	open.CreateRepo(t, "config", gitserver.KustomizeTree())

	cases := map[string]struct {
		url     string
		auth    Auth
		err     error
		secrets []string
		mention string // the error names the repository like this
	}{
		"BasicAuth":       {url: s.URL("config"), auth: Auth{Username: user, Password: password}},
		"TokenOnly":       {url: tokenServer.URL("config"), auth: Auth{Password: password}},
		"WrongPassword":   {url: s.URL("config"), auth: Auth{Username: user, Password: "wrong-" + password}, err: ErrAuth, secrets: []string{"wrong-" + password}, mention: s.URL("config")},
		"NoCredentials":   {url: s.URL("config"), err: ErrAuth, mention: s.URL("config")},
		"AnonymousOpen":   {url: open.URL("config")},
		"MissingRepo":     {url: open.URL("nope"), err: ErrUnreachable, mention: "not found"},
		"MissingRepoAuth": {url: s.URL("nope"), auth: Auth{Username: user, Password: password}, err: ErrUnreachable, secrets: []string{password}},
		"ClosedPort":      {url: "http://" + closedPort(t) + "/config.git", auth: Auth{Username: user, Password: password}, err: ErrUnreachable, secrets: []string{password}, mention: "connection refused"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRepo(t, tc.url, tc.auth)
			err := r.Fetch(ctx)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Fetch: want error %v, got %v", tc.err, err)
			}
			if err != nil {
				t.Logf("error: %v", err)
			}
			mustNotContain(t, err, append(tc.secrets, password)...)
			if tc.mention != "" && !strings.Contains(errString(err), tc.mention) {
				t.Errorf("error %q does not mention %q", errString(err), tc.mention)
			}
			if tc.err != nil {
				// Publish fails alike, and as cleanly.
				_, _, perr := r.Publish(ctx, "env/dev", bot, func(string) (map[string][]byte, string, error) {
					return map[string][]byte{"a": []byte("a")}, "m", nil
				})
				if !errors.Is(perr, tc.err) {
					t.Errorf("Publish: want error %v, got %v", tc.err, perr)
				}
				mustNotContain(t, perr, append(tc.secrets, password)...)
				return
			}
			if _, ok, err := r.Head("main"); err != nil || !ok {
				t.Errorf("Head(main): ok=%v err=%v", ok, err)
			}
		})
	}
}

// TestNoRedirects: a git server that redirects sends neither a fetch nor a
// push anywhere: the policy checked the URL, not where a redirect leads
// (plain http to another host, a loopback or link-local address).
func TestNoRedirects(t *testing.T) {
	ctx := context.Background()
	target := gitserver.New(t)
	target.CreateRepo(t, "config", gitserver.KustomizeTree())
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL("config")+strings.TrimPrefix(r.URL.RequestURI(), "/config.git"), http.StatusFound)
	}))
	t.Cleanup(redirector.Close)

	r := newRepo(t, redirector.URL+"/config.git", Auth{Username: user, Password: password})
	err := r.Fetch(ctx)
	t.Logf("Fetch: %v", err)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("Fetch: want %v naming the redirect, got %v", ErrUnreachable, err)
	}
	_, _, err = r.Publish(ctx, "env/dev", bot, func(string) (map[string][]byte, string, error) {
		return map[string][]byte{"a": []byte("a")}, "m", nil
	})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Publish: want %v, got %v", ErrUnreachable, err)
	}
	if n := target.Requests(); n != 0 {
		t.Errorf("the redirect's target got %d requests, want 0", n)
	}
}

func TestPublishWithAuth(t *testing.T) {
	s := gitserver.New(t, gitserver.WithBasicAuth(user, password))
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := newRepo(t, s.URL("config"), Auth{Username: user, Password: password})
	c, pushed, err := r.Publish(context.Background(), "env/dev", bot,
		func(string) (map[string][]byte, string, error) {
			return map[string][]byte{"manifests.yaml": []byte("a: 1\n")}, "render", nil
		})
	if err != nil || !pushed || c != s.Head(t, "config", "env/dev") {
		t.Fatalf("Publish: commit=%s pushed=%v err=%v", c, pushed, err)
	}
}

func TestSSHAuth(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := pem.EncodeToMemory(block)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	addr := closedPort(t)
	host, port, _ := strings.Cut(addr, ":")
	knownHosts := []byte("[" + host + "]:" + port + " " + string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	garbage := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nZ2FyYmFnZS1rZXktbWF0ZXJpYWwtMTIzNDU2Nzg5MA==\n-----END OPENSSH PRIVATE KEY-----\n")
	url := "ssh://git@" + addr + "/acme/config.git"

	cases := map[string]struct {
		url     string
		auth    Auth
		err     error
		mention string
	}{
		"NoKey":               {url: url, auth: Auth{SSHKnownHosts: knownHosts}, err: ErrAuth, mention: "no SSH private key"},
		"GarbageKey":          {url: url, auth: Auth{SSHPrivateKey: garbage, SSHKnownHosts: knownHosts}, err: ErrAuth, mention: "cannot parse SSH private key"},
		"NotAKey":             {url: url, auth: Auth{SSHPrivateKey: []byte("hunter2-not-a-key"), SSHKnownHosts: knownHosts}, err: ErrAuth, mention: "cannot parse SSH private key"},
		"NoKnownHosts":        {url: url, auth: Auth{SSHPrivateKey: key}, err: ErrAuth, mention: "known_hosts"},
		"SCPNoKnownHost":      {url: "git@" + host + ":acme/config.git", auth: Auth{SSHPrivateKey: key}, err: ErrAuth, mention: "known_hosts"},
		"Unreachable":         {url: url, auth: Auth{SSHPrivateKey: key, SSHKnownHosts: knownHosts}, err: ErrUnreachable, mention: "connection refused"},
		"InsecureUnreachable": {url: url, auth: Auth{SSHPrivateKey: key, InsecureIgnoreHostKey: true}, err: ErrUnreachable},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRepo(t, tc.url, tc.auth)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := r.Fetch(ctx)
			if !errors.Is(err, tc.err) {
				t.Fatalf("want error %v, got %v", tc.err, err)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(errString(err), tc.mention) {
				t.Errorf("error %q does not mention %q", errString(err), tc.mention)
			}
			for _, secret := range []string{string(key), string(garbage), "Z2FyYmFnZS1rZXkt", "hunter2", strings.Split(string(key), "\n")[1]} {
				mustNotContain(t, err, secret)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	cause := withKind(ErrAuth, errors.New("server said: bad password s3cret for alice"))
	err := scrub(cause, "", "s3cret")
	if !errors.Is(err, ErrAuth) {
		t.Errorf("scrubbed error lost its kind: %v", err)
	}
	if got, want := err.Error(), "authentication failed: server said: bad password REDACTED for alice"; got != want {
		t.Errorf("want %q, got %q", want, got)
	}
	if scrub(cause, "absent") != cause { //nolint:errorlint // The very error, unchanged.
		t.Error("scrub changed an error holding no secret")
	}
}

// BenchmarkFetchNoChange measures an incremental fetch with nothing new over
// smart HTTP: ref advertisement only, no pack.
func BenchmarkFetchNoChange(b *testing.B) {
	s := gitserver.New(b)
	s.CreateRepo(b, "config", gitserver.KustomizeTree())
	for i := range 5 {
		s.Commit(b, "config", "env/dev", map[string][]byte{"manifests.yaml": []byte(strings.Repeat("x", i+1))}, "render")
	}
	r := newRepo(b, s.URL("config"), Auth{})
	ctx := context.Background()
	if err := r.Fetch(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.Fetch(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
