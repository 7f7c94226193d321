package writes

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// SkipUnchangedStatus returns mgr with a client whose status updates are
// skipped when they would store what is already stored: the object's
// resourceVersion is the one the manager's cache holds and the status is
// equal to the cached one. With the same resourceVersion the API server
// would answer such an update with the stored object and change nothing, so
// skipping it loses nothing; with another one (the cache moved on, or the
// object was read elsewhere) the update is sent as it is. One difference:
// if another writer changed the status and the cache has not seen it yet,
// the update the API server would have refused with a conflict (and the
// immediate retry that follows) is skipped instead; the controller sees
// that write when the cache does, at the latest at its next poll.
func SkipUnchangedStatus(mgr manager.Manager) manager.Manager {
	return &skippingManager{Manager: mgr, client: &skippingClient{Client: mgr.GetClient()}}
}

type skippingManager struct {
	manager.Manager
	client client.Client
}

func (m *skippingManager) GetClient() client.Client { return m.client }

type skippingClient struct{ client.Client }

func (c *skippingClient) Status() client.SubResourceWriter {
	return &skippingStatus{SubResourceWriter: c.Client.Status(), cache: c.Client}
}

type skippingStatus struct {
	client.SubResourceWriter
	cache client.Reader
}

func (s *skippingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if len(opts) == 0 && unchanged(ctx, s.cache, obj) {
		return nil
	}
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

// unchanged reports whether cache holds obj at the same resourceVersion with
// an equal status.
func unchanged(ctx context.Context, cache client.Reader, obj client.Object) bool {
	if obj.GetResourceVersion() == "" {
		return false
	}
	stored, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false
	}
	if err := cache.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		return false
	}
	if stored.GetResourceVersion() != obj.GetResourceVersion() {
		return false
	}
	// Compared as the API server stores them: times in seconds, empty
	// fields omitted.
	want, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false
	}
	have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(stored)
	if err != nil {
		return false
	}
	return equality.Semantic.DeepEqual(want["status"], have["status"])
}
