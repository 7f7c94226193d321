package ticket

import (
	"crypto/sha256"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
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
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, errors.New("cannot parse the kubeconfig named by spec.argocd.kubeconfigSecretRef: check its kubeconfig key")
	}
	c, err := client.New(cfg, client.Options{Scheme: a.scheme})
	if err != nil {
		return nil, errors.Wrap(err, "cannot create a client for the Argo CD control plane")
	}
	a.remote[key] = c
	return c, nil
}
