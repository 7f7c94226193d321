package subscription

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/webhook"
)

// These tests serve the provider's webhook receiver on a real HTTP server
// (127.0.0.1), reading a real cache of a real API server, and assert on the
// Subscriptions it hands to the wake channel. The Subscriptions are paused
// (crossplane.io/paused), so the suite's controller leaves them be: what
// is under test is which of them a config's webhook wakes.

const (
	hookRegistry = "registry.example.com"
	monorepo     = "https://git.example.com/acme/monorepo.git"
)

// hookNamespace creates a namespace with labels.
func hookNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := fmt.Sprintf("hook-%d", seq.Add(1))
	must(t, kube.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}))
	return ns
}

// A follower is a paused Subscription: the config it uses, the image
// repository it follows (none if empty), and the repository and source
// branch it follows commits on (none if repo is empty).
type follower struct {
	ns, name     string
	kind, config string
	image        string
	repo, branch string
}

func (f follower) create(t *testing.T) *v1alpha1.Subscription {
	t.Helper()
	s := &v1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.name, Annotations: map[string]string{"crossplane.io/paused": "true"}},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: f.kind, Name: f.config}},
			ForProvider: v1alpha1.SubscriptionParameters{
				Repo: v1alpha1.Repository{URL: monorepo, SourceBranch: "main"},
			},
		},
	}
	if f.image != "" {
		s.Spec.ForProvider.Images = []v1alpha1.ImageSubscription{{Repository: hookRegistry + "/" + f.image, Strategy: "SemVer", Constraint: ">=1.0.0"}}
	}
	if f.repo != "" {
		s.Spec.ForProvider.Repo = v1alpha1.Repository{URL: f.repo, SourceBranch: f.branch}
		s.Spec.ForProvider.Git = &v1alpha1.GitSubscription{}
	}
	must(t, kube.Create(context.Background(), s))
	return s
}

// webhookToken creates a labelled config webhook Secret with a new token,
// as the config controller does, and returns it.
func webhookToken(t *testing.T, ns, name, label string) *corev1.Secret {
	t.Helper()
	token, err := webhook.GenerateToken()
	must(t, err)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: WebhookSecretData([]byte(token))}
	if label != "" {
		sec.SetLabels(map[string]string{WebhookSecretLabel: label})
	}
	must(t, kube.Create(context.Background(), sec))
	return sec
}

func hookedProviderConfig(t *testing.T, ns, name string, w *v1alpha1.WebhookConfig) *v1alpha1.ProviderConfig {
	t.Helper()
	pc := &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.ProviderConfigSpec{Webhook: w}}
	must(t, kube.Create(context.Background(), pc))
	return pc
}

func secretRef(name string) *v1alpha1.WebhookConfig {
	return &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Name: name}}
}

// cached waits until the cache holds every object, with the labels it has
// now, so that what the receiver reads is what the test wrote. (Not by
// resourceVersion: the suite's controller writes the paused Subscriptions'
// status.)
func cached(t *testing.T, c cache.Cache, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		eventually(t, "cache holds "+o.GetNamespace()+"/"+o.GetName(), func() (bool, string) {
			got := o.DeepCopyObject().(client.Object)
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(o), got); err != nil {
				return false, err.Error()
			}
			return cmp.Equal(o.GetLabels(), got.GetLabels()), fmt.Sprint(got.GetLabels())
		})
	}
}

// hookServer is the receiver on 127.0.0.1, waking into its own channel.
type hookServer struct {
	t     *testing.T
	url   string
	woken chan event.GenericEvent
}

func newHookServer(t *testing.T, c cache.Cache, capacity int) *hookServer {
	t.Helper()
	woken := make(chan event.GenericEvent, capacity)
	srv := httptest.NewServer(newReceiver(t, c, woken, webhook.NewWakeLimiter(0, 1)))
	t.Cleanup(srv.Close)
	return &hookServer{t: t, url: srv.URL, woken: woken}
}

// imagePush is a distribution registry's push notification for
// registry.example.com/<repository>:1.0.0.
func imagePush(repository string) string {
	return fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":"1.0.0"},"request":{"host":%q}}]}`, repository, hookRegistry)
}

// gitPush is a GitHub push to branch of repo.
func gitPush(repo, branch string) string {
	return fmt.Sprintf(`{"ref":"refs/heads/%s","after":"0123456789abcdef0123456789abcdef01234567","repository":{"clone_url":%q}}`, branch, repo)
}

// distribution posts a distribution notification to id's path with key,
// and returns the whole answer but its Date.
func (h *hookServer) distribution(id, key, body string) string {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+webhook.Path(webhook.Distribution, id, key), strings.NewReader(body))
	must(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	return h.do(req)
}

// github posts a GitHub push to id's path, signed with key.
func (h *hookServer) github(id, key, body string) string {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+webhook.Path(webhook.GitHub, id, ""), strings.NewReader(body))
	must(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(webhook.Sign([]byte(key), []byte(body))))
	return h.do(req)
}

func (h *hookServer) do(req *http.Request) string {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(h.t, err)
	defer resp.Body.Close()
	resp.Header.Del("Date")
	b, err := httputil.DumpResponse(resp, true)
	must(h.t, err)
	return string(b)
}

// drain returns the <namespace>/<name> of every Subscription woken so far,
// sorted. The receiver hands wakes over before it answers, so after a 200
// they are all in the channel already.
func (h *hookServer) drain() []string {
	var got []string
	for {
		select {
		case e := <-h.woken:
			got = append(got, client.ObjectKeyFromObject(e.Object).String())
		default:
			sort.Strings(got)
			return got
		}
	}
}

func key(sec *corev1.Secret, k webhook.Kind) string { return string(sec.Data[string(k)]) }

func names(ns string, n ...string) []string {
	out := make([]string, len(n))
	for i, s := range n {
		out[i] = ns + "/" + s
	}
	return out
}

func sorted(s ...[]string) []string {
	var out []string
	for _, x := range s {
		out = append(out, x...)
	}
	sort.Strings(out)
	return out
}

const ok200 = "HTTP/1.1 200 OK"

// One event on a ProviderConfig's webhook wakes exactly the Subscriptions
// of its namespace that use that ProviderConfig and follow what the event
// names: across several Tracks, none following another image or branch or
// repository, none using another ProviderConfig or a ClusterProviderConfig,
// none in another namespace (where a ProviderConfig of the same name
// exists).
func TestProviderConfigWebhookWakesTheSubscriptionsItConcerns(t *testing.T) {
	ns, other := hookNamespace(t, nil), hookNamespace(t, nil)
	const otherRepo = "https://git.example.com/acme/other.git"
	var objs []client.Object
	for _, f := range []follower{
		{ns: ns, name: "guestbook", kind: "ProviderConfig", config: "hooked", image: "acme/guestbook", repo: monorepo, branch: "main"},
		{ns: ns, name: "guestbook-canary", kind: "ProviderConfig", config: "hooked", image: "acme/guestbook"},
		{ns: ns, name: "frontend", kind: "ProviderConfig", config: "hooked", image: "acme/frontend", repo: monorepo, branch: "main"},
		{ns: ns, name: "frontend-release", kind: "ProviderConfig", config: "hooked", image: "acme/frontend", repo: monorepo, branch: "release"},
		{ns: ns, name: "elsewhere", kind: "ProviderConfig", config: "hooked", image: "acme/other", repo: otherRepo, branch: "main"},
		{ns: ns, name: "other-config", kind: "ProviderConfig", config: "default", image: "acme/guestbook", repo: monorepo, branch: "main"},
		{ns: ns, name: "cluster-config", kind: "ClusterProviderConfig", config: "hooked", image: "acme/guestbook", repo: monorepo, branch: "main"},
		{ns: other, name: "guestbook", kind: "ProviderConfig", config: "hooked", image: "acme/guestbook", repo: monorepo, branch: "main"},
	} {
		objs = append(objs, f.create(t))
	}
	sec := webhookToken(t, ns, "hooks", WebhookSecretLabelValueProviderConfig)
	otherSec := webhookToken(t, other, "hooks", WebhookSecretLabelValueProviderConfig)
	objs = append(objs, sec, otherSec,
		hookedProviderConfig(t, ns, "hooked", secretRef("hooks")), hookedProviderConfig(t, ns, "default", nil),
		hookedProviderConfig(t, other, "hooked", secretRef("hooks")))

	c, _ := webhookCache(t)
	cached(t, c, objs...)
	h := newHookServer(t, c, 64)
	id := ProviderConfigWebhookID(ns, "hooked")

	if got := h.distribution(id, key(sec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(ns, "guestbook", "guestbook-canary"), h.drain()); diff != "" {
		t.Errorf("an acme/guestbook push woke -want +got:\n%s", diff)
	}

	if got := h.github(id, key(sec, webhook.GitHub), gitPush(monorepo, "main")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("git push: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(ns, "frontend", "guestbook"), h.drain()); diff != "" {
		t.Errorf("a push to the monorepo's main woke -want +got:\n%s", diff)
	}

	if got := h.github(id, key(sec, webhook.GitHub), gitPush(monorepo, "release")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("git push: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(ns, "frontend-release"), h.drain()); diff != "" {
		t.Errorf("a push to the monorepo's release woke -want +got:\n%s", diff)
	}

	// The other namespace's ProviderConfig of the same name has its own
	// webhook, and wakes its own.
	if got := h.distribution(ProviderConfigWebhookID(other, "hooked"), key(otherSec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(other, "guestbook"), h.drain()); diff != "" {
		t.Errorf("an acme/guestbook push on %s's webhook woke -want +got:\n%s", other, diff)
	}
}

// A ClusterProviderConfig's webhook wakes the Subscriptions that use it in
// the namespaces its spec.namespaceSelector selects, as they are labelled
// now, and no others; one without a selector wakes none.
func TestClusterProviderConfigWebhookWakesSelectedNamespaces(t *testing.T) {
	n := seq.Add(1)
	team := map[string]string{"k8sta.io/test-team": fmt.Sprint(n)}
	a, b, unselected := hookNamespace(t, team), hookNamespace(t, team), hookNamespace(t, nil)
	platform, closed := fmt.Sprintf("platform-%d", n), fmt.Sprintf("closed-%d", n)
	var objs []client.Object
	for _, f := range []follower{
		{ns: a, name: "guestbook", kind: "ClusterProviderConfig", config: platform, image: "acme/guestbook"},
		{ns: a, name: "frontend", kind: "ClusterProviderConfig", config: platform, image: "acme/frontend"},
		{ns: a, name: "own-config", kind: "ProviderConfig", config: platform, image: "acme/guestbook"},
		{ns: a, name: "closed", kind: "ClusterProviderConfig", config: closed, image: "acme/guestbook"},
		{ns: b, name: "guestbook", kind: "ClusterProviderConfig", config: platform, image: "acme/guestbook"},
		{ns: unselected, name: "guestbook", kind: "ClusterProviderConfig", config: platform, image: "acme/guestbook"},
	} {
		objs = append(objs, f.create(t))
	}
	sec := webhookToken(t, a, "platform-hooks", WebhookSecretLabelValueProviderConfig)
	closedSec := webhookToken(t, a, "closed-hooks", WebhookSecretLabelValueProviderConfig)
	for _, pc := range []*v1alpha1.ClusterProviderConfig{
		{ObjectMeta: metav1.ObjectMeta{Name: platform}, Spec: v1alpha1.ClusterProviderConfigSpec{
			NamespaceSelector:  &metav1.LabelSelector{MatchLabels: team},
			ProviderConfigSpec: v1alpha1.ProviderConfigSpec{Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: a, Name: "platform-hooks"}}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: closed}, Spec: v1alpha1.ClusterProviderConfigSpec{
			ProviderConfigSpec: v1alpha1.ProviderConfigSpec{Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: a, Name: "closed-hooks"}}},
		}},
	} {
		must(t, kube.Create(context.Background(), pc))
		objs = append(objs, pc)
	}
	// A ProviderConfig of the ClusterProviderConfig's name, in a selected
	// namespace: its Subscription is not the ClusterProviderConfig's.
	objs = append(objs, sec, closedSec, hookedProviderConfig(t, a, platform, nil))
	for _, ns := range []string{a, b, unselected} {
		o := &corev1.Namespace{}
		must(t, kube.Get(context.Background(), client.ObjectKey{Name: ns}, o))
		objs = append(objs, o)
	}

	c, _ := webhookCache(t)
	cached(t, c, objs...)
	h := newHookServer(t, c, 64)
	id := ClusterProviderConfigWebhookID(platform)

	if got := h.distribution(id, key(sec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if diff := cmp.Diff(sorted(names(a, "guestbook"), names(b, "guestbook")), h.drain()); diff != "" {
		t.Errorf("an acme/guestbook push woke -want +got:\n%s", diff)
	}

	// Selected now: the next event wakes its Subscription too.
	var ns *corev1.Namespace
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns = &corev1.Namespace{}
		must(t, kube.Get(context.Background(), client.ObjectKey{Name: unselected}, ns))
		ns.SetLabels(team)
		return kube.Update(context.Background(), ns)
	}))
	cached(t, c, ns)
	if got := h.distribution(id, key(sec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if diff := cmp.Diff(sorted(names(a, "guestbook"), names(b, "guestbook"), names(unselected, "guestbook")), h.drain()); diff != "" {
		t.Errorf("an acme/guestbook push, %s selected, woke -want +got:\n%s", unselected, diff)
	}

	// Authenticated, but a ClusterProviderConfig without a selector serves
	// no namespace.
	if got := h.distribution(ClusterProviderConfigWebhookID(closed), key(closedSec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("a ClusterProviderConfig without a namespaceSelector woke %v, want none", got)
	}
}

// Every failed authentication on a config's webhook gets the same 401,
// byte for byte, whatever failed: a bad signature, a wrong key, an unknown
// namespace or config, a config without a webhook, a Secret that is not
// labelled for it, another config's key, a Secret in another namespace, a
// malformed id. None wakes anything.
func TestConfigWebhookProbesAnswerIdentically(t *testing.T) {
	ns, other := hookNamespace(t, nil), hookNamespace(t, nil)
	var objs []client.Object
	objs = append(objs, follower{ns: ns, name: "guestbook", kind: "ProviderConfig", config: "hooked", image: "acme/guestbook", repo: monorepo, branch: "main"}.create(t))
	sec := webhookToken(t, ns, "hooks", WebhookSecretLabelValueProviderConfig)
	unlabelled := webhookToken(t, ns, "unlabelled", "")
	subscriptionLabelled := webhookToken(t, ns, "subscription-labelled", WebhookSecretLabelValue)
	otherSec := webhookToken(t, other, "hooks", WebhookSecretLabelValueProviderConfig)
	// The unlabelled Secret never reaches the receiver's cache.
	objs = append(objs, sec, subscriptionLabelled, otherSec,
		hookedProviderConfig(t, ns, "hooked", secretRef("hooks")),
		hookedProviderConfig(t, ns, "no-webhook", nil),
		hookedProviderConfig(t, ns, "unlabelled", secretRef("unlabelled")),
		hookedProviderConfig(t, ns, "subscription-labelled", secretRef("subscription-labelled")),
		hookedProviderConfig(t, ns, "cross-namespace", &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: other, Name: "hooks"}}),
		hookedProviderConfig(t, other, "hooked", secretRef("hooks")))
	c, _ := webhookCache(t)
	cached(t, c, objs...)
	h := newHookServer(t, c, 64)
	pc := func(name string) string { return ProviderConfigWebhookID(ns, name) }
	image, push := imagePush("acme/guestbook"), gitPush(monorepo, "main")

	want := h.distribution(pc("missing"), key(sec, webhook.Distribution), image)
	if !strings.HasPrefix(want, "HTTP/1.1 401 Unauthorized") {
		t.Fatalf("an unknown ProviderConfig gets %q, want a 401", want)
	}
	for name, got := range map[string]string{
		"WrongKey":                 h.distribution(pc("hooked"), "wrong-key-wrong-key-wrong-key-wrong-key-0123", image),
		"RootToken":                h.distribution(pc("hooked"), string(sec.Data[WebhookSecretKey]), image),
		"OtherKindsKey":            h.distribution(pc("hooked"), key(sec, webhook.Quay), image),
		"UnknownNamespace":         h.distribution(ProviderConfigWebhookID("no-such-namespace", "hooked"), key(sec, webhook.Distribution), image),
		"OtherNamespacesKey":       h.distribution(pc("hooked"), key(otherSec, webhook.Distribution), image),
		"NoWebhook":                h.distribution(pc("no-webhook"), key(sec, webhook.Distribution), image),
		"UnlabelledSecret":         h.distribution(pc("unlabelled"), key(unlabelled, webhook.Distribution), image),
		"SubscriptionSecret":       h.distribution(pc("subscription-labelled"), key(subscriptionLabelled, webhook.Distribution), image),
		"SecretInAnotherNamespace": h.distribution(pc("cross-namespace"), key(otherSec, webhook.Distribution), image),
		"UnknownClusterConfig":     h.distribution(ClusterProviderConfigWebhookID("no-such-config"), key(sec, webhook.Distribution), image),
		"NoName":                   h.distribution("providerconfig:"+ns, key(sec, webhook.Distribution), image),
		"NoNamespace":              h.distribution("providerconfig::hooked", key(sec, webhook.Distribution), image),
		"ExtraColon":               h.distribution(pc("hooked")+":x", key(sec, webhook.Distribution), image),
		"EmptyClusterConfig":       h.distribution("clusterproviderconfig:", key(sec, webhook.Distribution), image),
		"BadSignature":             h.github(pc("hooked"), "wrong-key-wrong-key-wrong-key-wrong-key-0123", push),
		"SignedWithOtherKind":      h.github(pc("hooked"), key(sec, webhook.Gitea), push),
		"SignedUnknownNamespace":   h.github(ProviderConfigWebhookID("no-such-namespace", "hooked"), key(sec, webhook.GitHub), push),
		"SignedUnknownConfig":      h.github(pc("missing"), key(sec, webhook.GitHub), push),
	} {
		if got != want {
			t.Errorf("%s: answer differs from an unknown ProviderConfig's:\n-unknown:\n%s\n+%s:\n%s", name, want, name, got)
		}
	}
	if got := h.drain(); len(got) != 0 {
		t.Errorf("probes woke %v, want none", got)
	}
	if got := h.github(pc("hooked"), key(sec, webhook.GitHub), push); !strings.HasPrefix(got, ok200) {
		t.Errorf("the right key: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(ns, "guestbook"), h.drain()); diff != "" {
		t.Errorf("the right key woke -want +got:\n%s", diff)
	}
}

// One event that concerns more Subscriptions than the wake channel holds
// loses none of them: the sender was told it succeeded. The channel here
// holds one, and is read only once the receiver has answered.
func TestConfigWebhookWakesMoreSubscriptionsThanTheChannelHolds(t *testing.T) {
	const n = 150
	ns := hookNamespace(t, nil)
	var objs []client.Object
	var want []string
	for i := range n {
		name := fmt.Sprintf("track-%03d", i)
		objs = append(objs, follower{ns: ns, name: name, kind: "ProviderConfig", config: "hooked", image: "acme/guestbook"}.create(t))
		want = append(want, ns+"/"+name)
	}
	sec := webhookToken(t, ns, "hooks", WebhookSecretLabelValueProviderConfig)
	objs = append(objs, sec, hookedProviderConfig(t, ns, "hooked", secretRef("hooks")))
	c, _ := webhookCache(t)
	cached(t, c, objs...)
	h := newHookServer(t, c, 1)

	if got := h.distribution(ProviderConfigWebhookID(ns, "hooked"), key(sec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case e := <-h.woken:
			got = append(got, client.ObjectKeyFromObject(e.Object).String())
		case <-timeout:
			t.Fatalf("woken %d of %d Subscriptions", len(got), n)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("woken -want +got:\n%s", diff)
	}
}

// A ClusterProviderConfig's Secret that a ProviderConfig also names is
// refused with the uniform 401: keys are not bound to a config, so the
// tenant owning the ProviderConfig (and the namespace of the Secret) would
// hold keys that wake every namespace the ClusterProviderConfig selects.
func TestClusterProviderConfigWebhookRefusesASecretAProviderConfigNames(t *testing.T) {
	n := seq.Add(1)
	team := map[string]string{"k8sta.io/test-team": fmt.Sprint(n)}
	tenant, other := hookNamespace(t, team), hookNamespace(t, team)
	platform := fmt.Sprintf("platform-%d", n)
	objs := []client.Object{
		follower{ns: other, name: "guestbook", kind: "ClusterProviderConfig", config: platform, image: "acme/guestbook"}.create(t),
	}
	sec := webhookToken(t, tenant, "hooks", WebhookSecretLabelValueProviderConfig)
	cpc := &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: platform}, Spec: v1alpha1.ClusterProviderConfigSpec{
		NamespaceSelector:  &metav1.LabelSelector{MatchLabels: team},
		ProviderConfigSpec: v1alpha1.ProviderConfigSpec{Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: tenant, Name: "hooks"}}},
	}}
	must(t, kube.Create(context.Background(), cpc))
	objs = append(objs, sec, cpc)
	for _, ns := range []string{tenant, other} {
		o := &corev1.Namespace{}
		must(t, kube.Get(context.Background(), client.ObjectKey{Name: ns}, o))
		objs = append(objs, o)
	}
	c, _ := webhookCache(t)
	cached(t, c, objs...)
	h := newHookServer(t, c, 8)
	id := ClusterProviderConfigWebhookID(platform)
	if got := h.distribution(id, key(sec, webhook.Distribution), imagePush("acme/guestbook")); !strings.HasPrefix(got, ok200) {
		t.Fatalf("image push: %q, want a 200", got)
	}
	if diff := cmp.Diff(names(other, "guestbook"), h.drain()); diff != "" {
		t.Errorf("an acme/guestbook push woke -want +got:\n%s", diff)
	}

	cached(t, c, hookedProviderConfig(t, tenant, "mine", secretRef("hooks")))
	got := h.distribution(id, key(sec, webhook.Distribution), imagePush("acme/guestbook"))
	if !strings.HasPrefix(got, "HTTP/1.1 401 Unauthorized") {
		t.Errorf("a push with a key a ProviderConfig shares: %q, want a 401", got)
	}
	if woken := h.drain(); len(woken) != 0 {
		t.Errorf("a push with a key a ProviderConfig shares woke %v", woken)
	}
}
