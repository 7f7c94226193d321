// Package config runs the ProviderConfig and ClusterProviderConfig
// controllers: usage accounting and deletion protection, and the Secret and
// status of a config's webhook.
package config

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Setup adds the ProviderConfig and ClusterProviderConfig controllers.
func Setup(mgr ctrl.Manager, o controller.Options) error {
	for _, k := range []struct {
		kind   string
		config resource.ProviderConfig
	}{
		{v1alpha1.ProviderConfigKind, &v1alpha1.ProviderConfig{}},
		{v1alpha1.ClusterProviderConfigKind, &v1alpha1.ClusterProviderConfig{}},
	} {
		of := resource.ProviderConfigKinds{
			Config:    v1alpha1.SchemeGroupVersion.WithKind(k.kind),
			Usage:     v1alpha1.ProviderConfigUsageGroupVersionKind,
			UsageList: v1alpha1.ProviderConfigUsageListGroupVersionKind,
		}
		r := providerconfig.NewReconciler(mgr, of,
			providerconfig.WithLogger(o.Logger.WithValues("controller", providerconfig.ControllerName(k.kind))),
			providerconfig.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(providerconfig.ControllerName(k.kind))))) //nolint:staticcheck // crossplane-runtime's event.NewAPIRecorder takes the old record.EventRecorder.
		if err := ctrl.NewControllerManagedBy(mgr).
			Named(providerconfig.ControllerName(k.kind)).
			WithOptions(o.ForControllerRuntime()).
			For(k.config).
			Watches(&v1alpha1.ProviderConfigUsage{}, &resource.EnqueueRequestForProviderConfig{}).
			Complete(r); err != nil {
			return err
		}
	}
	return setupWebhooks(mgr, o)
}
