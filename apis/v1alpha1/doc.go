// Package v1alpha1 is the provider.k8sta.io/v1alpha1 API: the managed
// resources Ticket and Subscription, their provider configs, and the nouns
// every part of K8sTA shares (a Change, its Images, the Ticket's phases).
// +kubebuilder:object:generate=true
// +groupName=provider.k8sta.io
// +versionName=v1alpha1
package v1alpha1
