package ticket

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	yaml "go.yaml.in/yaml/v3"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/internal/argocd"
)

// Bounds of a client for a tenant's Argo CD control plane.
const (
	// ArgoRequestTimeout bounds one request, reading the answer included.
	ArgoRequestTimeout = 30 * time.Second
	// MaxArgoResponseBytes bounds one answer's body: an Application is a few
	// kilobytes, a discovery document a few hundred.
	MaxArgoResponseBytes = 8 << 20
	// MaxArgoClients bounds the remote clients kept between reconciles. A
	// tenant that rewrites its kubeconfig Secret makes a new one each time;
	// the least recently used goes, with its idle connections.
	MaxArgoClients = 64
)

// argoClients hands out clients for Argo CD control planes: the provider's
// own (cached, watched) client by default, or one per kubeconfig a
// ProviderConfig names. Remote control planes are not watched, so Tickets
// that use them progress at the poll interval.
type argoClients struct {
	local client.Client
	// localLive reads the provider's own cluster without a cache: what
	// Explain reads (Rollouts, Deployments) must never start an informer.
	localLive client.Reader
	scheme    *runtime.Scheme
	// refuse says why the provider must not connect to ip for a tenant's
	// kubeconfig, or "" when it may. Checked when each connection is dialled,
	// after DNS: a name can resolve to a loopback address.
	refuse func(ip net.IP) string

	mu     sync.Mutex // one client per kubeconfig, even when reconciles race
	remote *lru.Cache // sha256 of the kubeconfig -> *remoteArgo
}

type remoteArgo struct {
	client client.Client
	http   *http.Client
}

func newArgoClients(local client.Client, s *runtime.Scheme) *argoClients {
	return &argoClients{
		local:  local,
		scheme: s,
		refuse: refusedIP,
		remote: lru.NewWithEvictionFunc(MaxArgoClients, func(_ lru.Key, v any) {
			if r, ok := v.(*remoteArgo); ok {
				utilnet.CloseIdleConnectionsFor(r.http.Transport)
			}
		}),
	}
}

// For returns the client for the kubeconfig read from secret
// ("<namespace>/<name>"), or the local client when kubeconfig is nil.
func (a *argoClients) For(secret string, kubeconfig []byte) (client.Client, error) {
	if kubeconfig == nil {
		return a.local, nil
	}
	// The Secret's name is part of the key: a client's errors name it, and
	// must not name another namespace's Secret that holds the same bytes.
	key := sha256.Sum256(append([]byte(secret+"\x00"), kubeconfig...))
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.remote.Get(key); ok {
		return c.(*remoteArgo).client, nil //nolint:forcetypeassert // only *remoteArgo is added.
	}
	cfg, err := restConfig(secret, kubeconfig)
	if err != nil {
		return nil, err
	}
	bound(cfg, a.refuse)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, errors.New("cannot create a client for the Argo CD control plane of " + secretField(secret) + ": check its TLS data")
	}
	// Applications are all the provider patches there, and they and what
	// argocd.Explain reads all it reads; a fixed mapping asks the tenant's
	// server no discovery questions.
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{argocd.GroupVersion})
	mapper.Add(argocd.ApplicationGroupVersionKind, meta.RESTScopeNamespace)
	for _, gvk := range argocd.ExplainedGVKs() {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: a.scheme, HTTPClient: hc, Mapper: mapper})
	if err != nil {
		return nil, errors.New("cannot create a client for the Argo CD control plane of " + secretField(secret))
	}
	r := &remoteArgo{client: withoutServerWords(c, secret), http: hc}
	a.remote.Add(key, r)
	return r.client, nil
}

// Live returns a reader of the cluster c, from For, reaches that never reads
// through a cache: the provider's API reader for the local client, c
// itself for a remote one (remote clients have no cache).
func (a *argoClients) Live(c client.Client) client.Reader {
	if c == a.local && a.localLive != nil {
		return a.localLive
	}
	return c
}

func secretField(secret string) string {
	return "Secret " + secret + " (spec.argocd.kubeconfigSecretRef)"
}

// bound limits cfg, a tenant's, in time, size and reach: every request
// ends after ArgoRequestTimeout, every answer is cut at
// MaxArgoResponseBytes, and no connection goes to an address refuse
// refuses, whatever a name resolves to. No proxy is used: through one, the
// dial check would see the proxy, not the tenant's server. (Without a
// proxy function client-go would also keep every tenant's transport in its
// process-wide cache for good.)
func bound(cfg *rest.Config, refuse func(net.IP) string) {
	cfg.Timeout = ArgoRequestTimeout
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	cfg.Dial = (&net.Dialer{Timeout: ArgoRequestTimeout, KeepAlive: 30 * time.Second, Control: dialControl(refuse)}).DialContext
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return cappedBodies{next: rt, max: MaxArgoResponseBytes} })
}

// dialControl refuses a connection to an address refuse refuses. It runs
// after name resolution, on the address actually dialled.
func dialControl(refuse func(net.IP) string) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return &refusedAddressError{address: address, why: "not a host:port"}
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return &refusedAddressError{address: address, why: "not an IP address"}
		}
		if why := refuse(ip); why != "" {
			return &refusedAddressError{address: address, why: why}
		}
		return nil
	}
}

type refusedAddressError struct{ address, why string }

func (e *refusedAddressError) Error() string {
	return fmt.Sprintf("the provider does not connect to %s: it is %s", e.address, e.why)
}

// Cloud metadata services outside the link-local ranges.
var metadataIPs = []net.IP{
	net.ParseIP("100.100.100.200"), // Alibaba Cloud
	net.ParseIP("fd00:ec2::254"),   // AWS, over IPv6
}

// nat64 is the well-known NAT64 prefix (64:ff9b::/96): an IPv4 address
// embedded in it reaches that IPv4 address.
var nat64 = &net.IPNet{IP: net.ParseIP("64:ff9b::"), Mask: net.CIDRMask(96, 128)}

// refusedIP says why the provider never connects to ip for a tenant's
// kubeconfig, or "". Loopback is the provider's own pod (its metrics,
// sidecars); link-local holds cloud metadata services (169.254.169.254),
// which hand out the node's credentials. Private ranges are not refused: a
// remote Argo CD usually lives in one; what the provider's pod may reach
// there is its NetworkPolicy's to say.
func refusedIP(ip net.IP) string {
	if nat64.Contains(ip) {
		ip = ip[12:16]
	}
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "an unspecified address (0.0.0.0 or ::)"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (169.254.0.0/16 or fe80::/10), where cloud metadata services answer"
	case ip.IsMulticast():
		return "a multicast address"
	}
	for _, m := range metadataIPs {
		if ip.Equal(m) {
			return "a cloud metadata service's address"
		}
	}
	return ""
}

// cappedBodies cuts every response body at max bytes: reading past it
// fails with errResponseTooLarge instead of buffering a hostile server's
// answer.
type cappedBodies struct {
	next http.RoundTripper
	max  int64
}

var errResponseTooLarge = errors.New("the answer is too large")

func (c cappedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: c.max}
	return resp, nil
}

// WrappedRoundTripper lets client-go reach the transport beneath, e.g. to
// close its idle connections.
func (c cappedBodies) WrappedRoundTripper() http.RoundTripper { return c.next }

type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly max bytes from a longer one.
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, errResponseTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// withoutServerWords makes every error c returns say what went wrong
// without quoting the server: client-go puts up to a few kilobytes of a
// non-Status answer into its errors, and those errors become the Ticket's
// condition. A tenant's kubeconfig could otherwise point the provider at any
// HTTPS service and read its answers back.
func withoutServerWords(c client.WithWatch, secret string) client.Client {
	clean := func(err error) error { return argoError(secret, err) }
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return clean(c.Get(ctx, key, obj, opts...))
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			return clean(c.List(ctx, list, opts...))
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return clean(c.Create(ctx, obj, opts...))
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return clean(c.Delete(ctx, obj, opts...))
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			return clean(c.DeleteAllOf(ctx, obj, opts...))
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return clean(c.Update(ctx, obj, opts...))
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return clean(c.Patch(ctx, obj, patch, opts...))
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return clean(c.Apply(ctx, obj, opts...))
		},
		Watch: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
			return nil, errors.New("remote Argo CD control planes are polled, never watched")
		},
		SubResourceGet: func(ctx context.Context, c client.Client, sub string, obj, subResource client.Object, opts ...client.SubResourceGetOption) error {
			return clean(c.SubResource(sub).Get(ctx, obj, subResource, opts...))
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subResource client.Object, opts ...client.SubResourceCreateOption) error {
			return clean(c.SubResource(sub).Create(ctx, obj, subResource, opts...))
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return clean(c.SubResource(sub).Update(ctx, obj, opts...))
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return clean(c.SubResource(sub).Patch(ctx, obj, patch, opts...))
		},
		SubResourceApply: func(ctx context.Context, c client.Client, sub string, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
			return clean(c.SubResource(sub).Apply(ctx, obj, opts...))
		},
	})
}

// knownReasons are the reasons an error keeps; a server can write any
// string there.
var knownReasons = map[metav1.StatusReason]bool{
	metav1.StatusReasonUnauthorized: true, metav1.StatusReasonForbidden: true, metav1.StatusReasonNotFound: true,
	metav1.StatusReasonAlreadyExists: true, metav1.StatusReasonConflict: true, metav1.StatusReasonGone: true,
	metav1.StatusReasonInvalid: true, metav1.StatusReasonServerTimeout: true, metav1.StatusReasonTimeout: true,
	metav1.StatusReasonTooManyRequests: true, metav1.StatusReasonBadRequest: true, metav1.StatusReasonMethodNotAllowed: true,
	metav1.StatusReasonNotAcceptable: true, metav1.StatusReasonRequestEntityTooLarge: true, metav1.StatusReasonUnsupportedMediaType: true,
	metav1.StatusReasonInternalError: true, metav1.StatusReasonExpired: true, metav1.StatusReasonServiceUnavailable: true,
}

// argoError is err, from the Argo CD control plane of secret, as a status
// code and reason, or as why the provider could not reach it: never words
// the server wrote. A status error stays one, so kerrors.IsNotFound and
// friends still work.
func argoError(secret string, err error) error {
	if err == nil {
		return nil
	}
	where := "the Argo CD control plane of " + secretField(secret)
	var refused *refusedAddressError
	var status kerrors.APIStatus
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var dns *net.DNSError
	var errno syscall.Errno
	var netErr net.Error
	switch {
	case errors.Is(err, errResponseTooLarge):
		return errors.Errorf("%s answered more than %d bytes", where, MaxArgoResponseBytes)
	case errors.As(err, &refused):
		return errors.Errorf("cannot reach %s: %s; name a server the provider may reach", where, refused)
	case errors.As(err, &status):
		s := status.Status()
		reason := s.Reason
		if !knownReasons[reason] {
			reason = metav1.StatusReasonUnknown
		}
		return &kerrors.StatusError{ErrStatus: metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    s.Code,
			Reason:  reason,
			Message: fmt.Sprintf("%s answered %d %s", where, s.Code, http.StatusText(int(s.Code))),
		}}
	case meta.IsNoMatchError(err):
		return errors.Errorf("%s does not serve Argo CD Applications (argoproj.io/v1alpha1): is Argo CD installed there?", where)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return errors.Errorf("cannot reach %s: its certificate does not verify: check certificate-authority-data and the server name", where)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return errors.Errorf("cannot reach %s: no answer within %s", where, ArgoRequestTimeout)
	case errors.Is(err, context.Canceled):
		return errors.Errorf("cannot reach %s: cancelled", where)
	case errors.As(err, &dns):
		return errors.Errorf("cannot reach %s: cannot resolve %s", where, dns.Name)
	case errors.As(err, &errno):
		return errors.Errorf("cannot reach %s: %s", where, errno)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.Errorf("cannot reach %s: the connection failed", where)
	}
	return errors.Errorf("%s did not answer as a Kubernetes API server does", where)
}

// MaxKubeconfigBytes bounds a tenant's kubeconfig: one cluster with an
// inline CA and one user with an inline client certificate and key take a
// few kilobytes.
const MaxKubeconfigBytes = 64 << 10

// restConfig builds a client config from a tenant's kubeconfig. The tenant
// writes it, so it may only say where the Argo CD control plane is and
// carry inline credentials: it is refused when it would make the provider
// run a command (exec and auth-provider plugins), read one of its own files
// (token, certificate and key files: the provider's service-account token is
// one), connect through a proxy of the tenant's choosing (proxy-url), or send
// the tenant's token to a server it does not verify (insecure-skip-tls-verify:
// certificate-authority-data always works instead). YAML anchors and aliases
// are refused before anything expands them, and the size is bounded.
func restConfig(secret string, kubeconfig []byte) (*rest.Config, error) {
	field := "the kubeconfig in " + secretField(secret)
	if len(kubeconfig) > MaxKubeconfigBytes {
		return nil, errors.Errorf("%s is %d bytes, more than %d: keep only the Argo CD cluster, its user and one context", field, len(kubeconfig), MaxKubeconfigBytes)
	}
	if err := refuseAliases(kubeconfig); err != nil {
		return nil, errors.Errorf("%s: %s", field, err)
	}
	raw, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, errors.New("cannot parse " + field + ": check its kubeconfig key")
	}
	for _, name := range sortedKeys(raw.AuthInfos) {
		a := raw.AuthInfos[name]
		switch {
		case a.Exec != nil:
			return nil, errors.Errorf("%s: user %q runs a credential plugin (users[].user.exec): use an inline token or client-certificate-data", field, name)
		case a.AuthProvider != nil:
			return nil, errors.Errorf("%s: user %q runs a credential plugin (users[].user.auth-provider): use an inline token or client-certificate-data", field, name)
		case a.TokenFile != "":
			return nil, errors.Errorf("%s: user %q reads credentials from files (users[].user.tokenFile): inline them (token)", field, name)
		case a.ClientCertificate != "", a.ClientKey != "":
			return nil, errors.Errorf("%s: user %q reads credentials from files (users[].user.client-certificate, client-key): inline them (client-certificate-data, client-key-data)", field, name)
		}
	}
	for _, name := range sortedKeys(raw.Clusters) {
		c := raw.Clusters[name]
		switch {
		case c.CertificateAuthority != "":
			return nil, errors.Errorf("%s: cluster %q reads its CA from a file (clusters[].cluster.certificate-authority): inline it (certificate-authority-data)", field, name)
		case c.ProxyURL != "":
			return nil, errors.Errorf("%s: cluster %q names a proxy (clusters[].cluster.proxy-url): remove it; the provider reaches Argo CD directly", field, name)
		case c.InsecureSkipTLSVerify:
			return nil, errors.Errorf("%s: cluster %q does not verify the server (clusters[].cluster.insecure-skip-tls-verify): remove it and inline the server's CA (certificate-authority-data)", field, name)
		}
		if err := checkServer(c.Server); err != nil {
			return nil, errors.Errorf("%s: cluster %q: clusters[].cluster.server %s", field, name, err)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, errors.New("cannot use " + field + ": check its current context")
	}
	return cfg, nil
}

// checkServer refuses a server the provider must not talk to with a
// tenant's credentials: not https (the token would travel in clear), or an
// address refusedIP refuses written as such. A name is checked when it is
// dialled.
func checkServer(server string) error {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New("must be an https:// URL, e.g. https://argocd-cluster.example.com:6443")
	}
	if ip := net.ParseIP(strings.Trim(u.Hostname(), "[]")); ip != nil {
		if why := refusedIP(ip); why != "" {
			return errors.Errorf("%s is %s: the provider never connects there for a tenant; name the Argo CD cluster's own address", u.Hostname(), why)
		}
	}
	return nil
}

// refuseAliases walks the YAML document tree without expanding it and
// refuses anchors and aliases, which no kubeconfig needs and which can
// expand a few hundred bytes into gigabytes.
func refuseAliases(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return errors.New("cannot parse it as YAML: check its kubeconfig key")
	}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			return errors.Errorf("line %d uses a YAML anchor or alias: write the value out", n.Line)
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(&doc)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
