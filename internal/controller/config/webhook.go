package config

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/controller/subscription"
	"github.com/k8sta/k8sta/internal/webhook"
)

// webhookSecretIndex indexes configs by the Secret their spec.webhook names,
// as <namespace>/<name>, so that a change to that Secret reaches them.
const webhookSecretIndex = "spec.webhook.secretRef"

// defaultRecheck is how often a config whose webhook Secret is not usable is
// looked at again when no watch event says it changed: the manager watches
// only labelled Secrets, so an unlabelled one being deleted goes unseen.
const defaultRecheck = time.Minute

// setupWebhooks adds, for each config kind, the controller that keeps the
// Secret of its spec.webhook and shows its webhook's URLs and readiness.
func setupWebhooks(mgr ctrl.Manager, o controller.Options) error {
	for _, k := range []struct {
		kind      string
		newConfig func() client.Object
	}{
		{v1alpha1.ProviderConfigKind, func() client.Object { return &v1alpha1.ProviderConfig{} }},
		{v1alpha1.ClusterProviderConfigKind, func() client.Object { return &v1alpha1.ClusterProviderConfig{} }},
	} {
		kind := k.kind
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), k.newConfig(), webhookSecretIndex, func(obj client.Object) []string {
			_, spec := webhookOf(obj)
			if spec == nil {
				return nil
			}
			ref, ok := subscription.WebhookSecretOf(kind, obj.GetNamespace(), *spec)
			if !ok {
				return nil
			}
			return []string{ref.String()}
		}); err != nil {
			return errors.Wrapf(err, "cannot index %ss by spec.webhook.secretRef", kind)
		}
		name := "webhook/" + strings.ToLower(kind)
		r := &webhookReconciler{
			kube: mgr.GetClient(), secrets: mgr.GetAPIReader(), kind: kind, newConfig: k.newConfig,
			log: o.Logger.WithValues("controller", name), recheck: defaultRecheck,
		}
		if o.PollInterval > 0 {
			r.recheck = o.PollInterval
		}
		b := ctrl.NewControllerManagedBy(mgr).
			Named(name).
			WithOptions(o.ForControllerRuntime()).
			For(k.newConfig(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.configsNaming))
		if kind == v1alpha1.ClusterProviderConfigKind {
			// A ProviderConfig naming (or no longer naming) a
			// ClusterProviderConfig's Secret changes whether it is shared.
			b = b.Watches(&v1alpha1.ProviderConfig{}, handler.EnqueueRequestsFromMapFunc(r.clusterConfigsSharingSecret))
		}
		if err := b.Complete(r); err != nil {
			return err
		}
	}
	return nil
}

// A webhookReconciler keeps the Secret of a config's spec.webhook: it
// creates it with a random token when it does not exist, and keeps the key
// of every kind of sender, derived from the token, in step with it. A Secret
// someone else made is used only once labelled
// k8sta.io/webhook=providerconfig; until then it is left alone, and the
// config's WebhookReady condition says so. No token or key ever reaches a
// status, an Event, a log or an error.
type webhookReconciler struct {
	kube client.Client
	// secrets reads Secrets from the API server: the manager's cache holds
	// only labelled ones, and an unlabelled Secret must be seen to be left
	// alone rather than created over.
	secrets   client.Reader
	kind      string
	newConfig func() client.Object
	log       logging.Logger
	recheck   time.Duration
}

// webhookOf returns the status and spec.webhook of a config of either kind.
func webhookOf(o client.Object) (*v1alpha1.ProviderConfigStatus, *v1alpha1.WebhookConfig) {
	switch pc := o.(type) {
	case *v1alpha1.ProviderConfig:
		return &pc.Status, pc.Spec.Webhook
	case *v1alpha1.ClusterProviderConfig:
		return &pc.Status, pc.Spec.Webhook
	}
	return nil, nil
}

// configsNaming maps a Secret to the configs whose spec.webhook names it.
func (r *webhookReconciler) configsNaming(ctx context.Context, sec client.Object) []reconcile.Request {
	var l client.ObjectList = &v1alpha1.ProviderConfigList{}
	if r.kind == v1alpha1.ClusterProviderConfigKind {
		l = &v1alpha1.ClusterProviderConfigList{}
	}
	if err := r.kube.List(ctx, l, client.MatchingFields{webhookSecretIndex: client.ObjectKeyFromObject(sec).String()}); err != nil {
		r.log.Info("cannot list the configs naming a webhook Secret", "secret", client.ObjectKeyFromObject(sec).String(), "error", err.Error())
		return nil
	}
	var reqs []reconcile.Request
	switch l := l.(type) {
	case *v1alpha1.ProviderConfigList:
		for _, pc := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pc)})
		}
	case *v1alpha1.ClusterProviderConfigList:
		for _, pc := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pc)})
		}
	}
	return reqs
}

// clusterConfigsSharingSecret maps a ProviderConfig to the
// ClusterProviderConfigs whose webhook Secret it names.
func (r *webhookReconciler) clusterConfigsSharingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	pc, ok := o.(*v1alpha1.ProviderConfig)
	if !ok || pc.Spec.Webhook == nil {
		return nil
	}
	ref, ok := subscription.WebhookSecretOf(v1alpha1.ProviderConfigKind, pc.GetNamespace(), *pc.Spec.Webhook)
	if !ok {
		return nil
	}
	return r.configsNaming(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}})
}

// Reconcile keeps the config's webhook Secret and status.
func (r *webhookReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pc := r.newConfig()
	if err := r.kube.Get(ctx, req.NamespacedName, pc); err != nil {
		return reconcile.Result{}, errors.Wrapf(resource.IgnoreNotFound(err), "cannot get %s", r.kind)
	}
	if meta.WasDeleted(pc) {
		// The Secret stays: it is the user's, and senders hold its keys.
		return reconcile.Result{}, nil
	}
	status, spec := webhookOf(pc)
	before := status.DeepCopy()
	var result reconcile.Result
	var err error
	if spec == nil {
		status.Webhook = nil
		removeCondition(&status.ConditionedStatus, v1alpha1.TypeWebhookReady)
	} else {
		status.Webhook = &v1alpha1.WebhookStatus{URLs: r.urls(pc, *spec)}
		var c xpv2.Condition
		c, err = r.ensureSecret(ctx, pc, *spec)
		status.SetConditions(c.WithObservedGeneration(pc.GetGeneration()))
		if c.Status != corev1.ConditionTrue && err == nil {
			result.RequeueAfter = r.recheck
		}
	}
	if !equality.Semantic.DeepEqual(before, status) {
		if uerr := r.kube.Status().Update(ctx, pc); uerr != nil && err == nil {
			err = errors.Wrapf(uerr, "cannot update the status of %s", r.kind)
		}
	}
	return result, err
}

// urls are the config's webhook paths, secret-free.
func (r *webhookReconciler) urls(pc client.Object, spec v1alpha1.WebhookConfig) []string {
	if r.kind == v1alpha1.ClusterProviderConfigKind {
		return subscription.ConfigWebhookURLs(subscription.ClusterProviderConfigWebhookID(pc.GetName()), spec.SecretRef.Namespace+"/"+spec.SecretRef.Name)
	}
	return subscription.ConfigWebhookURLs(subscription.ProviderConfigWebhookID(pc.GetNamespace(), pc.GetName()), spec.SecretRef.Name)
}

// ensureSecret creates or keeps the webhook Secret, and returns the
// WebhookReady condition that says how it went. An error is a failure worth
// retrying (the API server's); the condition says it too.
func (r *webhookReconciler) ensureSecret(ctx context.Context, pc client.Object, spec v1alpha1.WebhookConfig) (xpv2.Condition, error) {
	ref, ok := subscription.WebhookSecretOf(r.kind, pc.GetNamespace(), spec)
	if !ok {
		msg := "spec.webhook.secretRef.namespace must name the namespace of the Secret: set it"
		if r.kind == v1alpha1.ProviderConfigKind {
			msg = fmt.Sprintf("spec.webhook.secretRef.namespace %q is another namespace: a ProviderConfig may only name a Secret in its own namespace (%s); leave it empty, or use a ClusterProviderConfig", spec.SecretRef.Namespace, pc.GetNamespace())
		}
		return notReady(v1alpha1.ReasonWebhookSecretRefError, msg), nil
	}
	if r.kind == v1alpha1.ClusterProviderConfigKind {
		// Whoever holds a ProviderConfig naming the same Secret holds keys
		// that would wake Subscriptions in every namespace this config
		// selects: the receiver refuses such a Secret, and so does this.
		l := &v1alpha1.ProviderConfigList{}
		if err := r.kube.List(ctx, l, client.MatchingFields{webhookSecretIndex: ref.String()}); err != nil {
			err = errors.Wrapf(err, "cannot list the ProviderConfigs naming Secret %s", ref)
			return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
		}
		if len(l.Items) > 0 {
			return notReady(v1alpha1.ReasonWebhookSecretRefError, fmt.Sprintf(
				"Secret %s (spec.webhook.secretRef) is also the webhook Secret of ProviderConfig %s/%s, whose keys would then wake this %s's Subscriptions in every namespace it selects, so its webhooks are refused: name a Secret in a namespace tenants cannot write (e.g. the provider's own) in spec.webhook.secretRef (a missing one is created)",
				ref, l.Items[0].GetNamespace(), l.Items[0].GetName(), r.kind)), nil
		}
	}
	sec := &corev1.Secret{}
	err := r.secrets.Get(ctx, ref, sec)
	if kerrors.IsNotFound(err) {
		return r.createSecret(ctx, ref)
	}
	if err != nil {
		err = errors.Wrapf(err, "cannot get Secret %s (spec.webhook.secretRef)", ref)
		return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
	}
	switch sec.GetLabels()[subscription.WebhookSecretLabel] {
	case subscription.WebhookSecretLabelValueProviderConfig:
	case subscription.WebhookSecretLabelValue:
		return notReady(v1alpha1.ReasonWebhookSecretNotOurs, fmt.Sprintf(
			"Secret %s (spec.webhook.secretRef) is the webhook Secret of a Subscription, so K8sTA does not use it for this %s and refuses its webhooks: name another Secret in spec.webhook.secretRef (a missing one is created)",
			ref, r.kind)), nil
	default:
		return notReady(v1alpha1.ReasonWebhookSecretNotOurs, fmt.Sprintf(
			"Secret %s (spec.webhook.secretRef) exists and is not labelled %s=%s, so K8sTA leaves it alone and refuses this %s's webhooks: label it (kubectl label secret -n %s %s %s=%s) to let K8sTA use its %q key as the webhook's root token and write each sender's key next to it, or name another Secret in spec.webhook.secretRef (a missing one is created)",
			ref, subscription.WebhookSecretLabel, subscription.WebhookSecretLabelValueProviderConfig, r.kind,
			ref.Namespace, ref.Name, subscription.WebhookSecretLabel, subscription.WebhookSecretLabelValueProviderConfig, subscription.WebhookSecretKey)), nil
	}
	token := sec.Data[subscription.WebhookSecretKey]
	if len(token) == 0 {
		t, err := webhook.GenerateToken()
		if err != nil {
			return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
		}
		token = []byte(t)
	}
	if len(token) < subscription.MinWebhookTokenBytes {
		return notReady(v1alpha1.ReasonWebhookSecretInvalid, fmt.Sprintf(
			"Secret %s (spec.webhook.secretRef): its %q key is %d bytes, under the %d a webhook's root token needs, so this %s's webhooks are refused: put a long random value in it (e.g. openssl rand -base64 48), or remove the key and K8sTA generates one",
			ref, subscription.WebhookSecretKey, len(token), subscription.MinWebhookTokenBytes, r.kind)), nil
	}
	if len(token) > subscription.MaxWebhookTokenBytes {
		return notReady(v1alpha1.ReasonWebhookSecretInvalid, fmt.Sprintf(
			"Secret %s (spec.webhook.secretRef): its %q key is %d bytes, over the %d a webhook's root token may hold, so this %s's webhooks are refused: put a shorter random value in it (e.g. openssl rand -base64 48), or remove the key and K8sTA generates one",
			ref, subscription.WebhookSecretKey, len(token), subscription.MaxWebhookTokenBytes, r.kind)), nil
	}
	want := subscription.WebhookSecretData(token)
	if !holds(sec.Data, want) {
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		// Other keys the user keeps in the Secret stay.
		for k, v := range want {
			sec.Data[k] = v
		}
		if err := r.kube.Update(ctx, sec); err != nil {
			err = errors.Wrapf(err, "cannot update the sender keys of Secret %s (spec.webhook.secretRef)", ref)
			return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
		}
	}
	return ready(ref), nil
}

// createSecret creates the webhook Secret with a new random token. It is
// not owned by the config: deleting and re-creating a config (a GitOps
// prune, a reinstall) keeps the keys every sender holds.
func (r *webhookReconciler) createSecret(ctx context.Context, ref types.NamespacedName) (xpv2.Condition, error) {
	token, err := webhook.GenerateToken()
	if err != nil {
		return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ref.Namespace, Name: ref.Name,
			Labels: map[string]string{subscription.WebhookSecretLabel: subscription.WebhookSecretLabelValueProviderConfig},
		},
		Data: subscription.WebhookSecretData([]byte(token)),
	}
	if err := r.kube.Create(ctx, sec); err != nil {
		// Someone made it meanwhile: the next reconcile looks at theirs.
		err = errors.Wrapf(err, "cannot create Secret %s (spec.webhook.secretRef)", ref)
		return notReady(v1alpha1.ReasonWebhookSecretError, err.Error()), err
	}
	return ready(ref), nil
}

// holds reports whether data holds every key of want with its value.
func holds(data, want map[string][]byte) bool {
	for k, v := range want {
		if got, ok := data[k]; !ok || !bytes.Equal(got, v) {
			return false
		}
	}
	return true
}

func ready(ref types.NamespacedName) xpv2.Condition {
	return xpv2.Condition{
		Type: v1alpha1.TypeWebhookReady, Status: corev1.ConditionTrue, Reason: v1alpha1.ReasonWebhookReady,
		LastTransitionTime: metav1.Now(),
		Message:            fmt.Sprintf("register status.webhook.urls with registries and git hosts; each kind of sender's key is in Secret %s under the kind's name (github, gitlab, distribution, ...)", ref),
	}
}

func notReady(reason xpv2.ConditionReason, msg string) xpv2.Condition {
	return xpv2.Condition{
		Type: v1alpha1.TypeWebhookReady, Status: corev1.ConditionFalse, Reason: reason,
		LastTransitionTime: metav1.Now(), Message: msg,
	}
}

func removeCondition(s *xpv2.ConditionedStatus, t xpv2.ConditionType) {
	kept := s.Conditions[:0]
	for _, c := range s.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	s.Conditions = kept
}
