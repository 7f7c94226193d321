package ticket

import (
	"crypto/sha256"
	"sync"

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

func (a *argoClients) For(kubeconfig []byte) (client.Client, error) {
	if kubeconfig == nil {
		return a.local, nil
	}
	key := sha256.Sum256(kubeconfig)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.remote[key]; ok {
		return c, nil
	}
	cfg, err := restConfig(kubeconfig)
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

// restConfig builds a client config from a tenant's kubeconfig, refusing
// everything that would make the provider run a command or read one of its
// own files (exec and auth-provider plugins, token and certificate files):
// a namespaced ProviderConfig must not reach the provider's own identity.
func restConfig(kubeconfig []byte) (*rest.Config, error) {
	const field = "the kubeconfig named by spec.argocd.kubeconfigSecretRef"
	raw, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, errors.New("cannot parse " + field + ": check its kubeconfig key")
	}
	for name, a := range raw.AuthInfos {
		switch {
		case a.Exec != nil, a.AuthProvider != nil:
			return nil, errors.Errorf("%s: user %q runs a credential plugin: use an inline token or client certificate", field, name)
		case a.TokenFile != "", a.ClientCertificate != "", a.ClientKey != "":
			return nil, errors.Errorf("%s: user %q reads credentials from files: inline them (token, client-certificate-data, client-key-data)", field, name)
		}
	}
	for name, c := range raw.Clusters {
		if c.CertificateAuthority != "" {
			return nil, errors.Errorf("%s: cluster %q reads its CA from a file: inline it (certificate-authority-data)", field, name)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return nil, errors.New("cannot use " + field + ": check its current context")
	}
	return cfg, nil
}
