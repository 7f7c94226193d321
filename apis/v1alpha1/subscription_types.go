package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// An ImageSubscription selects new images from one repository.
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || self.strategy != 'Digest' || (has(self.constraint) && size(self.constraint) > 0)",message="strategy Digest follows one mutable tag: set constraint to that tag, e.g. latest"
type ImageSubscription struct {
	// Repository is the image repository to watch, e.g. ghcr.io/acme/guestbook.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$')",message="images[].repository must be an image repository without scheme, tag or digest, e.g. ghcr.io/acme/guestbook or registry.example.com:5000/team/app"
	Repository string `json:"repository"`

	// Strategy picks the newest image: SemVer, NewestBuild, Lexical or Digest.
	// +kubebuilder:validation:Enum=SemVer;NewestBuild;Lexical;Digest
	// +kubebuilder:default=SemVer
	// +optional
	Strategy string `json:"strategy,omitempty"`

	// Constraint is a semver constraint (SemVer), or the mutable tag to
	// follow (Digest).
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Constraint string `json:"constraint,omitempty"`

	// AllowTags is a regular expression a tag must match.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	AllowTags string `json:"allowTags,omitempty"`

	// IgnoreTags are regular expressions of tags to skip.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=256
	IgnoreTags []string `json:"ignoreTags,omitempty"`

	// Platform selects from image indexes, e.g. linux/amd64.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9_.-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?(:[0-9.]+)?$')",message="platform must be os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8"
	// +optional
	Platform string `json:"platform,omitempty"`

	// DiscoveryLimit bounds how many tags NewestBuild reads a config for.
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	DiscoveryLimit int `json:"discoveryLimit,omitempty"`
}

// GitSubscription follows source-branch commits that touch the base.
type GitSubscription struct {
	// Paths are the repository paths (directories or files) whose changes
	// are this Track's, e.g. base/ and apps/guestbook/: on a config
	// monorepo, a commit that touches none of them and no station's overlay
	// is skipped. Matched by whole path segments; a trailing / is optional.
	// Unset or empty: every path.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Paths []RepoPath `json:"paths,omitempty"`
}

// A RepoPath is a directory or file in a repository, relative to its root.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="!self.startsWith('/')",message="git.paths[] must be relative to the repository root, without a leading /: e.g. apps/guestbook/"
// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.]?(/|$)')",message="git.paths[] must not have . or .. segments: write the path from the repository root, e.g. apps/guestbook/"
// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="git.paths[] must not have empty segments (//): e.g. apps/guestbook/"
// +kubebuilder:validation:XValidation:rule="!self.matches('[[:cntrl:]]')",message="git.paths[] must not hold control characters (newline, tab, NUL): name the path as git shows it"
type RepoPath string

// A StationOverlay tells a Subscription which overlay belongs to which
// station, so that overlay-only commits reach their stations alone.
type StationOverlay struct {
	// Station is the station path.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Station string `json:"station"`
	// Overlay is the station's kustomize directory.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.matches('(^|/)[.][.](/|$)')",message="overlays[].overlay must be a directory inside the repository, relative to its root (e.g. overlays/dev): no leading /, no .. segments"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._/@+-]+$')",message="overlays[].overlay may hold letters, digits and . _ / @ + - only (no spaces or backslashes)"
	Overlay string `json:"overlay"`
}

// SubscriptionParameters are where a Track's changes come from.
type SubscriptionParameters struct {
	// Repo is the Track's config repository.
	Repo Repository `json:"repo"`

	// Images to follow.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Images []ImageSubscription `json:"images,omitempty"`

	// Git follows source-branch commits that touch the base, when set.
	// +optional
	Git *GitSubscription `json:"git,omitempty"`

	// Overlays are the stations' overlays.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	Overlays []StationOverlay `json:"overlays,omitempty"`

	// Interval between polls. Webhooks wake the Subscription sooner.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="interval must be a duration, e.g. 5m, 90s or 1h30m"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// An OverlayChange is a source-branch commit that touched only some stations'
// overlays: it goes to those stations directly.
type OverlayChange struct {
	Commit string `json:"commit"`
	// BaseCommit is the last base commit before Commit: a station takes the
	// overlay change only while it holds that base, so that no base change
	// reaches it before the stations in front of it verified it.
	// +optional
	BaseCommit string `json:"baseCommit,omitempty"`
	// +listType=atomic
	Stations     []string     `json:"stations"`
	DiscoveredAt *metav1.Time `json:"discoveredAt,omitempty"`
}

// A SourceStatus is the state of one polled source (an image repository or
// the config repository).
type SourceStatus struct {
	// Source is an image repository or the config repository's URL.
	Source string `json:"source"`
	// Revision is what was last seen there: tag@digest for an image, the
	// source branch's head commit for the config repository.
	// +optional
	Revision string `json:"revision,omitempty"`
	// LastPolled is when a poll last found something new here: another
	// revision, or another error. A poll that finds what was seen before
	// leaves the status alone: every Subscription status write wakes the
	// Track that composes it.
	// +optional
	LastPolled *metav1.Time `json:"lastPolled,omitempty"`
	// +optional
	LastError string `json:"lastError,omitempty"`
}

// SubscriptionObservation is what a Subscription has discovered.
type SubscriptionObservation struct {
	// Newest is the newest change, for station 1.
	// +optional
	Newest *Change `json:"newest,omitempty"`

	// OverlayChanges are overlay-only commits, newest last.
	// +optional
	// +listType=atomic
	OverlayChanges []OverlayChange `json:"overlayChanges,omitempty"`

	// Sources is the state of each polled source.
	// +optional
	// +listType=atomic
	Sources []SourceStatus `json:"sources,omitempty"`

	// WebhookURLs are the paths to register with registries and git hosts.
	// Each kind of sender has its own key, in the Secret <name>-webhook
	// under the kind's name; <secret.kind> in a path stands for it.
	// +optional
	// +listType=atomic
	WebhookURLs []string `json:"webhookURLs,omitempty"`
}

// A SubscriptionSpec defines the desired state of a Subscription.
type SubscriptionSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              SubscriptionParameters `json:"forProvider"`
}

// A SubscriptionStatus represents the observed state of a Subscription.
type SubscriptionStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 SubscriptionObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Subscription watches image registries and a Track's source branch for
// new changes.
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="TRACK",type="string",JSONPath=".metadata.labels.crossplane\\.io/composite"
// +kubebuilder:printcolumn:name="NEWEST",type="string",JSONPath=".status.atProvider.newest.id"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,k8sta}
type Subscription struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SubscriptionSpec   `json:"spec"`
	Status SubscriptionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SubscriptionList contains a list of Subscriptions.
type SubscriptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Subscription `json:"items"`
}
