// Package v1alpha1 holds the provider.k8sta.io/v1alpha1 managed resources
// (Ticket, Subscription) and their provider configuration.
// +kubebuilder:object:generate=true
// +groupName=provider.k8sta.io
// +versionName=v1alpha1
package v1alpha1
