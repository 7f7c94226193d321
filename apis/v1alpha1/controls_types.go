package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The operator controls of a Track: Approval, Freeze and Pin. Each is a
// small object in the Track's namespace, set and lifted out of band (a Track
// managed from a platform repository by Argo CD would have an edit of its
// spec reverted), and each is its own kind so RBAC can grant one without the
// others and without the Track. function-k8sta reads them as required
// resources of the Track, so creating, changing or deleting one wakes the
// Track at once. None has a controller: they are decisions, not resources.

// MaxControlReasonLength bounds the reason an operator writes on a control:
// it is quoted in the Track's status.
const MaxControlReasonLength = 256

// MaxControlByLength bounds who a control names: room for any service
// account's username (system:serviceaccount:<namespace>:<name>, up to 339
// bytes) and the longer names identity providers give.
const MaxControlByLength = 512

// ApprovalSpec is a person's approval of one change for one station.
type ApprovalSpec struct {
	// Track is the name of the Track, in this namespace, whose station is
	// approved.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Track string `json:"track"`

	// Station is the station's path, as the Track's status.stations[].path
	// shows it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Station string `json:"station"`

	// Change is the id of the approved change, as the Track's
	// status.stations[].next shows it.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{12}$`
	Change string `json:"change"`

	// By is who approved: kubectl k8sta records the user the API server
	// authenticated, and cluster/admission/controls.yaml makes the API
	// server refuse any other value.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	By string `json:"by,omitempty"`
}

// An Approval lets one change enter one station of a Track whose station
// says approval: Manual.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="TRACK",type="string",JSONPath=".spec.track"
// +kubebuilder:printcolumn:name="STATION",type="string",JSONPath=".spec.station"
// +kubebuilder:printcolumn:name="CHANGE",type="string",JSONPath=".spec.change"
// +kubebuilder:printcolumn:name="BY",type="string",JSONPath=".spec.by"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={k8sta}
type Approval struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ApprovalSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ApprovalList contains a list of Approval.
type ApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Approval `json:"items"`
}

// FreezeSpec stops the line: no new change enters the frozen stations.
type FreezeSpec struct {
	// Track is the name of the frozen Track, in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Track string `json:"track"`

	// Stations are the paths of the frozen stations, as the Track's
	// status.stations[].path shows them; a junction's path freezes its
	// sections too. None freezes the whole Track.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=4096
	Stations []string `json:"stations,omitempty"`

	// Reason is why, in the words the Track's status shows.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Reason string `json:"reason,omitempty"`

	// By is who froze: kubectl k8sta records the user the API server
	// authenticated, and cluster/admission/controls.yaml makes the API
	// server refuse any other value.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	By string `json:"by,omitempty"`
}

// A Freeze stops new changes from entering stations of a Track until it is
// deleted. A change already being delivered finishes.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="TRACK",type="string",JSONPath=".spec.track"
// +kubebuilder:printcolumn:name="STATIONS",type="string",JSONPath=".spec.stations"
// +kubebuilder:printcolumn:name="BY",type="string",JSONPath=".spec.by"
// +kubebuilder:printcolumn:name="REASON",type="string",JSONPath=".spec.reason",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={k8sta}
type Freeze struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FreezeSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// FreezeList contains a list of Freeze.
type FreezeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Freeze `json:"items"`
}

// PinSpec holds one station of a Track at one change: a rollback.
type PinSpec struct {
	// Track is the name of the Track, in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Track string `json:"track"`

	// Station is the pinned station's path, as the Track's
	// status.stations[].path shows it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Station string `json:"station"`

	// Change is the id of the change the station holds: one it holds now
	// or one its status.stations[].history lists.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{12}$`
	Change string `json:"change"`

	// Reason is why, in the words the Track's status shows.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Reason string `json:"reason,omitempty"`

	// By is who pinned: kubectl k8sta records the user the API server
	// authenticated, and cluster/admission/controls.yaml makes the API
	// server refuse any other value.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	By string `json:"by,omitempty"`
}

// A Pin holds a station of a Track at one change, out of band: nothing
// flows past it and no new change overwrites it until it is deleted.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="TRACK",type="string",JSONPath=".spec.track"
// +kubebuilder:printcolumn:name="STATION",type="string",JSONPath=".spec.station"
// +kubebuilder:printcolumn:name="CHANGE",type="string",JSONPath=".spec.change"
// +kubebuilder:printcolumn:name="BY",type="string",JSONPath=".spec.by"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={k8sta}
type Pin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec PinSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// PinList contains a list of Pin.
type PinList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Pin `json:"items"`
}
