package kubectlk8sta

import (
	"context"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// NewClient returns a client of the kinds kubectl k8sta reads and writes.
// Their mappings are fixed, so that no command spends requests on API
// discovery.
func NewClient(cfg *rest.Config) (client.Client, error) {
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		return nil, errors.Wrap(err, "cannot register K8sTA's kinds")
	}
	if err := authenticationv1.AddToScheme(s); err != nil {
		return nil, errors.Wrap(err, "cannot register authentication.k8s.io/v1")
	}
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk      schema.GroupVersionKind
		resource string
		scope    meta.RESTScope
	}{
		{TrackGroupVersionKind, "tracks", meta.RESTScopeNamespace},
		{LegacyTrackGroupVersionKind, "tracks", meta.RESTScopeNamespace},
		{v1alpha1.TicketGroupVersionKind, "tickets", meta.RESTScopeNamespace},
		{v1alpha1.SubscriptionGroupVersionKind, "subscriptions", meta.RESTScopeNamespace},
		{v1alpha1.ApprovalGroupVersionKind, "approvals", meta.RESTScopeNamespace},
		{v1alpha1.FreezeGroupVersionKind, "freezes", meta.RESTScopeNamespace},
		{v1alpha1.PinGroupVersionKind, "pins", meta.RESTScopeNamespace},
		{authenticationv1.SchemeGroupVersion.WithKind("SelfSubjectReview"), "selfsubjectreviews", meta.RESTScopeRoot},
	} {
		gv := k.gvk.GroupVersion()
		m.AddSpecific(k.gvk, gv.WithResource(k.resource), gv.WithResource(strings.ToLower(k.gvk.Kind)), k.scope)
	}
	return client.New(cfg, client.Options{Scheme: s, Mapper: m})
}

// WhoAmI asks the API server who the user is: the name it authenticated,
// which an admission policy (cluster/admission/controls.yaml) requires each
// control's spec.by to be.
func WhoAmI(ctx context.Context, c client.Client) (string, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, r); err != nil {
		return "", errors.Wrap(err, "cannot ask the API server who you are (a SelfSubjectReview of authentication.k8s.io/v1)")
	}
	if r.Status.UserInfo.Username == "" {
		return "", errors.New("the API server did not say who you are: its SelfSubjectReview names no user")
	}
	return r.Status.UserInfo.Username, nil
}
