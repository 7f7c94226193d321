package argocd

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Argo CD's API group and version.
const (
	Group   = "argoproj.io"
	Version = "v1alpha1"
)

// Kinds registered by this package.
const (
	ApplicationKind     = "Application"
	ApplicationListKind = "ApplicationList"
)

var (
	// GroupVersion is argoproj.io/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// ApplicationGroupVersionKind is the GroupVersionKind of an Argo CD Application.
	ApplicationGroupVersionKind = GroupVersion.WithKind(ApplicationKind)

	// ApplicationListGroupVersionKind is the GroupVersionKind of a list of Applications.
	ApplicationListGroupVersionKind = GroupVersion.WithKind(ApplicationListKind)

	// SchemeBuilder registers Application and ApplicationList with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds Application and ApplicationList to a scheme, so that a
	// controller-runtime client can Get, List, Patch and Watch them.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&Application{}, &ApplicationList{})
}
