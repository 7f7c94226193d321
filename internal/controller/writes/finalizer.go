package writes

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

// NoFinalizer is the finalizer of a managed resource whose deletion has
// nothing to clean up: it adds none (no write), and removes the managed
// reconciler's own from objects that a provider before this one gave it,
// so that they can still be deleted.
func NoFinalizer(c client.Client) resource.Finalizer {
	remove := resource.NewAPIFinalizer(c, managed.FinalizerName)
	return resource.FinalizerFns{
		AddFinalizerFn:    func(context.Context, resource.Object) error { return nil },
		RemoveFinalizerFn: remove.RemoveFinalizer,
	}
}
