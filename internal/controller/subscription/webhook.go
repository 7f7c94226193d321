package subscription

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/webhook"
)

// WebhookSecretKey is the key of a Subscription's webhook Secret that holds
// its token: the HMAC key for senders that sign, and the path secret for
// those that cannot.
const WebhookSecretKey = "token"

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

// WebhookURLs are the paths a user registers with registries and git hosts.
// A path-token sender's path holds the token itself, a credential, so the
// status names the Secret key to read it from instead.
func WebhookURLs(s *v1alpha1.Subscription) []string {
	id := WebhookID(s.GetNamespace(), s.GetName())
	ref := "<" + WebhookSecretName(s) + "." + WebhookSecretKey + ">"
	var urls []string
	for _, k := range webhook.Kinds() {
		if k.Images() && len(s.Spec.ForProvider.Images) == 0 {
			continue
		}
		if !k.Images() && s.Spec.ForProvider.Git == nil {
			continue
		}
		urls = append(urls, webhook.Path(k, id, ref))
	}
	return urls
}

// ensureWebhookSecret creates the Subscription's webhook Secret once, with a
// new random token, owned by the Subscription.
func ensureWebhookSecret(ctx context.Context, kube client.Client, s *v1alpha1.Subscription) error {
	sec := &corev1.Secret{}
	err := kube.Get(ctx, types.NamespacedName{Namespace: s.GetNamespace(), Name: WebhookSecretName(s)}, sec)
	if err == nil || !kerrors.IsNotFound(err) {
		return errors.Wrap(err, "cannot get the webhook Secret")
	}
	token, err := webhook.GenerateToken()
	if err != nil {
		return err
	}
	sec = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.GetNamespace(), Name: WebhookSecretName(s)},
		Data:       map[string][]byte{WebhookSecretKey: []byte(token)},
	}
	meta.AddOwnerReference(sec, meta.AsController(meta.TypedReferenceTo(s, v1alpha1.SubscriptionGroupVersionKind)))
	return errors.Wrap(resourceIgnoreAlreadyExists(kube.Create(ctx, sec)), "cannot create the webhook Secret")
}

func resourceIgnoreAlreadyExists(err error) error {
	if kerrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// NewWebhookReceiver returns the webhook receiver: it authenticates each
// request with the named Subscription's token and, when the event concerns
// one of that Subscription's sources, wakes it so it polls at once. It never
// trusts the payload beyond repository and branch names.
func NewWebhookReceiver(reader client.Reader, wake chan<- event.GenericEvent) *webhook.Receiver {
	secrets := webhook.SecretSourceFunc(func(ctx context.Context, _ webhook.Kind, id string) ([]byte, error) {
		key, ok := parseWebhookID(id)
		if !ok {
			return nil, webhook.ErrNotFound
		}
		sec := &corev1.Secret{}
		s := &v1alpha1.Subscription{}
		s.SetName(key.Name)
		if err := reader.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: WebhookSecretName(s)}, sec); err != nil {
			if kerrors.IsNotFound(err) {
				return nil, webhook.ErrNotFound
			}
			return nil, err
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
		select {
		case wake <- event.GenericEvent{Object: s}:
		default:
			// The queue is full: the Subscription is already due a poll.
		}
	}
	return webhook.NewReceiver(secrets, notify)
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
