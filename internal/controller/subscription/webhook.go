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

// WebhookSecretLabel marks the webhook Secrets the provider creates. The
// receiver reads Secrets from a cache holding only Secrets with this label
// (see WebhookCacheByObject): it never lists, watches or reads another.
const (
	WebhookSecretLabel      = "k8sta.io/webhook"
	WebhookSecretLabelValue = "subscription"
)

// WebhookSecretName is the name of the Secret, in the Subscription's
// namespace, that holds its webhook token.
func WebhookSecretName(s *v1alpha1.Subscription) string { return s.GetName() + "-webhook" }

// WebhookID identifies a Subscription in webhook paths. Namespaces are DNS
// labels, so the first dot separates namespace from name.
func WebhookID(namespace, name string) string { return namespace + "." + name }

func parseWebhookID(id string) (types.NamespacedName, bool) {
	ns, name, ok := strings.Cut(id, ".")
	return types.NamespacedName{Namespace: ns, Name: name}, ok && ns != "" && name != ""
}

// WebhookCacheByObject is the cache configuration the webhook receiver
// needs: Secrets only when they carry WebhookSecretLabel.
func WebhookCacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{WebhookSecretLabel: WebhookSecretLabelValue})},
	}
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

// webhookSecretData is the data of a webhook Secret of root token token:
// the token, and the key of every kind of sender.
func webhookSecretData(token []byte) map[string][]byte {
	d := map[string][]byte{WebhookSecretKey: token}
	for _, k := range webhook.Kinds() {
		d[string(k)] = []byte(webhook.Key(token, k))
	}
	return d
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
			Data: webhookSecretData([]byte(token)),
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
	want := webhookSecretData(token)
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

// NewWebhookReceiver returns the webhook receiver: it authenticates each
// request with the named Subscription's token and, when the event concerns
// one of that Subscription's sources, wakes it so it polls at once, as often
// as limiter allows. It never trusts the payload beyond repository and
// branch names.
//
// reader must be a cache built with WebhookCacheByObject (the manager's):
// a request, authenticated or not, then costs no API-server request, and
// only Secrets the provider labelled can be looked up. Of those, only the
// one controlled by the live Subscription (same UID) is used.
func NewWebhookReceiver(reader client.Reader, wake chan<- event.GenericEvent, limiter *webhook.WakeLimiter, opts ...webhook.Option) *webhook.Receiver {
	secrets := webhook.SecretSourceFunc(func(ctx context.Context, _ webhook.Kind, id string) ([]byte, error) {
		key, ok := parseWebhookID(id)
		if !ok {
			return nil, webhook.ErrNotFound
		}
		s := &v1alpha1.Subscription{}
		if err := reader.Get(ctx, key, s); err != nil {
			return nil, notFound(err)
		}
		sec := &corev1.Secret{}
		if err := reader.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: WebhookSecretName(s)}, sec); err != nil {
			return nil, notFound(err)
		}
		if !controlledBy(sec, s) {
			return nil, webhook.ErrNotFound
		}
		return sec.Data[WebhookSecretKey], nil
	})
	notify := func(e webhook.Event) {
		key, ok := parseWebhookID(e.ID)
		if !ok {
			return
		}
		s := &v1alpha1.Subscription{}
		if err := reader.Get(context.Background(), key, s); err != nil || !concerns(e, s) {
			return
		}
		limiter.Wake(key.String(), func() {
			// The time of delivery, not e.Received: a wake the limiter
			// held back stands for every webhook held back after it.
			select {
			case wake <- WakeEvent(s, time.Now()):
			default:
				// The queue is full: the Subscription is already due a poll.
			}
		})
	}
	return webhook.NewReceiver(secrets, notify, opts...)
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
	return p.Git != nil && e.Matches(p.Repo.URL) && e.MatchesBranch(sourceBranch(p))
}
