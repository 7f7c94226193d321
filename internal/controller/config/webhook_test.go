package config

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/webhook"
)

// wantKeys is what a webhook Secret of root token token holds: the token,
// and each kind of sender's key under the kind's name.
func wantKeys(token string) map[string][]byte {
	d := map[string][]byte{"token": []byte(token)}
	for _, k := range webhook.Kinds() {
		d[string(k)] = []byte(webhook.Key([]byte(token), k))
	}
	return d
}

func providerConfig(t *testing.T, ns, secretNamespace, secret string) client.ObjectKey {
	t.Helper()
	pc := &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"},
		Spec:       v1alpha1.ProviderConfigSpec{Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: secretNamespace, Name: secret}}},
	}
	must(t, kube.Create(context.Background(), pc))
	return client.ObjectKeyFromObject(pc)
}

func getPC(t *testing.T, key client.ObjectKey) *v1alpha1.ProviderConfig {
	t.Helper()
	pc := &v1alpha1.ProviderConfig{}
	must(t, kube.Get(context.Background(), key, pc))
	return pc
}

func getSecret(t *testing.T, key client.ObjectKey) *corev1.Secret {
	t.Helper()
	sec := &corev1.Secret{}
	must(t, kube.Get(context.Background(), key, sec))
	return sec
}

// webhookReady waits for the config's WebhookReady condition to have the
// status and reason, and returns it.
func webhookReady(t *testing.T, get func() xpv2.ConditionedStatus, status corev1.ConditionStatus, reason xpv2.ConditionReason) xpv2.Condition {
	t.Helper()
	var c xpv2.Condition
	eventually(t, fmt.Sprintf("WebhookReady %s (%s)", status, reason), func() (bool, string) {
		cs := get()
		c = cs.GetCondition(v1alpha1.TypeWebhookReady)
		return c.Status == status && c.Reason == reason, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
	})
	return c
}

func pcConditions(t *testing.T, key client.ObjectKey) func() xpv2.ConditionedStatus {
	return func() xpv2.ConditionedStatus { return getPC(t, key).Status.ConditionedStatus }
}

// noSecretIn fails t if the object, as JSON, holds any value of data.
func noSecretIn(t *testing.T, what string, o any, data map[string][]byte) {
	t.Helper()
	b, err := json.Marshal(o)
	must(t, err)
	for k, v := range data {
		if len(v) > 0 && strings.Contains(string(b), string(v)) {
			t.Errorf("%s shows the Secret's %q value", what, k)
		}
	}
}

// A ProviderConfig naming a Secret that does not exist gets one: labelled
// for the receiver's cache, a long random token, each sender's key derived
// from it. Its status lists one path per kind of sender, the path-token
// senders' key shown as the Secret key to read, and holds no secret.
func TestWebhookSecretCreatedWhenMissing(t *testing.T) {
	ns := namespace(t)
	key := providerConfig(t, ns, "", "hooks")
	c := webhookReady(t, pcConditions(t, key), corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)
	if !strings.Contains(c.Message, "Secret "+ns+"/hooks") {
		t.Errorf("WebhookReady message %q does not say where the keys are", c.Message)
	}

	sec := getSecret(t, types.NamespacedName{Namespace: ns, Name: "hooks"})
	if diff := cmp.Diff(map[string]string{"k8sta.io/webhook": "providerconfig"}, sec.GetLabels()); diff != "" {
		t.Errorf("labels: -want +got:\n%s", diff)
	}
	token := string(sec.Data["token"])
	if len(token) < 43 {
		t.Fatalf("token is %d characters, want a long random one", len(token))
	}
	if diff := cmp.Diff(wantKeys(token), sec.Data); diff != "" {
		t.Errorf("Secret data: -want +got:\n%s", diff)
	}
	if refs := sec.GetOwnerReferences(); len(refs) != 0 {
		t.Errorf("the Secret is owned by %v: deleting the config would take every sender's key with it", refs)
	}

	id := "providerconfig:" + ns + ":default"
	want := []string{
		"/hook/dockerhub/" + id + "/<hooks.dockerhub>",
		"/hook/ghcr/" + id,
		"/hook/harbor/" + id + "/<hooks.harbor>",
		"/hook/quay/" + id + "/<hooks.quay>",
		"/hook/distribution/" + id + "/<hooks.distribution>",
		"/hook/github/" + id,
		"/hook/gitlab/" + id,
		"/hook/gitea/" + id,
		"/hook/bitbucket/" + id,
	}
	pc := getPC(t, key)
	if pc.Status.Webhook == nil {
		t.Fatal("status.webhook is not set")
	}
	if diff := cmp.Diff(want, pc.Status.Webhook.URLs); diff != "" {
		t.Errorf("status.webhook.urls: -want +got:\n%s", diff)
	}
	noSecretIn(t, "the ProviderConfig", pc, sec.Data)
}

// A Secret someone made, without the label, is never touched: the
// ProviderConfig's condition says why its webhook is refused and how to fix
// it. Once labelled, its token is used and each sender's key is written
// next to it.
func TestWebhookUnlabelledSecretLeftAlone(t *testing.T) {
	ns := namespace(t)
	theirs := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"},
		Data:       map[string][]byte{"token": []byte("their-own-token-their-own-token-their-own-token-0"), "other": []byte("kept")},
	}
	must(t, kube.Create(context.Background(), theirs))
	before := getSecret(t, client.ObjectKeyFromObject(theirs))

	key := providerConfig(t, ns, "", "mine")
	c := webhookReady(t, pcConditions(t, key), corev1.ConditionFalse, v1alpha1.ReasonWebhookSecretNotOurs)
	for _, want := range []string{
		"Secret " + ns + "/mine (spec.webhook.secretRef) exists and is not labelled k8sta.io/webhook=providerconfig",
		"kubectl label secret -n " + ns + " mine k8sta.io/webhook=providerconfig",
		`"token" key`,
		"or name another Secret in spec.webhook.secretRef",
	} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("WebhookReady message %q does not say %q", c.Message, want)
		}
	}
	noSecretIn(t, "the ProviderConfig", getPC(t, key), theirs.Data)

	after := getSecret(t, client.ObjectKeyFromObject(theirs))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the provider changed an unlabelled Secret: -before +after:\n%s", diff)
	}

	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec := getSecret(t, client.ObjectKeyFromObject(theirs))
		sec.SetLabels(map[string]string{"k8sta.io/webhook": "providerconfig"})
		return kube.Update(context.Background(), sec)
	}))
	webhookReady(t, pcConditions(t, key), corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)
	want := wantKeys(string(theirs.Data["token"]))
	want["other"] = []byte("kept")
	if diff := cmp.Diff(want, getSecret(t, client.ObjectKeyFromObject(theirs)).Data); diff != "" {
		t.Errorf("labelled Secret: -want +got:\n%s", diff)
	}
}

// A user rotates every sender's key by changing the token: the derived keys
// follow it.
func TestWebhookTokenRotation(t *testing.T) {
	ns := namespace(t)
	key := providerConfig(t, ns, "", "hooks")
	webhookReady(t, pcConditions(t, key), corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)
	secKey := types.NamespacedName{Namespace: ns, Name: "hooks"}
	old := getSecret(t, secKey)

	rotated := "rotated-token-rotated-token-rotated-token-rotated-0"
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec := getSecret(t, secKey)
		sec.Data["token"] = []byte(rotated)
		return kube.Update(context.Background(), sec)
	}))
	eventually(t, "the keys derived from the new token", func() (bool, string) {
		got := getSecret(t, secKey).Data
		return cmp.Diff(wantKeys(rotated), got) == "", cmp.Diff(wantKeys(rotated), got)
	})
	if string(old.Data["github"]) == string(getSecret(t, secKey).Data["github"]) {
		t.Error("the github key did not change with the token")
	}
}

// A token too short to be a secret is refused, and the condition says how
// long it must be, without showing it.
func TestWebhookShortTokenRefused(t *testing.T) {
	ns := namespace(t)
	short := "abc123xyz"
	must(t, kube.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hooks", Labels: map[string]string{"k8sta.io/webhook": "providerconfig"}},
		Data:       map[string][]byte{"token": []byte(short)},
	}))
	key := providerConfig(t, ns, "", "hooks")
	c := webhookReady(t, pcConditions(t, key), corev1.ConditionFalse, v1alpha1.ReasonWebhookSecretInvalid)
	if !strings.Contains(c.Message, `"token" key is 9 bytes, under the 32`) || strings.Contains(c.Message, short) {
		t.Errorf("WebhookReady message %q: want the token's length and the minimum, never the token", c.Message)
	}
}

// A ProviderConfig may not name a Secret in another namespace: nothing is
// created there, and the condition names the field.
func TestWebhookSecretInAnotherNamespaceRefused(t *testing.T) {
	ns, other := namespace(t), namespace(t)
	key := providerConfig(t, ns, other, "hooks")
	c := webhookReady(t, pcConditions(t, key), corev1.ConditionFalse, v1alpha1.ReasonWebhookSecretRefError)
	if !strings.Contains(c.Message, fmt.Sprintf("spec.webhook.secretRef.namespace %q is another namespace", other)) {
		t.Errorf("WebhookReady message %q does not name the field", c.Message)
	}
	if err := kube.Get(context.Background(), types.NamespacedName{Namespace: other, Name: "hooks"}, &corev1.Secret{}); !kerrors.IsNotFound(err) {
		t.Errorf("a Secret in namespace %s: %v, want none", other, err)
	}
}

// A ClusterProviderConfig's webhook Secret is created where it says, and
// its paths name the Secret with its namespace.
func TestClusterProviderConfigWebhook(t *testing.T) {
	ns := namespace(t)
	name := "platform-" + ns
	pc := &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ClusterProviderConfigSpec{ProviderConfigSpec: v1alpha1.ProviderConfigSpec{
			Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: ns, Name: "platform-hooks"}},
		}},
	}
	must(t, kube.Create(context.Background(), pc))
	get := func() *v1alpha1.ClusterProviderConfig {
		got := &v1alpha1.ClusterProviderConfig{}
		must(t, kube.Get(context.Background(), client.ObjectKeyFromObject(pc), got))
		return got
	}
	webhookReady(t, func() xpv2.ConditionedStatus { return get().Status.ConditionedStatus }, corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)
	sec := getSecret(t, types.NamespacedName{Namespace: ns, Name: "platform-hooks"})
	if diff := cmp.Diff(wantKeys(string(sec.Data["token"])), sec.Data); diff != "" {
		t.Errorf("Secret data: -want +got:\n%s", diff)
	}
	got := get()
	if got.Status.Webhook == nil {
		t.Fatal("status.webhook is not set")
	}
	id := "clusterproviderconfig:" + name
	if diff := cmp.Diff([]string{
		"/hook/dockerhub/" + id + "/<" + ns + "/platform-hooks.dockerhub>",
		"/hook/ghcr/" + id,
		"/hook/harbor/" + id + "/<" + ns + "/platform-hooks.harbor>",
		"/hook/quay/" + id + "/<" + ns + "/platform-hooks.quay>",
		"/hook/distribution/" + id + "/<" + ns + "/platform-hooks.distribution>",
		"/hook/github/" + id,
		"/hook/gitlab/" + id,
		"/hook/gitea/" + id,
		"/hook/bitbucket/" + id,
	}, got.Status.Webhook.URLs); diff != "" {
		t.Errorf("status.webhook.urls: -want +got:\n%s", diff)
	}
	noSecretIn(t, "the ClusterProviderConfig", got, sec.Data)
}

// A ClusterProviderConfig whose Secret a ProviderConfig also names is not
// ready, and says why and what to do; once no ProviderConfig names it, it
// is ready again. Both follow the ProviderConfig, by watch.
func TestClusterProviderConfigWebhookSecretSharedWithAProviderConfig(t *testing.T) {
	ns := namespace(t)
	name := "shared-" + ns
	cpc := &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ClusterProviderConfigSpec{ProviderConfigSpec: v1alpha1.ProviderConfigSpec{
			Webhook: &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: ns, Name: "hooks"}},
		}},
	}
	must(t, kube.Create(context.Background(), cpc))
	conditions := func() xpv2.ConditionedStatus {
		got := &v1alpha1.ClusterProviderConfig{}
		must(t, kube.Get(context.Background(), client.ObjectKeyFromObject(cpc), got))
		return got.Status.ConditionedStatus
	}
	webhookReady(t, conditions, corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)

	key := providerConfig(t, ns, "", "hooks")
	c := webhookReady(t, conditions, corev1.ConditionFalse, v1alpha1.ReasonWebhookSecretRefError)
	for _, want := range []string{
		"Secret " + ns + "/hooks (spec.webhook.secretRef) is also the webhook Secret of ProviderConfig " + key.String(),
		"name a Secret in a namespace tenants cannot write",
	} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("WebhookReady message %q does not say %q", c.Message, want)
		}
	}

	must(t, kube.Delete(context.Background(), getPC(t, key)))
	webhookReady(t, conditions, corev1.ConditionTrue, v1alpha1.ReasonWebhookReady)
}
