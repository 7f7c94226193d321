package subscription

import (
	"bytes"
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/webhook"
)

// WebhookSecretKey is the key of a Subscription's webhook Secret that holds
// its root token. No sender is given the root token: each kind of sender
// gets webhook.Key(token, kind), which the Secret also holds, under the
// kind's name (github, distribution, ...).
const WebhookSecretKey = "token"

// WebhookSecretLabel marks the webhook Secrets the receiver may read: the
// receiver reads Secrets from a cache holding only Secrets with this label
// (see WebhookCacheByObject), and never lists, watches or reads another. The
// provider puts WebhookSecretLabelValue on the Secrets it creates for
// Subscriptions; WebhookSecretLabelValueProviderConfig marks the Secret of a
// ProviderConfig's or ClusterProviderConfig's webhook, which the provider
// creates or, when a user made it, uses only once the user labelled it.
const (
	WebhookSecretLabel                    = "k8sta.io/webhook"
	WebhookSecretLabelValue               = "subscription"
	WebhookSecretLabelValueProviderConfig = "providerconfig"
)

// MinWebhookTokenBytes is the shortest root token a config's webhook
// accepts: a user may write the token of a labelled Secret, and a short one
// could be guessed.
const MinWebhookTokenBytes = 32

// MaxWebhookTokenBytes is the longest root token a webhook accepts. The
// receiver's cache keeps no longer one (see WebhookSecretTransform), so
// that labelled Secrets cost the provider a bounded amount of memory each.
const MaxWebhookTokenBytes = 512

// WebhookSecretName is the name of the Secret, in the Subscription's
// namespace, that holds its webhook token.
func WebhookSecretName(s *v1alpha1.Subscription) string { return s.GetName() + "-webhook" }

// WebhookID identifies a Subscription in webhook paths. Namespaces are DNS
// labels, so the first dot separates namespace from name.
func WebhookID(namespace, name string) string { return namespace + "." + name }

// The webhook ids of configs: providerconfig:<namespace>:<name> and
// clusterproviderconfig:<name>. No Kubernetes name or namespace holds a
// colon, so these never read as a Subscription's <namespace>.<name>, nor the
// one as the other.
const (
	providerConfigIDPrefix        = "providerconfig:"
	clusterProviderConfigIDPrefix = "clusterproviderconfig:"
)

// ProviderConfigWebhookID identifies a ProviderConfig in webhook paths.
func ProviderConfigWebhookID(namespace, name string) string {
	return providerConfigIDPrefix + namespace + ":" + name
}

// ClusterProviderConfigWebhookID identifies a ClusterProviderConfig in
// webhook paths.
func ClusterProviderConfigWebhookID(name string) string {
	return clusterProviderConfigIDPrefix + name
}

// A webhookTarget is what a webhook id names: a Subscription (Kind empty),
// a ProviderConfig or a ClusterProviderConfig (Namespace empty).
type webhookTarget struct {
	Kind string
	types.NamespacedName
}

// parseWebhookID reads a webhook id. A malformed id names nothing.
func parseWebhookID(id string) (webhookTarget, bool) {
	if rest, ok := strings.CutPrefix(id, providerConfigIDPrefix); ok {
		ns, name, ok := strings.Cut(rest, ":")
		t := webhookTarget{Kind: v1alpha1.ProviderConfigKind, NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
		return t, ok && ns != "" && name != "" && !strings.Contains(name, ":")
	}
	if name, ok := strings.CutPrefix(id, clusterProviderConfigIDPrefix); ok {
		t := webhookTarget{Kind: v1alpha1.ClusterProviderConfigKind, NamespacedName: types.NamespacedName{Name: name}}
		return t, name != "" && !strings.Contains(name, ":")
	}
	ns, name, ok := strings.Cut(id, ".")
	t := webhookTarget{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	return t, ok && ns != "" && name != "" && !strings.Contains(id, ":")
}

// WebhookCacheByObject is the cache configuration the webhook receiver
// needs: Secrets only when they carry WebhookSecretLabel with one of its
// values, each cut down by WebhookSecretTransform.
func WebhookCacheByObject() map[client.Object]cache.ByObject {
	sel, err := labels.NewRequirement(WebhookSecretLabel, selection.In, []string{WebhookSecretLabelValue, WebhookSecretLabelValueProviderConfig})
	if err != nil {
		// The requirement is a constant: it cannot fail but by a typo here.
		panic(err)
	}
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.NewSelector().Add(*sel), Transform: WebhookSecretTransform},
	}
}

// WebhookSecretTransform keeps of a cached Secret only what the receiver
// reads: its identity, labels and owner references, and its token when it is
// at most MaxWebhookTokenBytes long. Anyone who may write Secrets in a
// namespace can label them, so without it 1,000 labelled 1 MiB Secrets would
// hold 1 GB of the provider's memory. Nothing reads or writes a whole Secret
// through this cache: the provider's client reads Secrets from the API server
// (the manager's client does not cache them) and writes them there.
func WebhookSecretTransform(obj any) (any, error) {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	kept := &corev1.Secret{
		TypeMeta: sec.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Namespace: sec.Namespace, Name: sec.Name, UID: sec.UID, ResourceVersion: sec.ResourceVersion,
			Labels: sec.Labels, OwnerReferences: sec.OwnerReferences, DeletionTimestamp: sec.DeletionTimestamp,
		},
	}
	if t := sec.Data[WebhookSecretKey]; len(t) > 0 && len(t) <= MaxWebhookTokenBytes {
		kept.Data = map[string][]byte{WebhookSecretKey: t}
	}
	return kept, nil
}

// ConfigWebhookURLs are the paths a user registers once per sender for every
// Subscription using a config, one per kind of sender. secret names the
// Secret holding the keys, as the user reads it: its name for a
// ProviderConfig (same namespace), <namespace>/<name> for a
// ClusterProviderConfig. A path-token sender's path shows <secret.kind>
// where its key goes.
func ConfigWebhookURLs(id, secret string) []string {
	urls := make([]string, 0, len(webhook.Kinds()))
	for _, k := range webhook.Kinds() {
		urls = append(urls, webhook.Path(k, id, "<"+secret+"."+string(k)+">"))
	}
	return urls
}

// WebhookSecretData is the data of a webhook Secret of root token token:
// the token, and the key of every kind of sender, under the kind's name.
func WebhookSecretData(token []byte) map[string][]byte {
	d := map[string][]byte{WebhookSecretKey: token}
	for _, k := range webhook.Kinds() {
		d[string(k)] = []byte(webhook.Key(token, k))
	}
	return d
}

// WebhookURLs are the paths a user registers with registries and git hosts.
// A path-token sender's path holds its key, a credential, so the status
// names the Secret key to read it from instead: <secret.kind>, e.g.
// <guestbook-webhook.distribution>. A signing sender's secret is the same
// Secret's key of its kind (github, gitlab, gitea, bitbucket, ghcr).
func WebhookURLs(s *v1alpha1.Subscription) []string {
	id := WebhookID(s.GetNamespace(), s.GetName())
	var urls []string
	for _, k := range webhook.Kinds() {
		if k.Images() && len(s.Spec.ForProvider.Images) == 0 {
			continue
		}
		if !k.Images() && s.Spec.ForProvider.Git == nil {
			continue
		}
		urls = append(urls, webhook.Path(k, id, "<"+WebhookSecretName(s)+"."+string(k)+">"))
	}
	return urls
}

// ensureWebhookSecret creates the Subscription's webhook Secret once, with a
// new random token, labelled and controlled by the Subscription, and keeps
// its per-kind keys derived from its token (a user rotates the token by
// deleting the Secret). A Secret of that name that the Subscription does not
// control is left alone, and its webhooks refused.
func ensureWebhookSecret(ctx context.Context, kube client.Client, s *v1alpha1.Subscription) error {
	sec := &corev1.Secret{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: s.GetNamespace(), Name: WebhookSecretName(s)}, sec)
	if kerrors.IsNotFound(err) {
		token, err := webhook.GenerateToken()
		if err != nil {
			return err
		}
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.GetNamespace(), Name: WebhookSecretName(s),
				Labels: map[string]string{WebhookSecretLabel: WebhookSecretLabelValue},
			},
			Data: WebhookSecretData([]byte(token)),
		}
		meta.AddOwnerReference(sec, meta.AsController(meta.TypedReferenceTo(s, v1alpha1.SubscriptionGroupVersionKind)))
		return errors.Wrap(resourceIgnoreAlreadyExists(kube.Create(ctx, sec)), "cannot create the webhook Secret")
	}
	if err != nil {
		return errors.Wrap(err, "cannot get the webhook Secret")
	}
	if !controlledBy(sec, s) {
		return errors.Errorf("Secret %s/%s is not controlled by this Subscription, so its webhooks are refused: delete or rename that Secret, and the provider creates its own", sec.GetNamespace(), sec.GetName())
	}
	token := sec.Data[WebhookSecretKey]
	if len(token) == 0 {
		t, err := webhook.GenerateToken()
		if err != nil {
			return err
		}
		token = []byte(t)
	}
	want := WebhookSecretData(token)
	if sec.GetLabels()[WebhookSecretLabel] == WebhookSecretLabelValue && equalData(sec.Data, want) {
		return nil
	}
	meta.AddLabels(sec, map[string]string{WebhookSecretLabel: WebhookSecretLabelValue})
	sec.Data = want
	return errors.Wrap(kube.Update(ctx, sec), "cannot update the webhook Secret")
}

func equalData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// controlledBy reports whether sec's controller is s, this very object (by
// UID), not an earlier Subscription of the same name.
func controlledBy(sec *corev1.Secret, s *v1alpha1.Subscription) bool {
	c := metav1.GetControllerOf(sec)
	return c != nil && s.GetUID() != "" && c.UID == s.GetUID() &&
		c.Kind == v1alpha1.SubscriptionKind && c.APIVersion == v1alpha1.SubscriptionGroupVersionKind.GroupVersion().String()
}

func resourceIgnoreAlreadyExists(err error) error {
	if kerrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// providerConfigIndex indexes Subscriptions by the config their
// spec.providerConfigRef names, as <kind>/<name>: a config's webhook wakes
// the Subscriptions using it without listing every Subscription.
const providerConfigIndex = "spec.providerConfigRef"

// providerConfigIndexKey is the providerConfigIndex value of a reference.
func providerConfigIndexKey(kind, name string) string { return kind + "/" + name }

// providerConfigWebhookSecretIndex indexes ProviderConfigs by the Secret
// their spec.webhook names, as <namespace>/<name>: the receiver refuses a
// ClusterProviderConfig's Secret that a ProviderConfig also names. (The
// config controller keeps an index of its own, under another name.)
const providerConfigWebhookSecretIndex = "receiver.spec.webhook.secretRef"

// A WebhookCache is what the receiver reads: the manager's cache, built
// with WebhookCacheByObject.
type WebhookCache interface {
	client.Reader
	client.FieldIndexer
}

// NewWebhookReceiver returns the webhook receiver. It authenticates each
// request with the token of what the path's id names, and wakes the
// Subscriptions the event concerns so that they poll at once, each as often
// as limiter allows:
//
//   - <namespace>.<name>: the Subscription, with the Secret it controls;
//   - providerconfig:<namespace>:<name>: the Subscriptions of the namespace
//     whose spec.providerConfigRef names that ProviderConfig, with the
//     Secret its spec.webhook.secretRef names;
//   - clusterproviderconfig:<name>: the Subscriptions whose
//     spec.providerConfigRef names that ClusterProviderConfig, in the
//     namespaces its spec.namespaceSelector selects, with the Secret its
//     spec.webhook.secretRef names.
//
// It never trusts the payload beyond repository and branch names.
//
// A ClusterProviderConfig's Secret that a ProviderConfig also names is
// refused: keys are not bound to the config that uses them, so the
// ProviderConfig's users would hold keys to every namespace it selects.
//
// c must be a cache built with WebhookCacheByObject (the manager's): a
// request, authenticated or not, then costs no API-server request, and only
// Secrets the provider labelled can be looked up. A Subscription's Secret is
// used only if the live Subscription (same UID) controls it, a config's only
// if it carries WebhookSecretLabelValueProviderConfig. NewWebhookReceiver
// adds field indexes on Subscriptions and ProviderConfigs to c, so call it
// before c starts or once their informers may take one.
func NewWebhookReceiver(ctx context.Context, c WebhookCache, wake chan<- event.GenericEvent, limiter *webhook.WakeLimiter, opts ...webhook.Option) (*webhook.Receiver, error) {
	if err := c.IndexField(ctx, &v1alpha1.Subscription{}, providerConfigIndex, func(o client.Object) []string {
		ref := o.(*v1alpha1.Subscription).GetProviderConfigReference() //nolint:forcetypeassert // The index is on Subscriptions.
		if ref == nil {
			// The API server defaults the reference; an object without one
			// uses no config (credentials.Resolve refuses it).
			return nil
		}
		return []string{providerConfigIndexKey(ref.Kind, ref.Name)}
	}); err != nil {
		return nil, errors.Wrap(err, "cannot index Subscriptions by spec.providerConfigRef")
	}
	if err := c.IndexField(ctx, &v1alpha1.ProviderConfig{}, providerConfigWebhookSecretIndex, func(o client.Object) []string {
		pc := o.(*v1alpha1.ProviderConfig) //nolint:forcetypeassert // The index is on ProviderConfigs.
		if pc.Spec.Webhook == nil {
			return nil
		}
		ref, ok := WebhookSecretOf(v1alpha1.ProviderConfigKind, pc.GetNamespace(), *pc.Spec.Webhook)
		if !ok {
			return nil
		}
		return []string{ref.String()}
	}); err != nil {
		return nil, errors.Wrap(err, "cannot index ProviderConfigs by spec.webhook.secretRef")
	}
	r := &receiver{reader: c, limiter: limiter, wake: newWakeQueue(wake)}
	return webhook.NewReceiver(webhook.SecretSourceFunc(r.secret), r.notify, opts...), nil
}

type receiver struct {
	reader  client.Reader
	limiter *webhook.WakeLimiter
	wake    *wakeQueue
}

// secret returns the root token of the webhook id names.
func (r *receiver) secret(ctx context.Context, _ webhook.Kind, id string) ([]byte, error) {
	t, ok := parseWebhookID(id)
	if !ok {
		return nil, webhook.ErrNotFound
	}
	if t.Kind == "" {
		return r.subscriptionSecret(ctx, t.NamespacedName)
	}
	ref, err := r.configSecretRef(ctx, t)
	if err != nil {
		return nil, err
	}
	if t.Kind == v1alpha1.ClusterProviderConfigKind {
		// A ProviderConfig naming the same Secret would let its users hold
		// keys that wake every namespace the ClusterProviderConfig selects.
		l := &v1alpha1.ProviderConfigList{}
		if err := r.reader.List(ctx, l, client.MatchingFields{providerConfigWebhookSecretIndex: ref.String()}); err != nil {
			return nil, err
		}
		if len(l.Items) > 0 {
			return nil, webhook.ErrNotFound
		}
	}
	sec := &corev1.Secret{}
	if err := r.reader.Get(ctx, ref, sec); err != nil {
		return nil, notFound(err)
	}
	token := sec.Data[WebhookSecretKey]
	if sec.GetLabels()[WebhookSecretLabel] != WebhookSecretLabelValueProviderConfig || len(token) < MinWebhookTokenBytes {
		return nil, webhook.ErrNotFound
	}
	return token, nil
}

func (r *receiver) subscriptionSecret(ctx context.Context, key types.NamespacedName) ([]byte, error) {
	s := &v1alpha1.Subscription{}
	if err := r.reader.Get(ctx, key, s); err != nil {
		return nil, notFound(err)
	}
	sec := &corev1.Secret{}
	if err := r.reader.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: WebhookSecretName(s)}, sec); err != nil {
		return nil, notFound(err)
	}
	if !controlledBy(sec, s) || sec.GetLabels()[WebhookSecretLabel] != WebhookSecretLabelValue {
		return nil, webhook.ErrNotFound
	}
	return sec.Data[WebhookSecretKey], nil
}

// configSecretRef returns where the webhook Secret of the config t names
// is: a ProviderConfig's in its own namespace, a ClusterProviderConfig's
// where it says.
func (r *receiver) configSecretRef(ctx context.Context, t webhookTarget) (types.NamespacedName, error) {
	var spec *v1alpha1.WebhookConfig
	switch t.Kind {
	case v1alpha1.ProviderConfigKind:
		pc := &v1alpha1.ProviderConfig{}
		if err := r.reader.Get(ctx, t.NamespacedName, pc); err != nil {
			return types.NamespacedName{}, notFound(err)
		}
		spec = pc.Spec.Webhook
	case v1alpha1.ClusterProviderConfigKind:
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := r.reader.Get(ctx, t.NamespacedName, pc); err != nil {
			return types.NamespacedName{}, notFound(err)
		}
		spec = pc.Spec.Webhook
	}
	if spec == nil {
		return types.NamespacedName{}, webhook.ErrNotFound
	}
	ref, ok := WebhookSecretOf(t.Kind, t.Namespace, *spec)
	if !ok {
		return types.NamespacedName{}, webhook.ErrNotFound
	}
	return ref, nil
}

// WebhookSecretOf is where the Secret of a config's spec.webhook is: in the
// ProviderConfig's namespace (configNamespace), which its secretRef may
// only repeat, or in the namespace a ClusterProviderConfig's secretRef
// must name. ok is false when the reference breaks that rule.
func WebhookSecretOf(kind, configNamespace string, w v1alpha1.WebhookConfig) (types.NamespacedName, bool) {
	ref := w.SecretRef
	at := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	switch kind {
	case v1alpha1.ProviderConfigKind:
		if ref.Namespace != "" && ref.Namespace != configNamespace {
			return types.NamespacedName{}, false
		}
		at.Namespace = configNamespace
	case v1alpha1.ClusterProviderConfigKind:
	default:
		return types.NamespacedName{}, false
	}
	if at.Namespace == "" || at.Name == "" {
		return types.NamespacedName{}, false
	}
	return at, true
}

// notify wakes the Subscriptions an authenticated event concerns.
func (r *receiver) notify(e webhook.Event) {
	ctx := context.Background()
	t, ok := parseWebhookID(e.ID)
	if !ok {
		return
	}
	var subs []*v1alpha1.Subscription
	switch t.Kind {
	case "":
		s := &v1alpha1.Subscription{}
		if err := r.reader.Get(ctx, t.NamespacedName, s); err != nil {
			return
		}
		subs = []*v1alpha1.Subscription{s}
	default:
		subs = r.inScope(ctx, t)
	}
	for _, s := range subs {
		if !concerns(e, s) {
			continue
		}
		// The time of delivery, not e.Received: a wake the limiter held
		// back stands for every webhook held back after it.
		r.limiter.Wake(client.ObjectKeyFromObject(s).String(), func() { r.wake.add(WakeEvent(s, time.Now()).Object) })
	}
}

// inScope returns the Subscriptions that use the config t names: a
// ProviderConfig's in its namespace, a ClusterProviderConfig's in the
// namespaces it selects (none without a selector, as credentials.Resolve
// enforces). They are read from the cache through providerConfigIndex.
func (r *receiver) inScope(ctx context.Context, t webhookTarget) []*v1alpha1.Subscription {
	l := &v1alpha1.SubscriptionList{}
	opts := []client.ListOption{client.MatchingFields{providerConfigIndex: providerConfigIndexKey(t.Kind, t.Name)}}
	if t.Kind == v1alpha1.ProviderConfigKind {
		opts = append(opts, client.InNamespace(t.Namespace))
	}
	if err := r.reader.List(ctx, l, opts...); err != nil {
		return nil
	}
	selects := func(string) bool { return true }
	if t.Kind == v1alpha1.ClusterProviderConfigKind {
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := r.reader.Get(ctx, t.NamespacedName, pc); err != nil || pc.Spec.NamespaceSelector == nil {
			return nil
		}
		sel, err := metav1.LabelSelectorAsSelector(pc.Spec.NamespaceSelector)
		if err != nil {
			return nil
		}
		selected := map[string]bool{}
		selects = func(namespace string) bool {
			ok, seen := selected[namespace]
			if !seen {
				ns := &corev1.Namespace{}
				ok = r.reader.Get(ctx, types.NamespacedName{Name: namespace}, ns) == nil && sel.Matches(labels.Set(ns.GetLabels()))
				selected[namespace] = ok
			}
			return ok
		}
	}
	subs := make([]*v1alpha1.Subscription, 0, len(l.Items))
	for i := range l.Items {
		if s := &l.Items[i]; selects(s.GetNamespace()) {
			subs = append(subs, s)
		}
	}
	return subs
}

// notFound maps a missing object to webhook.ErrNotFound.
func notFound(err error) error {
	if kerrors.IsNotFound(err) {
		return webhook.ErrNotFound
	}
	return err
}

// concerns reports whether e is about one of s's sources.
func concerns(e webhook.Event, s *v1alpha1.Subscription) bool {
	p := s.Spec.ForProvider
	if e.Kind.Images() {
		for _, i := range p.Images {
			if e.Matches(i.Repository) {
				return true
			}
		}
		return false
	}
	return p.Git != nil && e.Matches(p.Repo.URL) && e.MatchesBranch(p.Repo.SourceBranchOrDefault())
}
