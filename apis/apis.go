// Package apis holds the provider-k8sta API groups.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// AddToScheme adds every provider-k8sta API group to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	return v1alpha1.SchemeBuilder.AddToScheme(s)
}
