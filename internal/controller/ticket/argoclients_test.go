package ticket

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/internal/argocd"
)

// A tenant's kubeconfig for a remote Argo CD may only say where that Argo CD
// is and carry inline credentials: nothing that makes the provider run a
// command, read one of its own files (such as its service-account token),
// connect through a proxy the tenant chooses, skip verifying the server, or
// expand a small Secret into gigabytes. The error names the Secret, the
// field and the fix, and never the credential.
func TestRestConfigRefusesWhatReachesOutside(t *testing.T) {
	const secret = "team-a/argocd"
	const head = `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
`
	const inlineUser = "users: [{name: u, user: {token: abc}}]\n"
	cases := map[string]struct {
		kubeconfig string
		want       []string // nil: accepted
	}{
		"Inline": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://argocd.example.com:6443, certificate-authority-data: Zm9v}}]\n" + inlineUser,
		},
		"InlineClientCertificate": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://argocd.example.com:6443}}]\nusers: [{name: u, user: {client-certificate-data: Zm9v, client-key-data: YmFy}}]\n",
		},
		"ExecPlugin": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]\n",
			want:       []string{`user "u" runs a credential plugin`, "users[].user.exec"},
		},
		"AuthProviderPlugin": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {auth-provider: {name: oidc, config: {idp-issuer-url: https://127.0.0.1:1}}}}]\n",
			want:       []string{`user "u" runs a credential plugin`, "users[].user.auth-provider"},
		},
		"TokenFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}]\n",
			want:       []string{`user "u" reads credentials from files`, "users[].user.tokenFile"},
		},
		"ClientCertificateFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate: /etc/tls.crt, client-key: /etc/tls.key}}]\n",
			want:       []string{`user "u" reads credentials from files`, "client-certificate-data"},
		},
		"ClientKeyFileOnly": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate-data: Zm9v, client-key: /etc/tls.key}}]\n",
			want:       []string{`user "u" reads credentials from files`, "client-key-data"},
		},
		"CAFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, certificate-authority: /etc/ca.crt}}]\n" + inlineUser,
			want:       []string{`cluster "k" reads its CA from a file`, "certificate-authority-data"},
		},
		"ProxyURL": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, proxy-url: http://127.0.0.1:3128}}]\n" + inlineUser,
			want:       []string{`cluster "k" names a proxy`, "clusters[].cluster.proxy-url"},
		},
		"ProxyURLOnAnotherCluster": {
			// Every entry is checked, not only the current context's.
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}, {name: other, cluster: {server: https://y, proxy-url: socks5://127.0.0.1:1080}}]\n" + inlineUser,
			want:       []string{`cluster "other" names a proxy`},
		},
		"InsecureSkipTLSVerify": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, insecure-skip-tls-verify: true}}]\n" + inlineUser,
			want:       []string{`cluster "k" does not verify the server`, "certificate-authority-data"},
		},
		"AliasBomb": {
			kubeconfig: "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" + head,
			want:       []string{"line 1 uses a YAML anchor or alias"},
		},
		"TooBig": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\n" + inlineUser + "# " + strings.Repeat("x", MaxKubeconfigBytes) + "\n",
			want:       []string{"more than 65536"},
		},
		"PrivateAddress": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://10.0.12.7:6443}}]\n" + inlineUser,
		},
		"PlainHTTP": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: http://argocd.example.com}}]\n" + inlineUser,
			want:       []string{`cluster "k": clusters[].cluster.server must be an https:// URL`},
		},
		"NoScheme": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: argocd.example.com:6443}}]\n" + inlineUser,
			want:       []string{"clusters[].cluster.server must be an https:// URL"},
		},
		"LoopbackOnAnotherCluster": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}, {name: other, cluster: {server: https://127.0.0.1:8080}}]\n" + inlineUser,
			want:       []string{`cluster "other": clusters[].cluster.server 127.0.0.1 is a loopback address`},
		},
		"IPv6Loopback": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: \"https://[::1]:6443\"}}]\n" + inlineUser,
			want:       []string{"::1 is a loopback address"},
		},
		"IPv4MappedLoopback": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: \"https://[::ffff:127.0.0.1]:6443\"}}]\n" + inlineUser,
			want:       []string{"is a loopback address"},
		},
		"MetadataService": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://169.254.169.254}}]\n" + inlineUser,
			want:       []string{"169.254.169.254 is a link-local address"},
		},
		"LinkLocalIPv6": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: \"https://[fe80::1]:6443\"}}]\n" + inlineUser,
			want:       []string{"fe80::1 is a link-local address"},
		},
		"MetadataThroughNAT64": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: \"https://[64:ff9b::a9fe:a9fe]\"}}]\n" + inlineUser,
			want:       []string{"is a link-local address"},
		},
		"AlibabaMetadata": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://100.100.100.200}}]\n" + inlineUser,
			want:       []string{"100.100.100.200 is a cloud metadata service's address"},
		},
		"Unspecified": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://0.0.0.0:6443}}]\n" + inlineUser,
			want:       []string{"0.0.0.0 is an unspecified address"},
		},
		"NotAKubeconfig": {
			kubeconfig: "{{{",
			want:       []string{"cannot parse it as YAML"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := restConfig(secret, []byte(tc.kubeconfig))
			if tc.want == nil {
				if err != nil {
					t.Errorf("restConfig: %v, want it accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("restConfig: accepted, want an error saying %q", tc.want)
			}
			for _, w := range append([]string{"Secret " + secret, "spec.argocd.kubeconfigSecretRef"}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("restConfig: %v, want an error saying %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// argoServer is an HTTPS server on 127.0.0.1 standing in for a tenant's
// Argo CD control plane (or for whatever else a tenant points its kubeconfig
// at). It counts the connections it accepts and reports those it sees
// closed.
type argoServer struct {
	srv    *httptest.Server
	conns  atomic.Int64
	closed chan struct{}
}

func newArgoServer(t *testing.T, h http.HandlerFunc) *argoServer {
	t.Helper()
	s := &argoServer{closed: make(chan struct{}, 1000)}
	s.srv = httptest.NewUnstartedServer(h)
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed:
			s.closed <- struct{}{}
		}
	}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// kubeconfig reaches the server by the name localhost, which resolves to
// 127.0.0.1: what the static check lets through and only the dial-time
// check can refuse. comment makes kubeconfigs for one server differ.
func (s *argoServer) kubeconfig(comment string) []byte {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return []byte(fmt.Sprintf(`# %s
apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://localhost:%s", tls-server-name: example.com, certificate-authority-data: %s}}]
users: [{name: u, user: {token: tenant-token}}]
`, comment, port, base64.StdEncoding.EncodeToString(ca)))
}

func argoScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := argocd.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// loopbackAllowedForThisTest is refusedIP except that it lets the client
// reach this test's servers on 127.0.0.1; a real provider never uses it.
func loopbackAllowedForThisTest(ip net.IP) string {
	if ip.IsLoopback() {
		return ""
	}
	return refusedIP(ip)
}

func getApplication(c client.Client) error {
	return c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: "guestbook"}, &argocd.Application{})
}

// A kubeconfig whose server is a name resolving to a loopback address gets
// past the static check; the dial-time check refuses the connection, so the
// server never sees one, and the error says why.
func TestArgoClientNeverDialsALoopbackAddress(t *testing.T) {
	s := newArgoServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	a := newArgoClients(nil, argoScheme(t))
	c, err := a.For("team-a/argocd", s.kubeconfig("1"))
	if err != nil {
		t.Fatalf("For: %v", err)
	}
	err = getApplication(c)
	if err == nil {
		t.Fatal("Get: no error, want the connection refused")
	}
	for _, w := range []string{"Secret team-a/argocd (spec.argocd.kubeconfigSecretRef)", "the provider does not connect to", "it is a loopback address"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Get: %q does not say %q", err, w)
		}
	}
	if n := s.conns.Load(); n != 0 {
		t.Errorf("the server accepted %d connections, want 0", n)
	}
}

// Whatever a tenant's kubeconfig points at, the errors its client returns
// (and so the Ticket's condition) hold a status code and reason, never the
// server's answer; an answer larger than MaxArgoResponseBytes is cut, not
// read; a status error is still one, so NotFound is still NotFound.
func TestArgoClientErrorsNeverQuoteTheAnswer(t *testing.T) {
	const secret = "INTERNAL-ANSWER-Kq3"
	status := func(code int, reason string) string {
		return fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d,"reason":%q,"message":"%s","details":{"name":"%s","causes":[{"message":"%s"}]}}`, code, reason, secret, secret, secret)
	}
	cases := map[string]struct {
		code        int
		contentType string
		body        func(w io.Writer)
		want        string
		check       func(error) bool
	}{
		"TextError": {
			code: http.StatusInternalServerError, contentType: "text/plain",
			body: func(w io.Writer) { fmt.Fprint(w, strings.Repeat(secret+" ", 100)) },
			want: "answered 500 Internal Server Error",
		},
		"PageThatIsNoObject": {
			code: http.StatusOK, contentType: "text/html",
			body: func(w io.Writer) { fmt.Fprintf(w, "<html><body>%s</body></html>", secret) },
			want: "did not answer as a Kubernetes API server does",
		},
		"StatusNotFound": {
			code: http.StatusNotFound, contentType: "application/json",
			body:  func(w io.Writer) { fmt.Fprint(w, status(http.StatusNotFound, "NotFound")) },
			want:  "answered 404 Not Found",
			check: kerrors.IsNotFound,
		},
		"StatusWithAForgedReason": {
			code: http.StatusForbidden, contentType: "application/json",
			body:  func(w io.Writer) { fmt.Fprint(w, status(http.StatusForbidden, secret)) },
			want:  "answered 403 Forbidden",
			check: kerrors.IsForbidden,
		},
		"TooLarge": {
			code: http.StatusOK, contentType: "application/json",
			body: func(w io.Writer) {
				fmt.Fprintf(w, `{"kind":"Application","apiVersion":"argoproj.io/v1alpha1","metadata":{"name":"guestbook","annotations":{"x":"%s`, secret)
				chunk := []byte(strings.Repeat("x", 64<<10))
				for range (MaxArgoResponseBytes / len(chunk)) + 1 {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				fmt.Fprint(w, `"}}}`)
			},
			want: "answered more than 8388608 bytes",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newArgoServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.code)
				tc.body(w)
			})
			a := newArgoClients(nil, argoScheme(t))
			a.refuse = loopbackAllowedForThisTest
			c, err := a.For("team-a/argocd", s.kubeconfig(name))
			if err != nil {
				t.Fatalf("For: %v", err)
			}
			err = getApplication(c)
			if err == nil {
				t.Fatal("Get: no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Secret team-a/argocd") {
				t.Errorf("Get: %q, want it to say %q and name the Secret", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Get: the error quotes the server's answer: %.300q", err)
			}
			if tc.check != nil && !tc.check(err) {
				t.Errorf("Get: %q lost its status", err)
			}
		})
	}
}

// The client cache keeps at most MaxArgoClients; the least recently used
// goes, and its idle connections are closed. A tenant rewriting its
// kubeconfig Secret over and over holds no more than that.
func TestArgoClientCacheIsBounded(t *testing.T) {
	s := newArgoServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Application","apiVersion":"argoproj.io/v1alpha1","metadata":{"name":"guestbook","namespace":"argocd"}}`)
	})
	a := newArgoClients(nil, argoScheme(t))
	a.refuse = loopbackAllowedForThisTest
	first, err := a.For("team-a/argocd", s.kubeconfig("0"))
	if err != nil {
		t.Fatalf("For: %v", err)
	}
	if err := getApplication(first); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := a.For("team-a/argocd", s.kubeconfig("0")); err != nil || a.remote.Len() != 1 {
		t.Errorf("one kubeconfig: %v, %d clients, want 1", err, a.remote.Len())
	}
	// Another namespace's Secret with the same bytes gets a client of its
	// own, whose errors name that Secret.
	if _, err := a.For("team-b/argocd", s.kubeconfig("0")); err != nil || a.remote.Len() != 2 {
		t.Errorf("two Secrets holding one kubeconfig: %v, %d clients, want 2", err, a.remote.Len())
	}
	for i := 1; i < MaxArgoClients; i++ {
		if _, err := a.For("team-a/argocd", s.kubeconfig(fmt.Sprint(i))); err != nil {
			t.Fatalf("For: %v", err)
		}
	}
	if got := a.remote.Len(); got != MaxArgoClients {
		t.Errorf("the cache holds %d clients, want %d", got, MaxArgoClients)
	}
	select {
	case <-s.closed:
	case <-time.After(time.Minute):
		t.Fatal("the evicted client's idle connection is still open after a minute")
	}
}

// Every request to a tenant's control plane ends: a server that never
// answers holds a reconcile for ArgoRequestTimeout at most. And no proxy
// from the environment stands between the dial check and the server.
func TestBoundConfig(t *testing.T) {
	cfg := &rest.Config{Host: "https://argocd.example.com"}
	bound(cfg, refusedIP)
	if cfg.Timeout != ArgoRequestTimeout {
		t.Errorf("Timeout = %s, want %s", cfg.Timeout, ArgoRequestTimeout)
	}
	if cfg.Proxy == nil {
		t.Fatal("Proxy is nil: the environment's proxy would be used")
	}
	if p, err := cfg.Proxy(httptest.NewRequest(http.MethodGet, "https://argocd.example.com/", nil)); p != nil || err != nil {
		t.Errorf("Proxy(...) = %v, %v, want no proxy", p, err)
	}
}

// refusedIP refuses loopback, link-local, unspecified, multicast and cloud
// metadata addresses in every spelling, and nothing else.
func TestRefusedIP(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"169.254.169.254": true, "fe80::1": true, "64:ff9b::a9fe:a9fe": true, "fd00:ec2::254": true, "100.100.100.200": true,
		"0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true,
		"10.0.12.7": false, "192.168.1.10": false, "172.16.0.1": false, "203.0.113.9": false, "2001:db8::1": false, "100.100.100.201": false,
	}
	for addr, want := range cases {
		if got := refusedIP(net.ParseIP(addr)) != ""; got != want {
			t.Errorf("refusedIP(%s) refuses: %t, want %t", addr, got, want)
		}
	}
}
