// Package argocd holds K8sTA's own minimal argoproj.io/v1alpha1 Application
// types (only the fields K8sTA reads and patches, as Kargo does) and what
// K8sTA does with an Application: Authorize (may this Track sync it?), Judge
// (where does it stand with respect to a rendered commit?), Trigger and
// Refresh (ask Argo CD to sync that commit, or to look again, with one merge
// patch) and Explain (why is it Degraded or Suspended?).
//
// The package never imports github.com/argoproj/argo-cd and never Updates an
// Application: the types are partial, so only merge patches are sent, with the
// resourceVersion as an optimistic lock. No CRD is generated from these types;
// the Application CRD is Argo CD's own.
//
// +kubebuilder:object:generate=true
// +kubebuilder:skip
// +groupName=argoproj.io
// +versionName=v1alpha1
package argocd
