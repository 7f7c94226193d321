package argocd

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Values of Argo CD fields that K8sTA reads.
const (
	// SyncStatusSynced is status.sync.status of an Application whose live state
	// matches its target revision.
	SyncStatusSynced = "Synced"
	// SyncStatusOutOfSync is status.sync.status of an Application whose live
	// state differs from its target revision.
	SyncStatusOutOfSync = "OutOfSync"

	// Values of status.health.status.
	HealthHealthy     = "Healthy"
	HealthProgressing = "Progressing"
	HealthSuspended   = "Suspended"
	HealthDegraded    = "Degraded"
	HealthMissing     = "Missing"
	HealthUnknown     = "Unknown"

	// Values of status.operationState.phase.
	PhaseRunning     = "Running"
	PhaseTerminating = "Terminating"
	PhaseFailed      = "Failed"
	PhaseError       = "Error"
	PhaseSucceeded   = "Succeeded"

	// Types of status.conditions[] that mean the Application cannot be synced
	// as it is.
	ConditionComparisonError  = "ComparisonError"
	ConditionInvalidSpecError = "InvalidSpecError"

	// RefreshAnnotation asks the application-controller to refresh an
	// Application; the value "hard" also invalidates the manifest cache.
	RefreshAnnotation = "argocd.argoproj.io/refresh"
	// RefreshHard is the value of RefreshAnnotation that K8sTA sets.
	RefreshHard = "hard"
)

// +kubebuilder:object:root=true

// An Application is the part of an Argo CD Application (argoproj.io/v1alpha1)
// that K8sTA reads. It is partial: never Update an Application with it, only
// merge-patch (see Trigger and Refresh).
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ApplicationSpec   `json:"spec"`
	Status ApplicationStatus `json:"status,omitempty"`

	// Operation is a requested operation, set by whoever asks for a sync and
	// cleared by the application-controller when the operation completes.
	Operation *Operation `json:"operation,omitempty"`
}

// +kubebuilder:object:root=true

// ApplicationList is a list of Applications.
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

// ApplicationSpec is the part of an Application's spec K8sTA reads.
type ApplicationSpec struct {
	// Source of a single-source Application. Argo CD ignores it when Sources
	// is set.
	Source *ApplicationSource `json:"source,omitempty"`
	// Sources of a multi-source Application.
	Sources []ApplicationSource `json:"sources,omitempty"`
	// SyncPolicy controls when and how a sync is performed.
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`
	// Destination is the cluster and namespace the Application deploys to.
	Destination ApplicationDestination `json:"destination,omitempty"`
}

// ApplicationDestination is spec.destination: a cluster named by its API
// server URL or by its Argo CD cluster name.
type ApplicationDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// HasMultipleSources is true when the Application uses spec.sources, as Argo
// CD decides it.
func (s *ApplicationSpec) HasMultipleSources() bool {
	return len(s.Sources) > 0
}

// ApplicationSource is a source of manifests.
type ApplicationSource struct {
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
}

// SyncPolicy is an Application's spec.syncPolicy.
type SyncPolicy struct {
	Automated   *SyncPolicyAutomated `json:"automated,omitempty"`
	SyncOptions []string             `json:"syncOptions,omitempty"`
	// Retry is Argo CD's RetryStrategy, kept verbatim so that it is copied
	// to an operation without losing a field.
	Retry json.RawMessage `json:"retry,omitempty"`
}

// SyncPolicyAutomated is spec.syncPolicy.automated.
type SyncPolicyAutomated struct {
	Prune      bool  `json:"prune,omitempty"`
	SelfHeal   bool  `json:"selfHeal,omitempty"`
	AllowEmpty bool  `json:"allowEmpty,omitempty"`
	Enabled    *bool `json:"enabled,omitempty"`
}

// ApplicationStatus is the part of an Application's status K8sTA reads.
type ApplicationStatus struct {
	Sync           SyncStatus             `json:"sync,omitempty"`
	Health         HealthStatus           `json:"health,omitempty"`
	OperationState *OperationState        `json:"operationState,omitempty"`
	Conditions     []ApplicationCondition `json:"conditions,omitempty"`
	// ReconciledAt is when the application-controller last compared the
	// Application (and assessed its health).
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`
	// Resources are the resources the Application manages, with their sync
	// status. Argo CD 3 records their health only when an operator turns
	// controller.resource.health.persist back on.
	Resources []ResourceStatus `json:"resources,omitempty"`
}

// ResourceStatus is an entry of status.resources.
type ResourceStatus struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Status is the resource's sync status.
	Status string `json:"status,omitempty"`
	// Health is set only when Argo CD persists resource health.
	Health *HealthStatus `json:"health,omitempty"`
}

// SyncStatus is status.sync: the result of the last comparison.
type SyncStatus struct {
	Status    string   `json:"status,omitempty"`
	Revision  string   `json:"revision,omitempty"`
	Revisions []string `json:"revisions,omitempty"`
}

// HealthStatus is status.health.
type HealthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// OperationState is status.operationState: the last (or running) operation.
type OperationState struct {
	Operation  Operation            `json:"operation"`
	Phase      string               `json:"phase"`
	Message    string               `json:"message,omitempty"`
	SyncResult *SyncOperationResult `json:"syncResult,omitempty"`
	StartedAt  metav1.Time          `json:"startedAt"`
	FinishedAt *metav1.Time         `json:"finishedAt,omitempty"`
}

// An Operation is a requested operation (.operation) or the one an
// operationState reports.
type Operation struct {
	Sync        *SyncOperation     `json:"sync,omitempty"`
	InitiatedBy OperationInitiator `json:"initiatedBy,omitempty"`
	Info        []Info             `json:"info,omitempty"`
	// Retry is Argo CD's RetryStrategy, verbatim.
	Retry json.RawMessage `json:"retry,omitempty"`
}

// SyncOperation is operation.sync.
type SyncOperation struct {
	Revision    string   `json:"revision,omitempty"`
	Revisions   []string `json:"revisions,omitempty"`
	SyncOptions []string `json:"syncOptions,omitempty"`
	// Prune is copied from spec.syncPolicy.automated.prune, as Argo CD's own
	// automated sync does: without it a resource dropped from the rendered
	// branch would leave the Application OutOfSync for good.
	Prune bool `json:"prune,omitempty"`
}

// OperationInitiator tells who started an operation.
type OperationInitiator struct {
	Username  string `json:"username,omitempty"`
	Automated bool   `json:"automated,omitempty"`
}

// Info is a name/value pair attached to an operation.
type Info struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SyncOperationResult is operationState.syncResult.
type SyncOperationResult struct {
	Revision  string   `json:"revision"`
	Revisions []string `json:"revisions,omitempty"`
}

// ApplicationCondition is an entry of status.conditions.
type ApplicationCondition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
