// Package credentials resolves the ProviderConfig or ClusterProviderConfig a
// managed resource names into the secrets K8sTA needs. Secret values never
// leave this package in an error message.
package credentials

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/gitrepo"
)

// Keys of a git credentials Secret.
const (
	KeyUsername      = "username"
	KeyPassword      = "password"
	KeyToken         = "token"
	KeySSHPrivateKey = "sshPrivateKey"
	KeyKnownHosts    = "knownHosts"
	KeyKubeconfig    = "kubeconfig"
)

// Credentials are what a ProviderConfig resolves to.
type Credentials struct {
	// Git authenticates to the config repositories it is for: ask For.
	Git Git
	// DockerConfigs are docker config JSON documents, one per pull secret.
	DockerConfigs [][]byte
	// ArgoCDKubeconfig reaches the Argo CD control plane; nil means the
	// provider's own cluster.
	ArgoCDKubeconfig []byte
	// ArgoCDKubeconfigSecret is the "<namespace>/<name>" of the Secret
	// ArgoCDKubeconfig was read from, for messages.
	ArgoCDKubeconfigSecret string
}

// Resolve records mg's use of its provider config and reads the Secrets that
// config names.
func Resolve(ctx context.Context, kube client.Client, mg resource.ModernManaged) (Credentials, error) {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return Credentials{}, errors.New("spec.providerConfigRef is not set: name a ProviderConfig or ClusterProviderConfig")
	}
	var spec v1alpha1.ProviderConfigSpec
	var secretNamespace func(v1alpha1.SecretReference, string) (string, error)
	// config names the provider config in messages. A ClusterProviderConfig
	// holds the platform's credentials: its git credentials are only for the
	// repositories it lists. A ProviderConfig holds its namespace's own: for
	// every repository unless it lists some.
	var config string
	var platform bool
	switch ref.Kind {
	case v1alpha1.ProviderConfigKind:
		pc := &v1alpha1.ProviderConfig{}
		if err := kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, pc); err != nil {
			return Credentials{}, notFound(err, fmt.Sprintf("ProviderConfig %s/%s", mg.GetNamespace(), ref.Name))
		}
		spec = pc.Spec
		config = fmt.Sprintf("ProviderConfig %s/%s", pc.Namespace, pc.Name)
		secretNamespace = func(s v1alpha1.SecretReference, field string) (string, error) {
			if s.Namespace != "" && s.Namespace != pc.Namespace {
				return "", errors.Errorf("ProviderConfig %s/%s: %s.namespace %q is another namespace: a ProviderConfig may only name Secrets in its own namespace; use a ClusterProviderConfig", pc.Namespace, pc.Name, field, s.Namespace)
			}
			return pc.Namespace, nil
		}
	case v1alpha1.ClusterProviderConfigKind:
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := kube.Get(ctx, types.NamespacedName{Name: ref.Name}, pc); err != nil {
			return Credentials{}, notFound(err, "ClusterProviderConfig "+ref.Name)
		}
		if err := selects(ctx, kube, pc, mg.GetNamespace()); err != nil {
			return Credentials{}, err
		}
		spec = pc.Spec.ProviderConfigSpec
		config, platform = "ClusterProviderConfig "+pc.Name, true
		secretNamespace = func(s v1alpha1.SecretReference, field string) (string, error) {
			if s.Namespace == "" {
				return "", errors.Errorf("ClusterProviderConfig %s: %s.namespace is empty: set the namespace of the Secret", pc.Name, field)
			}
			return s.Namespace, nil
		}
	default:
		return Credentials{}, errors.Errorf("spec.providerConfigRef.kind %q is not supported: use ProviderConfig or ClusterProviderConfig", ref.Kind)
	}
	// Only a config this resource may use is recorded as in use.
	if err := resource.NewProviderConfigUsageTracker(kube, &v1alpha1.ProviderConfigUsage{}).Track(ctx, mg); err != nil {
		return Credentials{}, errors.Wrap(err, "cannot track provider config usage")
	}

	var c Credentials
	var lastSecret string
	read := func(s v1alpha1.SecretReference, field string) (map[string][]byte, error) {
		ns, err := secretNamespace(s, field)
		if err != nil {
			return nil, err
		}
		lastSecret = ns + "/" + s.Name
		sec := &corev1.Secret{}
		if err := kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: s.Name}, sec); err != nil {
			return nil, notFound(err, fmt.Sprintf("Secret %s/%s (%s)", ns, s.Name, field))
		}
		return sec.Data, nil
	}
	if spec.Git != nil {
		d, err := read(spec.Git.SecretRef, "spec.git.secretRef")
		if err != nil {
			return Credentials{}, err
		}
		c.Git = Git{
			auth: gitrepo.Auth{
				Username:      string(d[KeyUsername]),
				Password:      string(d[KeyPassword]),
				SSHPrivateKey: d[KeySSHPrivateKey],
				SSHKnownHosts: d[KeyKnownHosts],
			},
			prefixes: spec.Git.Repositories,
			scoped:   platform || len(spec.Git.Repositories) > 0,
			config:   config,
		}
		if c.Git.auth.Password == "" {
			c.Git.auth.Password = string(d[KeyToken])
		}
	}
	for i, r := range spec.Registries {
		d, err := read(r.SecretRef, fmt.Sprintf("spec.registries[%d].secretRef", i))
		if err != nil {
			return Credentials{}, err
		}
		cfg, ok := d[corev1.DockerConfigJsonKey]
		if !ok {
			return Credentials{}, errors.Errorf("spec.registries[%d].secretRef: Secret %s has no %s key: use a kubernetes.io/dockerconfigjson Secret", i, r.SecretRef.Name, corev1.DockerConfigJsonKey)
		}
		c.DockerConfigs = append(c.DockerConfigs, cfg)
	}
	if spec.ArgoCD != nil && spec.ArgoCD.KubeconfigSecretRef != nil {
		d, err := read(*spec.ArgoCD.KubeconfigSecretRef, "spec.argocd.kubeconfigSecretRef")
		if err != nil {
			return Credentials{}, err
		}
		if len(d[KeyKubeconfig]) == 0 {
			return Credentials{}, errors.Errorf("spec.argocd.kubeconfigSecretRef: Secret %s has no %q key", spec.ArgoCD.KubeconfigSecretRef.Name, KeyKubeconfig)
		}
		c.ArgoCDKubeconfig = d[KeyKubeconfig]
		c.ArgoCDKubeconfigSecret = lastSecret
	}
	return c, nil
}

// selects tells whether pc's spec.namespaceSelector selects namespace: a
// ClusterProviderConfig holds the platform's credentials, and a namespace it
// does not select must not use them. No selector selects no namespace.
func selects(ctx context.Context, kube client.Client, pc *v1alpha1.ClusterProviderConfig, namespace string) error {
	fix := fmt.Sprintf("select it in spec.namespaceSelector (e.g. matchLabels {%s: %s}), or use a ProviderConfig in namespace %s", corev1.LabelMetadataName, namespace, namespace)
	if pc.Spec.NamespaceSelector == nil {
		return errors.Errorf("ClusterProviderConfig %s has no spec.namespaceSelector, so no namespace may use it: %s", pc.Name, fix)
	}
	sel, err := metav1.LabelSelectorAsSelector(pc.Spec.NamespaceSelector)
	if err != nil {
		return errors.Errorf("ClusterProviderConfig %s: spec.namespaceSelector is invalid: %s", pc.Name, err)
	}
	ns := &corev1.Namespace{}
	if err := kube.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return errors.Wrapf(err, "cannot get namespace %s", namespace)
	}
	if !sel.Matches(labels.Set(ns.GetLabels())) {
		return errors.Errorf("ClusterProviderConfig %s does not select namespace %s: %s", pc.Name, namespace, fix)
	}
	return nil
}

func notFound(err error, what string) error {
	if kerrors.IsNotFound(err) {
		return errors.Errorf("%s not found: create it or change the reference to it", what)
	}
	return errors.Wrapf(err, "cannot get %s", what)
}
