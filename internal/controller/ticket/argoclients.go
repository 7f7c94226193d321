package ticket

import (
	"crypto/sha256"
	"sort"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// argoClients hands out clients for Argo CD control planes: the provider's
// own (cached, watched) client by default, or one per kubeconfig a
// ProviderConfig names. Remote control planes are not watched, so Tickets
// that use them progress at the poll interval.
type argoClients struct {
	local  client.Client
	scheme *runtime.Scheme

	mu     sync.Mutex
	remote map[[sha256.Size]byte]client.Client
}

func newArgoClients(local client.Client, s *runtime.Scheme) *argoClients {
	return &argoClients{local: local, scheme: s, remote: map[[sha256.Size]byte]client.Client{}}
}

// For returns the client for the kubeconfig read from secret
// ("<namespace>/<name>"), or the local client when kubeconfig is nil.
func (a *argoClients) For(secret string, kubeconfig []byte) (client.Client, error) {
	if kubeconfig == nil {
		return a.local, nil
	}
	key := sha256.Sum256(kubeconfig)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.remote[key]; ok {
		return c, nil
	}
	cfg, err := restConfig(secret, kubeconfig)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: a.scheme})
	if err != nil {
		return nil, errors.Wrap(err, "cannot create a client for the Argo CD control plane")
	}
	a.remote[key] = c
	return c, nil
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
	field := "the kubeconfig in Secret " + secret + " (spec.argocd.kubeconfigSecretRef)"
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
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, errors.New("cannot use " + field + ": check its current context")
	}
	return cfg, nil
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
