package subscription

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8sta/k8sta/internal/webhook"
)

// A registry's webhook, authenticated by the Subscription's path token,
// wakes the Subscription, which re-reads the registry and shows the new
// image as its newest change. A webhook with a wrong token is refused. The
// webhook-to-status latency over 100 webhooks is logged.
func TestSubscriptionWebhookWakesASubscription(t *testing.T) {
	f := newFixture(t)
	f.push("1.2.0")
	key := f.subscription(nil)
	eventually(t, "the first change", func() (bool, string) { return newest(t, key) != nil, "none" })

	sec := &corev1.Secret{}
	must(t, kube.Get(context.Background(), types.NamespacedName{Namespace: key.Namespace, Name: key.Name + "-webhook"}, sec))
	token := string(sec.Data[WebhookSecretKey])
	if len(token) < 40 {
		t.Fatalf("webhook token is %d characters, want a long random one", len(token))
	}
	for _, u := range get(t, key).Status.AtProvider.WebhookURLs {
		if strings.Contains(u, token) {
			t.Fatalf("status.atProvider.webhookURLs shows the token: %s", u)
		}
	}

	recv := httptest.NewServer(NewWebhookReceiver(kube, wake))
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
