package v1alpha1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// Defaults of fields a user may leave unset. The schema's
// +kubebuilder:default markers cannot name a constant: they must say the
// same, which TestSchemaDefaults checks.
const (
	// DefaultSourceBranch is a Repository's SourceBranch when it names none.
	DefaultSourceBranch = "main"
	// DefaultApplicationNamespace is an ApplicationReference's Namespace
	// when it names none: the namespace Argo CD installs itself in.
	DefaultApplicationNamespace = "argocd"
)

// A Repository is a Track's config repository.
//
// The URL's rules sit on the object, not on the string: the API server's
// refusal quotes a string it refuses, and a URL may carry credentials.
// +kubebuilder:validation:XValidation:rule="self.url.matches('^(https?|ssh)://[^/?#@[:space:]]*@?[^/?#@[:space:]]+/[^[:space:]]+$') || self.url.matches('^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^[:space:]]+$')",message="repo.url must be https://host/org/repo, ssh://git@host/org/repo or git@host:org/repo; file://, git:// and local paths are refused",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('^https?://[^/]*@')",message="repo.url must not hold credentials (user@ or user:password@): put them in the Secret the ProviderConfig's spec.git.secretRef names",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('^ssh://[^/@]*:[^/@]*@')",message="repo.url must not hold a password: use an SSH key in the Secret the ProviderConfig's spec.git.secretRef names",fieldPath=".url"
type Repository struct {
	// URL of the git repository (https://, ssh:// or scp-like git@host:path).
	// Plain http:// passes the schema; the provider accepts it only for the
	// hosts its operator lists (--insecure-git-host); loopback is no exception.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// SourceBranch is the branch humans commit to.
	// +kubebuilder:default=main
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][A-Za-z0-9._/+-]*$')",message="repo.sourceBranch must be a git branch name: letters, digits and . _ / + - only, not starting with - or . (e.g. main)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..') && !self.contains('//') && !self.endsWith('/') && !self.endsWith('.') && !self.endsWith('.lock')",message="repo.sourceBranch is not a valid git branch name: remove '..', '//', and a trailing '/', '.' or '.lock'"
	// +optional
	SourceBranch string `json:"sourceBranch,omitempty"`
}

// SourceBranchOrDefault returns SourceBranch, or DefaultSourceBranch when
// it is unset.
func (r Repository) SourceBranchOrDefault() string {
	if r.SourceBranch == "" {
		return DefaultSourceBranch
	}
	return r.SourceBranch
}

// An ApplicationReference names one Argo CD Application.
type ApplicationReference struct {
	// Name of the Application.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="applications[].name must be an Argo CD Application's name: lowercase letters, digits, - and ."
	Name string `json:"name"`

	// Namespace of the Application.
	// +kubebuilder:default=argocd
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="applications[].namespace must be a namespace name: lowercase letters, digits and -"
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// NamespaceOrDefault returns Namespace, or DefaultApplicationNamespace when
// it is unset.
func (a ApplicationReference) NamespaceOrDefault() string {
	if a.Namespace == "" {
		return DefaultApplicationNamespace
	}
	return a.Namespace
}

// TicketParameters are the station a Ticket delivers to and the change it
// delivers.
// +kubebuilder:validation:XValidation:rule="!has(self.repo.sourceBranch) || self.branch != self.repo.sourceBranch",message="branch must not be repo.sourceBranch, the branch humans commit to: name a rendered branch of its own, e.g. env/<station>"
type TicketParameters struct {
	// Track is the name of the Track, in the Ticket's namespace, that this
	// Ticket belongs to. Applications must name <namespace>/<track> in their
	// k8sta.io/authorized-tracks annotation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="track must be a Track's name: lowercase letters, digits, - and ."
	Track string `json:"track"`

	// Station is the station's path from the root Track, joined by '.'.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="station must be a station path: station and Track names (lowercase letters, digits, -) joined by ., e.g. prod.us.east"
	Station string `json:"station"`

	// Change is the change to render and sync at this station.
	Change Change `json:"change"`

	// Repo is the Track's config repository.
	Repo Repository `json:"repo"`

	// Overlay is the kustomize directory to build, relative to the repository root.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.matches('(^|/)[.][.](/|$)')",message="overlay must be a directory inside the repository, relative to its root (e.g. overlays/dev): no leading /, no .. segments"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._/@+-]+$')",message="overlay may hold letters, digits and . _ / @ + - only (no spaces or backslashes)"
	Overlay string `json:"overlay"`

	// Branch is the rendered branch this station writes.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][A-Za-z0-9._/+-]*$')",message="branch must be a git branch name: letters, digits and . _ / + - only, not starting with - or . (e.g. env/dev)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..') && !self.contains('//') && !self.endsWith('/') && !self.endsWith('.') && !self.endsWith('.lock')",message="branch is not a valid git branch name: remove '..', '//', and a trailing '/', '.' or '.lock'"
	Branch string `json:"branch"`

	// Applications are the Argo CD Applications that deploy the rendered branch.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Applications []ApplicationReference `json:"applications,omitempty"`
}

// Ticket phases, as status.atProvider.phase shows them. The Track's
// status.stations[].phase reuses them; docs/DESIGN.md ("Phases") says who
// writes each and what moves it on.
const (
	// PhaseRendering: the rendered branch does not hold the Ticket's change
	// yet; it is being rendered and pushed, or waits for its namespace's
	// render slot.
	PhaseRendering = "Rendering"
	// PhaseSyncing: pushed; not every Application is Synced at the rendered
	// commit yet.
	PhaseSyncing = "Syncing"
	// PhaseProgressing: every Application is Synced at the rendered commit,
	// not every one Healthy yet.
	PhaseProgressing = "Progressing"
	// PhaseVerified: every Application is Synced at the rendered commit and
	// Healthy.
	PhaseVerified = "Verified"
	// PhaseFailed: an Application failed to sync, cannot be compared or is
	// Degraded, or rendering or pushing failed.
	PhaseFailed = "Failed"
	// PhaseBlocked: the Ticket's input must be fixed; nothing was rendered,
	// pushed or patched.
	PhaseBlocked = "Blocked"
)

// An ApplicationStatus is what a Ticket last saw of one Application.
type ApplicationStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`

	// Sync is status.sync.status.
	// +optional
	Sync string `json:"sync,omitempty"`

	// Health is status.health.status.
	// +optional
	Health string `json:"health,omitempty"`

	// Revision is the revision the Application is synced to.
	// +optional
	Revision string `json:"revision,omitempty"`

	// Message explains why the Application holds the Ticket back.
	// +optional
	Message string `json:"message,omitempty"`
}

// Fields of spec.forProvider a BlockedOn names, spelled relative to
// spec.forProvider. The station's own (overlay, branch, applications[i])
// are spelled the same relative to a Track's spec.stations[].
const (
	BlockedOnOverlay      = "overlay"
	BlockedOnBranch       = "branch"
	BlockedOnRepoURL      = "repo.url"
	BlockedOnChangeCommit = "change.commit"
)

// BlockedOnApplication is the BlockedOn field of
// spec.forProvider.applications[i].
func BlockedOnApplication(i int) string { return fmt.Sprintf("applications[%d]", i) }

// MaxBlockedOnProblemBytes bounds BlockedOn.Problem.
const MaxBlockedOnProblemBytes = 4096

// A BlockedOn is the input a Blocked Ticket waits for its user to fix. The
// Ticket's Ready condition names the field as the Ticket spells it; whoever
// composed the Ticket names, from Field, the field its own user edits.
type BlockedOn struct {
	// Field is the field of spec.forProvider that holds the input: overlay,
	// branch, repo.url, change.commit or applications[<index>].
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^(overlay|branch|repo\.url|change\.commit|applications\[[0-9]{1,2}\])$`
	Field string `json:"field"`

	// Problem is what is wrong with the field's value and how to fix it,
	// naming no field.
	// +kubebuilder:validation:MaxLength=4096
	Problem string `json:"problem"`
}

// TicketObservation is what a Ticket observed at its station.
type TicketObservation struct {
	// Change is the change live at this station: rendered at the head of the
	// rendered branch.
	// +optional
	Change *Change `json:"change,omitempty"`

	// RenderedCommit is the rendered-branch commit holding Change.
	// +optional
	RenderedCommit string `json:"renderedCommit,omitempty"`

	// Applications is the state of each Application.
	// +optional
	// +listType=atomic
	Applications []ApplicationStatus `json:"applications,omitempty"`

	// Phase is where the delivery of spec.forProvider.change stands:
	// Rendering (the rendered branch does not hold it yet: it is being
	// rendered and pushed, or waits for its namespace's render slot),
	// Syncing (pushed; not every Application is Synced at RenderedCommit
	// yet), Progressing (every Application Synced at RenderedCommit, not
	// every one Healthy yet: a rollout runs, or waits at a pause step),
	// Verified (every Application Synced at RenderedCommit and Healthy; see
	// VerifiedAt), Failed (an Application failed to sync, cannot be compared
	// or is Degraded, or rendering or pushing failed; the Ready condition
	// says why) or Blocked (the Ticket's input must be fixed; the Ready
	// condition says how).
	// +optional
	Phase string `json:"phase,omitempty"`

	// VerifiedAt is when every Application was first seen Synced to
	// RenderedCommit and Healthy.
	// +optional
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
	// BlockedOn is, while Phase is Blocked on input its user must fix,
	// which field holds it and what is wrong with it.
	// +optional
	BlockedOn *BlockedOn `json:"blockedOn,omitempty"`
}

// A TicketSpec defines the desired state of a Ticket.
type TicketSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              TicketParameters `json:"forProvider"`
}

// A TicketStatus represents the observed state of a Ticket.
type TicketStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 TicketObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Ticket delivers one change to one station: it renders the station's
// overlay into its rendered branch and has Argo CD sync its Applications.
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="STATION",type="string",JSONPath=".spec.forProvider.station"
// +kubebuilder:printcolumn:name="CHANGE",type="string",JSONPath=".spec.forProvider.change.id"
// +kubebuilder:printcolumn:name="PHASE",type="string",JSONPath=".status.atProvider.phase"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,k8sta}
type Ticket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TicketSpec   `json:"spec"`
	Status TicketStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TicketList contains a list of Tickets.
type TicketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Ticket `json:"items"`
}
