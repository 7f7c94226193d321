package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// A SecretReference names a Secret. A ProviderConfig may only name Secrets in
// its own namespace and leaves Namespace empty; a ClusterProviderConfig must
// set it.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="secretRef.name must be a Secret's name: lowercase letters, digits, - and ."
	Name string `json:"name"`

	// Namespace of the Secret.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="secretRef.namespace must be a namespace name: lowercase letters, digits and -"
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// GitCredentials name a Secret holding git credentials, with keys
// `username` and `password` (or `token`) for HTTPS, or `sshPrivateKey` and
// `knownHosts` for SSH, and say which repositories they are for.
type GitCredentials struct {
	SecretRef SecretReference `json:"secretRef"`

	// Repositories are the URL prefixes of the repositories these
	// credentials are for, e.g. https://github.com/acme/ or
	// git@github.com:acme/. A repository matches a prefix with the same
	// scheme, host and port whose path is the repository's path or one of
	// its parent directories. A Ticket or Subscription using this config
	// whose repository matches no prefix is refused, with a condition naming
	// this field: the credentials never leave for another host, and the
	// provider never falls back to an anonymous fetch. Empty, a
	// ProviderConfig's credentials are for every repository (they are its
	// namespace's own), and a ClusterProviderConfig's for none (the platform
	// says which repositories its credentials are for).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Repositories []RepositoryPrefix `json:"repositories,omitempty"`
}

// A RepositoryPrefix is the URL of a repository, or of a directory of
// repositories on a git server: scheme, host and at least its first path
// segment (an owner, organization or group).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="self.matches('^(https?|ssh)://[^/?#@[:space:]]*@?[^/?#@[:space:]]+/[^/?#[:space:]][^?#[:space:]]*$') || self.matches('^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/?#[:space:]][^?#[:space:]]*$')",message="git.repositories[] must be a repository URL prefix naming at least an owner or group, e.g. https://github.com/acme/, ssh://git@git.example.com/acme/ or git@github.com:acme/"
// +kubebuilder:validation:XValidation:rule="!self.matches('^https?://[^/]*@')",message="git.repositories[] must not hold credentials (user@ or user:password@): they belong in the Secret spec.git.secretRef names"
// +kubebuilder:validation:XValidation:rule="!self.matches('^ssh://[^/@]*:[^/@]*@')",message="git.repositories[] must not hold a password: use an SSH key in the Secret spec.git.secretRef names"
type RepositoryPrefix string

// RegistryCredentials name a kubernetes.io/dockerconfigjson Secret.
type RegistryCredentials struct {
	SecretRef SecretReference `json:"secretRef"`
}

// ArgoCDControlPlane says where the Argo CD Applications live.
type ArgoCDControlPlane struct {
	// KubeconfigSecretRef names a Secret whose `kubeconfig` key reaches the
	// cluster running Argo CD. Unset means the provider's own cluster.
	// +optional
	KubeconfigSecretRef *SecretReference `json:"kubeconfigSecretRef,omitempty"`
}

// A ProviderConfigSpec holds the credentials K8sTA uses.
type ProviderConfigSpec struct {
	// Git credentials for the config repositories.
	// +optional
	Git *GitCredentials `json:"git,omitempty"`

	// Registries are pull secrets for image registries.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Registries []RegistryCredentials `json:"registries,omitempty"`

	// ArgoCD is the Argo CD control plane; the provider's own cluster by default.
	// +optional
	ArgoCD *ArgoCDControlPlane `json:"argocd,omitempty"`

	// Webhook is one webhook endpoint per sender kind for every Subscription
	// using this config: register it once with a registry or git host, and
	// each event wakes the Subscriptions it concerns. Its URLs are in
	// status.webhook.urls.
	// +optional
	Webhook *WebhookConfig `json:"webhook,omitempty"`
}

// A WebhookConfig names the Secret of a ProviderConfig's webhook.
type WebhookConfig struct {
	// SecretRef names the Secret whose `token` key is the webhook's root
	// token. Senders never hold it: each kind of sender holds a key derived
	// from it, which the provider writes to the same Secret under the
	// kind's name (github, gitlab, distribution, ...). A Secret that does not
	// exist is created with a random token. An existing Secret is used only
	// if it carries the label k8sta.io/webhook=providerconfig: the provider
	// then keeps the derived keys in step with its token (change `token` to
	// rotate every key). A ProviderConfig names a Secret in its own
	// namespace; a ClusterProviderConfig must set the namespace.
	SecretRef SecretReference `json:"secretRef"`
}

// A ClusterProviderConfigSpec holds the credentials K8sTA uses and says which
// namespaces may use them.
type ClusterProviderConfigSpec struct {
	ProviderConfigSpec `json:",inline"`

	// NamespaceSelector selects, by their labels, the namespaces whose
	// Tickets and Subscriptions may use this ClusterProviderConfig. Unset, no
	// namespace may; {} selects every namespace. Every namespace carries the
	// label kubernetes.io/metadata.name, so
	// {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In,
	// values: [team-a]}]} selects namespaces by name. It holds at most 32
	// labels and 32 expressions of at most 256 values each.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchLabels) || size(self.matchLabels) <= 32",message="spec.namespaceSelector.matchLabels may hold at most 32 labels: select the namespaces by a label they share"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || size(self.matchExpressions) <= 32",message="spec.namespaceSelector.matchExpressions may hold at most 32 expressions: select the namespaces by a label they share"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !has(e.values) || size(e.values) <= 256)",message="spec.namespaceSelector.matchExpressions[].values may hold at most 256 values: label the namespaces and select them by that label"
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// TypeWebhookReady is the condition of a ProviderConfig (or
// ClusterProviderConfig) whose spec.webhook is set: True when its webhook
// authenticates senders, False with what to fix when it does not.
const TypeWebhookReady xpv2.ConditionType = "WebhookReady"

// Reasons of the WebhookReady condition.
const (
	ReasonWebhookReady          xpv2.ConditionReason = "Available"
	ReasonWebhookSecretNotOurs  xpv2.ConditionReason = "SecretNotLabelled"
	ReasonWebhookSecretInvalid  xpv2.ConditionReason = "SecretInvalid"
	ReasonWebhookSecretRefError xpv2.ConditionReason = "SecretRefInvalid"
	ReasonWebhookSecretError    xpv2.ConditionReason = "SecretError"
)

// A ProviderConfigStatus is the observed state of a ProviderConfig.
type ProviderConfigStatus struct {
	xpv2.ProviderConfigStatus `json:",inline"`

	// Webhook is the config's webhook, when spec.webhook is set.
	// +optional
	Webhook *WebhookStatus `json:"webhook,omitempty"`
}

// A WebhookStatus shows where senders post a config's webhooks.
type WebhookStatus struct {
	// URLs are the paths to register with registries and git hosts, one per
	// kind of sender, on the provider's webhook address. Each kind of
	// sender has its own key, in the Secret spec.webhook.secretRef names,
	// under the kind's name; <secret.kind> in a path (<namespace/secret.kind>
	// for a ClusterProviderConfig) stands for it.
	// +optional
	// +listType=atomic
	URLs []string `json:"urls,omitempty"`
}

// +kubebuilder:object:root=true

// A ProviderConfig configures provider-k8sta for one namespace.
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,k8sta}
type ProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderConfigSpec   `json:"spec"`
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList contains a list of ProviderConfigs.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfig `json:"items"`
}

// +kubebuilder:object:root=true

// A ClusterProviderConfig configures provider-k8sta for the namespaces its
// spec.namespaceSelector selects.
// +kubebuilder:validation:XValidation:rule="!has(self.spec.git) || has(self.spec.git.secretRef.__namespace__)",message="a ClusterProviderConfig must say where its Secrets are: set spec.git.secretRef.namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.registries) || self.spec.registries.all(r, has(r.secretRef.__namespace__))",message="a ClusterProviderConfig must say where its Secrets are: set spec.registries[].secretRef.namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.argocd) || !has(self.spec.argocd.kubeconfigSecretRef) || has(self.spec.argocd.kubeconfigSecretRef.__namespace__)",message="a ClusterProviderConfig must say where its Secrets are: set spec.argocd.kubeconfigSecretRef.namespace"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.webhook) || has(self.spec.webhook.secretRef.__namespace__)",message="a ClusterProviderConfig must say where its Secrets are: set spec.webhook.secretRef.namespace"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,k8sta}
type ClusterProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterProviderConfigSpec `json:"spec"`
	Status ProviderConfigStatus      `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigList contains a list of ClusterProviderConfigs.
type ClusterProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProviderConfig `json:"items"`
}

// +kubebuilder:object:root=true

// A ProviderConfigUsage records that a managed resource uses a provider config.
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="CONFIG-NAME",type="string",JSONPath=".providerConfigRef.name"
// +kubebuilder:printcolumn:name="RESOURCE-KIND",type="string",JSONPath=".resourceRef.kind"
// +kubebuilder:printcolumn:name="RESOURCE-NAME",type="string",JSONPath=".resourceRef.name"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,k8sta}
type ProviderConfigUsage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	xpv2.TypedProviderConfigUsage `json:",inline"`
}

// +kubebuilder:object:root=true

// ProviderConfigUsageList contains a list of ProviderConfigUsages.
type ProviderConfigUsageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfigUsage `json:"items"`
}
