package subscription

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"

	"github.com/k8sta/k8sta/internal/webhook"
)

// A registry's webhook, authenticated by the key the Subscription's webhook
// Secret holds for its kind, wakes the Subscription, which re-reads the registry and shows the new
// image as its newest change. A webhook with a wrong token is refused. The
// webhook-to-status latency over 100 webhooks is logged.
func TestSubscriptionWebhookWakesASubscription(t *testing.T) {
	f := newFixture(t)
	f.push("1.2.0")
	key := f.subscription(nil)
	eventually(t, "the first change", func() (bool, string) { return newest(t, key) != nil, "none" })

	sec := webhookSecret(t, key)
	token := string(sec.Data[WebhookSecretKey])
	if len(token) < 40 {
		t.Fatalf("webhook token is %d characters, want a long random one", len(token))
	}
	token = string(sec.Data[string(webhook.Distribution)])
	for _, u := range get(t, key).Status.AtProvider.WebhookURLs {
		if strings.Contains(u, token) || strings.Contains(u, string(sec.Data[WebhookSecretKey])) {
			t.Fatalf("status.atProvider.webhookURLs shows a secret: %s", u)
		}
	}

	c, _ := webhookCache(t)
	inCache(t, c, sec)
	recv := httptest.NewServer(newReceiver(t, c, wake, webhook.NewWakeLimiter(0, 1)))
	t.Cleanup(recv.Close)
	id := WebhookID(key.Namespace, key.Name)
	send := func(token, tag string) int {
		body := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"acme/guestbook","tag":%q},"request":{"host":%q}}]}`, tag, f.registry)
		resp, err := http.Post(recv.URL+webhook.Path(webhook.Kind("distribution"), id, token), "application/json", bytes.NewBufferString(body))
		must(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	f.push("1.2.1")
	if code := send("wrong-token-0123456789-abcdefghijklmnop", "1.2.1"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d, want 401", code)
	}
	pollNow(t, key, "after-bad-webhook") // the poll here, not the bad webhook, picks up 1.2.1

	var lat []time.Duration
	for i := range 100 {
		tag := fmt.Sprintf("1.3.%d", i)
		f.push(tag)
		start := time.Now()
		if code := send(token, tag); code != http.StatusOK {
			t.Fatalf("webhook for %s: HTTP %d, want 200", tag, code)
		}
		eventually(t, "newest "+tag, func() (bool, string) {
			n := newest(t, key)
			return n.Images[0].Tag == tag, n.Images[0].Tag
		})
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("MEASURED: webhook → Subscription status over 100 webhooks: p50 %v, p99 %v", lat[49], lat[98])
}

// newReceiver is the provider's webhook receiver on the cache c.
func newReceiver(t *testing.T, c cache.Cache, wake chan<- event.GenericEvent, limiter *webhook.WakeLimiter) http.Handler {
	t.Helper()
	r, err := NewWebhookReceiver(context.Background(), c, wake, limiter)
	must(t, err)
	return r
}

// countingTransport counts the requests that reach the API server.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// webhookCache is the cache the provider gives the webhook receiver
// (WebhookCacheByObject), on a config that counts every request to the API
// server, synced for Secrets and Subscriptions.
func webhookCache(t *testing.T) (cache.Cache, *atomic.Int64) {
	t.Helper()
	n := &atomic.Int64{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, n: n} }
	c, err := cache.New(cfg, cache.Options{Scheme: kube.Scheme(), ByObject: WebhookCacheByObject()})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, o := range []client.Object{&corev1.Secret{}, &v1alpha1.Subscription{}} {
		_, err := c.GetInformer(ctx, o)
		must(t, err)
	}
	return c, n
}

// webhookSecret waits for the Subscription's webhook Secret and returns it.
func webhookSecret(t *testing.T, key client.ObjectKey) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	eventually(t, "the webhook Secret", func() (bool, string) {
		err := kube.Get(context.Background(), types.NamespacedName{Namespace: key.Namespace, Name: key.Name + "-webhook"}, sec)
		return err == nil, fmt.Sprint(err)
	})
	return sec
}

// inCache waits until the cache holds the object.
func inCache(t *testing.T, c cache.Cache, o client.Object) {
	t.Helper()
	eventually(t, "cache holds "+o.GetName(), func() (bool, string) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object))
		return err == nil, fmt.Sprint(err)
	})
}

// distributionPush is a distribution registry's push notification for
// registry/acme/guestbook:tag.
func distributionPush(registry, tag string) string {
	return fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"acme/guestbook","tag":%q},"request":{"host":%q}}]}`, tag, registry)
}

// post sends a distribution webhook to path and returns the whole answer
// but its Date header.
func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	must(t, err)
	defer resp.Body.Close()
	resp.Header.Del("Date")
	b, err := httputil.DumpResponse(resp, true)
	must(t, err)
	return string(b)
}

// lonelySubscription creates a Subscription the controller cannot connect
// (its ProviderConfig does not exist), so it never gets a webhook Secret.
func (f *fixture) lonelySubscription() *v1alpha1.Subscription {
	f.t.Helper()
	s := &v1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "lonely"},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "missing"}},
			ForProvider: v1alpha1.SubscriptionParameters{
				Repo:   v1alpha1.Repository{URL: f.git.URL(f.repo), SourceBranch: "main"},
				Images: []v1alpha1.ImageSubscription{{Repository: f.image(), Strategy: "SemVer", Constraint: ">=1.0.0"}},
			},
		},
	}
	must(f.t, kube.Create(context.Background(), s))
	return s
}

// Every probe a tenant can make gets the same answer, byte for byte: an
// unknown Subscription, a wrong key, a Subscription with no webhook Secret,
// and a Secret of the right name and label that someone else made (it is
// not controlled by the Subscription, so its token, though the prober knows
// it, authenticates nothing). None wakes the Subscription.
func TestWebhookProbesAnswerIdentically(t *testing.T) {
	f := newFixture(t)
	f.push("1.0.0")
	key := f.subscription(nil)
	sec := webhookSecret(t, key)
	lonely := f.lonelySubscription()

	// A Secret that looks like a webhook Secret, for the Subscription with
	// none, made by someone who knows its token.
	forged := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "lonely-webhook", Labels: map[string]string{WebhookSecretLabel: WebhookSecretLabelValue}},
		Data:       WebhookSecretData([]byte("forged-token-forged-token-forged-token-0123")),
	}
	must(t, kube.Create(context.Background(), forged))

	c, _ := webhookCache(t)
	for _, o := range []client.Object{sec, forged, lonely} {
		inCache(t, c, o)
	}
	woken := make(chan event.GenericEvent, 16)
	recv := httptest.NewServer(newReceiver(t, c, woken, webhook.NewWakeLimiter(0, 1)))
	t.Cleanup(recv.Close)
	url := func(id, key string) string { return recv.URL + webhook.Path(webhook.Distribution, id, key) }
	body := distributionPush(f.registry, "1.0.0")

	want := post(t, url(WebhookID(f.ns, "unknown"), string(sec.Data[string(webhook.Distribution)])), body)
	for name, u := range map[string]string{
		"UnknownNamespace":   url(WebhookID("no-such-namespace", key.Name), string(sec.Data[string(webhook.Distribution)])),
		"WrongKey":           url(WebhookID(f.ns, key.Name), "wrong-key-wrong-key-wrong-key-wrong-key-0123"),
		"RootToken":          url(WebhookID(f.ns, key.Name), string(sec.Data[WebhookSecretKey])),
		"OtherKindsKey":      url(WebhookID(f.ns, key.Name), string(sec.Data[string(webhook.Quay)])),
		"MissingSecret":      url(WebhookID(f.ns, lonely.Name), string(sec.Data[string(webhook.Distribution)])),
		"UncontrolledSecret": url(WebhookID(f.ns, lonely.Name), string(forged.Data[string(webhook.Distribution)])),
		"BadIDSyntax":        url("-"+f.ns, string(sec.Data[string(webhook.Distribution)])),
	} {
		if got := post(t, u, body); got != want {
			t.Errorf("%s: answer differs from an unknown Subscription's:\n-unknown:\n%s\n+%s:\n%s", name, want, name, got)
		}
	}
	if !strings.HasPrefix(want, "HTTP/1.1 401 Unauthorized") {
		t.Errorf("an unknown Subscription gets %q, want a 401", want)
	}
	if len(woken) != 0 {
		t.Errorf("probes woke %d Subscriptions, want 0", len(woken))
	}
	if got := post(t, url(WebhookID(f.ns, key.Name), string(sec.Data[string(webhook.Distribution)])), body); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("the right key: %q, want a 200", got)
	}
}

// Unauthenticated requests cost the API server nothing: the receiver reads
// the webhook Secrets and Subscriptions from the cache the provider gives
// it. 1,000 bad requests, counted at the API server's REST transport.
func TestWebhookProbesCostNoAPIRequests(t *testing.T) {
	f := newFixture(t)
	f.push("1.0.0")
	key := f.subscription(nil)
	sec := webhookSecret(t, key)
	lonely := f.lonelySubscription()

	c, requests := webhookCache(t)
	inCache(t, c, sec)
	inCache(t, c, lonely)
	recv := httptest.NewServer(newReceiver(t, c, make(chan event.GenericEvent, 1), webhook.NewWakeLimiter(0, 1)))
	t.Cleanup(recv.Close)
	body := distributionPush(f.registry, "1.0.0")
	ids := []string{WebhookID(f.ns, key.Name), WebhookID(f.ns, "unknown"), WebhookID("no-such-namespace", "x"), WebhookID(f.ns, lonely.Name)}

	before := requests.Load()
	for i := range 1000 {
		got := post(t, recv.URL+webhook.Path(webhook.Distribution, ids[i%len(ids)], fmt.Sprintf("wrong-key-%040d", i)), body)
		if !strings.HasPrefix(got, "HTTP/1.1 401") {
			t.Fatalf("bad request %d: %q, want a 401", i, got)
		}
	}
	n := requests.Load() - before
	t.Logf("MEASURED: %d API-server requests for 1000 unauthenticated webhook requests", n)
	if n != 0 {
		t.Errorf("1000 bad webhook requests made %d API-server requests, want 0", n)
	}

	// The counter counts: one read through the same config (after the
	// client's discovery) is one request.
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, n: requests} }
	direct, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	must(t, err)
	must(t, direct.Get(context.Background(), types.NamespacedName{Name: f.ns}, &corev1.Namespace{}))
	before = requests.Load()
	must(t, direct.Get(context.Background(), types.NamespacedName{Name: f.ns}, &corev1.Namespace{}))
	if n := requests.Load() - before; n != 1 {
		t.Errorf("a direct GET counted %d requests, want 1", n)
	}
}

// A flood of authenticated webhooks, as from a leaked key, wakes the
// Subscription a burst of times and then at the limiter's rate: the
// receiver hands every wake to the Subscription's limiter.
func TestWebhookFloodWakesABurst(t *testing.T) {
	f := newFixture(t)
	f.push("1.0.0")
	key := f.subscription(nil)
	sec := webhookSecret(t, key)
	c, _ := webhookCache(t)
	inCache(t, c, sec)

	now := time.Unix(1_700_000_000, 0)
	var scheduled int
	limiter := webhook.NewWakeLimiter(time.Minute, 2, webhook.WithLimiterClock(
		func() time.Time { return now },
		func(time.Duration, func()) { scheduled++ }, // the trailing wake, never fired here
	))
	woken := make(chan event.GenericEvent, 1000)
	recv := httptest.NewServer(newReceiver(t, c, woken, limiter))
	t.Cleanup(recv.Close)
	u := recv.URL + webhook.Path(webhook.Distribution, WebhookID(f.ns, key.Name), string(sec.Data[string(webhook.Distribution)]))
	for i := range 100 {
		if got := post(t, u, distributionPush(f.registry, "1.0.0")); !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("webhook %d: %q, want a 200", i, got)
		}
	}
	if len(woken) != 2 || scheduled != 1 {
		t.Errorf("100 webhooks in one instant: %d wakes and %d scheduled, want the burst of 2 and 1 trailing wake", len(woken), scheduled)
	}
}

// A Secret of the webhook Secret's name that the Subscription does not
// control is left alone, and the Subscription says why webhooks fail and
// what to do.
func TestWebhookSecretNameTaken(t *testing.T) {
	f := newFixture(t)
	taken := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "guestbook-webhook"},
		Data:       map[string][]byte{WebhookSecretKey: []byte("someone-elses-token-someone-elses-token-00")},
	}
	must(t, kube.Create(context.Background(), taken))
	key := f.subscription(nil)
	eventually(t, "a Synced=False condition naming the Secret", func() (bool, string) {
		c := get(t, key).GetCondition(xpv2.TypeSynced)
		return c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "Secret "+f.ns+"/guestbook-webhook is not controlled by this Subscription") &&
			strings.Contains(c.Message, "delete or rename that Secret"), c.Message
	})
	got := &corev1.Secret{}
	must(t, kube.Get(context.Background(), client.ObjectKeyFromObject(taken), got))
	if diff := cmp.Diff(taken.Data, got.Data); diff != "" || len(got.GetLabels()) != 0 {
		t.Errorf("the provider changed a Secret it does not control: labels %v, -want +got data:\n%s", got.GetLabels(), diff)
	}
}
