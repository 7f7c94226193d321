package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "provider.k8sta.io"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version of every kind in this package.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// Kind names and GroupVersionKinds, for watches, events and references.
var (
	TicketKind                   = reflect.TypeOf(Ticket{}).Name()
	TicketGroupVersionKind       = SchemeGroupVersion.WithKind(TicketKind)
	SubscriptionKind             = reflect.TypeOf(Subscription{}).Name()
	SubscriptionGroupVersionKind = SchemeGroupVersion.WithKind(SubscriptionKind)

	ApprovalKind             = reflect.TypeOf(Approval{}).Name()
	ApprovalGroupVersionKind = SchemeGroupVersion.WithKind(ApprovalKind)
	FreezeKind               = reflect.TypeOf(Freeze{}).Name()
	FreezeGroupVersionKind   = SchemeGroupVersion.WithKind(FreezeKind)
	PinKind                  = reflect.TypeOf(Pin{}).Name()
	PinGroupVersionKind      = SchemeGroupVersion.WithKind(PinKind)

	ProviderConfigKind                      = reflect.TypeOf(ProviderConfig{}).Name()
	ProviderConfigGroupVersionKind          = SchemeGroupVersion.WithKind(ProviderConfigKind)
	ClusterProviderConfigKind               = reflect.TypeOf(ClusterProviderConfig{}).Name()
	ClusterProviderConfigGroupVersionKind   = SchemeGroupVersion.WithKind(ClusterProviderConfigKind)
	ProviderConfigUsageKind                 = reflect.TypeOf(ProviderConfigUsage{}).Name()
	ProviderConfigUsageGroupVersionKind     = SchemeGroupVersion.WithKind(ProviderConfigUsageKind)
	ProviderConfigUsageListKind             = reflect.TypeOf(ProviderConfigUsageList{}).Name()
	ProviderConfigUsageListGroupVersionKind = SchemeGroupVersion.WithKind(ProviderConfigUsageListKind)
)

func init() {
	SchemeBuilder.Register(&Ticket{}, &TicketList{})
	SchemeBuilder.Register(&Subscription{}, &SubscriptionList{})
	SchemeBuilder.Register(&Approval{}, &ApprovalList{})
	SchemeBuilder.Register(&Freeze{}, &FreezeList{})
	SchemeBuilder.Register(&Pin{}, &PinList{})
	SchemeBuilder.Register(&ProviderConfig{}, &ProviderConfigList{})
	SchemeBuilder.Register(&ClusterProviderConfig{}, &ClusterProviderConfigList{})
	SchemeBuilder.Register(&ProviderConfigUsage{}, &ProviderConfigUsageList{})
}
