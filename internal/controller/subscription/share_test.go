package subscription

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
	"github.com/k8sta/k8sta/internal/webhook"
)

// TestWokenSubscriptionsShareOneFetch: 20 Subscriptions (20 Tracks) on one
// config repository and one image, all woken at once for one push and one
// new tag, cost one upload-pack and one tags-list request, and all see the
// new commit and the new tag.
func TestWokenSubscriptionsShareOneFetch(t *testing.T) {
	const n = 20
	f := newFixture(t)
	f.push("1.0.0")
	var keys []client.ObjectKey
	for i := range n {
		keys = append(keys, f.newSubscription(func(s *v1alpha1.Subscription) {
			s.SetName(fmt.Sprintf("app-%d", i))
			// With its external name and finalizer set, the managed
			// reconciler updates nothing but its status on its first poll,
			// so it is not reconciled again: the only polls below are the
			// wakes'.
			meta.SetExternalName(s, s.GetName())
			meta.AddFinalizer(s, managed.FinalizerName)
		}))
	}
	for _, k := range keys {
		eventually(t, "the first change of "+k.Name, func() (bool, string) {
			return newest(t, k) != nil, "none"
		})
	}

	commit := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/extra.yaml": []byte("# extra\n")}, "base: extra")
	f.push("1.1.0")
	fetches, lists := f.git.Sessions(f.repo, gitserver.UploadPack), f.tagLists.Load()
	received := time.Now() // when the webhooks for both arrived
	for _, k := range keys {
		pokeAt(k, received)
	}
	for _, k := range keys {
		eventually(t, "the new change of "+k.Name, func() (bool, string) {
			nw := newest(t, k)
			return nw.Commit == commit && len(nw.Images) == 1 && nw.Images[0].Tag == "1.1.0", fmt.Sprintf("%s %v", nw.Commit, nw.Images)
		})
	}
	gotFetches, gotLists := f.git.Sessions(f.repo, gitserver.UploadPack)-fetches, f.tagLists.Load()-lists
	t.Logf("MEASURED: %d Subscriptions woken at once for one push and one tag: %d upload-pack, %d tags-list request", n, gotFetches, gotLists)
	if gotFetches != 1 || gotLists != 1 {
		t.Errorf("%d Subscriptions woken at once: want 1 upload-pack and 1 tags-list request, got %d and %d", n, gotFetches, gotLists)
	}
}

// TestOneConfigWebhookCostsOneFetch: 20 Tracks' Subscriptions on one config
// repository, one git push webhook on their ProviderConfig's URL (served on
// 127.0.0.1, into the controller's own wake channel): every Subscription
// sees the new commit, for one upload-pack.
func TestOneConfigWebhookCostsOneFetch(t *testing.T) {
	const n = 20
	f := newFixture(t)
	f.push("1.0.0")
	ctx := context.Background()
	sec := webhookToken(t, f.ns, "hooks", WebhookSecretLabelValueProviderConfig)
	pc := &v1alpha1.ProviderConfig{}
	must(t, kube.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "default"}, pc))
	pc.Spec.Webhook = secretRef("hooks")
	must(t, kube.Update(ctx, pc))
	objs := []client.Object{sec, pc}
	var keys []client.ObjectKey
	for i := range n {
		k := f.newSubscription(func(s *v1alpha1.Subscription) {
			s.SetName(fmt.Sprintf("app-%d", i))
			meta.SetExternalName(s, s.GetName())
			meta.AddFinalizer(s, managed.FinalizerName)
		})
		keys = append(keys, k)
		objs = append(objs, get(t, k))
	}
	for _, k := range keys {
		eventually(t, "the first change of "+k.Name, func() (bool, string) {
			return newest(t, k) != nil, "none"
		})
	}
	c, _ := webhookCache(t)
	cached(t, c, objs...)
	srv := httptest.NewServer(newReceiver(t, c, wake, webhook.NewWakeLimiter(0, 1)))
	t.Cleanup(srv.Close)
	h := &hookServer{t: t, url: srv.URL}

	commit := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/extra.yaml": []byte("# extra\n")}, "base: extra")
	fetches := f.git.Sessions(f.repo, gitserver.UploadPack)
	if got := h.github(ProviderConfigWebhookID(f.ns, "default"), key(sec, webhook.GitHub), gitPush(f.git.URL(f.repo), "main")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("git push webhook: %q, want a 200", got)
	}
	for _, k := range keys {
		eventually(t, "the new commit at "+k.Name, func() (bool, string) {
			nw := newest(t, k)
			return nw.Commit == commit, nw.Commit
		})
	}
	got := f.git.Sessions(f.repo, gitserver.UploadPack) - fetches
	t.Logf("MEASURED: one config webhook waking %d Subscriptions on one repository: %d upload-pack", n, got)
	if got != 1 {
		t.Errorf("one webhook for %d Subscriptions on one repository: %d upload-packs, want 1", n, got)
	}
}
