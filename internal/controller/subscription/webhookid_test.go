package subscription

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestParseWebhookID(t *testing.T) {
	type want struct {
		target webhookTarget
		ok     bool
	}
	nn := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	cases := map[string]struct {
		id   string
		want want
	}{
		"Subscription":                 {id: "team-a.guestbook-x7k2p", want: want{webhookTarget{NamespacedName: nn("team-a", "guestbook-x7k2p")}, true}},
		"SubscriptionNameWithDots":     {id: "team-a.guestbook.v2", want: want{webhookTarget{NamespacedName: nn("team-a", "guestbook.v2")}, true}},
		"ProviderConfig":               {id: "providerconfig:team-a:default", want: want{webhookTarget{Kind: v1alpha1.ProviderConfigKind, NamespacedName: nn("team-a", "default")}, true}},
		"ProviderConfigNameWithDots":   {id: "providerconfig:team-a:hooks.v2", want: want{webhookTarget{Kind: v1alpha1.ProviderConfigKind, NamespacedName: nn("team-a", "hooks.v2")}, true}},
		"ClusterProviderConfig":        {id: "clusterproviderconfig:platform", want: want{webhookTarget{Kind: v1alpha1.ClusterProviderConfigKind, NamespacedName: nn("", "platform")}, true}},
		"ClusterProviderConfigDots":    {id: "clusterproviderconfig:platform.acme", want: want{webhookTarget{Kind: v1alpha1.ClusterProviderConfigKind, NamespacedName: nn("", "platform.acme")}, true}},
		"NamespaceNamedProviderConfig": {id: "providerconfig.default", want: want{webhookTarget{NamespacedName: nn("providerconfig", "default")}, true}},
		"ProviderConfigNoName":         {id: "providerconfig:team-a", want: want{ok: false}},
		"ProviderConfigEmptyName":      {id: "providerconfig:team-a:", want: want{ok: false}},
		"ProviderConfigNoNamespace":    {id: "providerconfig::default", want: want{ok: false}},
		"ProviderConfigExtraColon":     {id: "providerconfig:team-a:default:x", want: want{ok: false}},
		"ClusterProviderConfigNoName":  {id: "clusterproviderconfig:", want: want{ok: false}},
		"ClusterProviderConfigColon":   {id: "clusterproviderconfig:a:b", want: want{ok: false}},
		"UnknownConfigKind":            {id: "otherconfig:team-a:default", want: want{ok: false}},
		"SubscriptionNoName":           {id: "team-a.", want: want{ok: false}},
		"SubscriptionNoNamespace":      {id: ".guestbook", want: want{ok: false}},
		"NoSeparator":                  {id: "team-a", want: want{ok: false}},
		"Empty":                        {id: "", want: want{ok: false}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			target, ok := parseWebhookID(tc.id)
			if !ok {
				target = webhookTarget{}
			}
			if diff := cmp.Diff(tc.want, want{target, ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("parseWebhookID(%q): -want +got:\n%s", tc.id, diff)
			}
		})
	}
}

// The ids the controller makes read back as what they name.
func TestWebhookIDsRoundTrip(t *testing.T) {
	cases := map[string]struct {
		id   string
		want webhookTarget
	}{
		"Subscription":          {id: WebhookID("team-a", "guestbook.v2"), want: webhookTarget{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "guestbook.v2"}}},
		"ProviderConfig":        {id: ProviderConfigWebhookID("team-a", "hooks.v2"), want: webhookTarget{Kind: v1alpha1.ProviderConfigKind, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "hooks.v2"}}},
		"ClusterProviderConfig": {id: ClusterProviderConfigWebhookID("platform"), want: webhookTarget{Kind: v1alpha1.ClusterProviderConfigKind, NamespacedName: types.NamespacedName{Name: "platform"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := parseWebhookID(tc.id)
			if diff := cmp.Diff(tc.want, got); !ok || diff != "" {
				t.Errorf("parseWebhookID(%q): ok %t, -want +got:\n%s", tc.id, ok, diff)
			}
		})
	}
}

func TestConfigWebhookURLs(t *testing.T) {
	cases := map[string]struct {
		id, secret string
		want       []string
	}{
		"ProviderConfig": {
			id: ProviderConfigWebhookID("team-a", "default"), secret: "hooks",
			want: []string{
				"/hook/dockerhub/providerconfig:team-a:default/<hooks.dockerhub>",
				"/hook/ghcr/providerconfig:team-a:default",
				"/hook/harbor/providerconfig:team-a:default/<hooks.harbor>",
				"/hook/quay/providerconfig:team-a:default/<hooks.quay>",
				"/hook/distribution/providerconfig:team-a:default/<hooks.distribution>",
				"/hook/github/providerconfig:team-a:default",
				"/hook/gitlab/providerconfig:team-a:default",
				"/hook/gitea/providerconfig:team-a:default",
				"/hook/bitbucket/providerconfig:team-a:default",
			},
		},
		"ClusterProviderConfig": {
			id: ClusterProviderConfigWebhookID("platform"), secret: "crossplane-system/platform-hooks",
			want: []string{
				"/hook/dockerhub/clusterproviderconfig:platform/<crossplane-system/platform-hooks.dockerhub>",
				"/hook/ghcr/clusterproviderconfig:platform",
				"/hook/harbor/clusterproviderconfig:platform/<crossplane-system/platform-hooks.harbor>",
				"/hook/quay/clusterproviderconfig:platform/<crossplane-system/platform-hooks.quay>",
				"/hook/distribution/clusterproviderconfig:platform/<crossplane-system/platform-hooks.distribution>",
				"/hook/github/clusterproviderconfig:platform",
				"/hook/gitlab/clusterproviderconfig:platform",
				"/hook/gitea/clusterproviderconfig:platform",
				"/hook/bitbucket/clusterproviderconfig:platform",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ConfigWebhookURLs(tc.id, tc.secret)); diff != "" {
				t.Errorf("ConfigWebhookURLs: -want +got:\n%s", diff)
			}
		})
	}
}

func TestWebhookSecretOf(t *testing.T) {
	type want struct {
		ref types.NamespacedName
		ok  bool
	}
	ref := func(ns, name string) v1alpha1.WebhookConfig {
		return v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Namespace: ns, Name: name}}
	}
	cases := map[string]struct {
		kind, ns string
		spec     v1alpha1.WebhookConfig
		want     want
	}{
		"ProviderConfigOwnNamespace":      {kind: v1alpha1.ProviderConfigKind, ns: "team-a", spec: ref("", "hooks"), want: want{types.NamespacedName{Namespace: "team-a", Name: "hooks"}, true}},
		"ProviderConfigSameNamespace":     {kind: v1alpha1.ProviderConfigKind, ns: "team-a", spec: ref("team-a", "hooks"), want: want{types.NamespacedName{Namespace: "team-a", Name: "hooks"}, true}},
		"ProviderConfigOtherNamespace":    {kind: v1alpha1.ProviderConfigKind, ns: "team-a", spec: ref("team-b", "hooks"), want: want{}},
		"ClusterProviderConfig":           {kind: v1alpha1.ClusterProviderConfigKind, spec: ref("crossplane-system", "hooks"), want: want{types.NamespacedName{Namespace: "crossplane-system", Name: "hooks"}, true}},
		"ClusterProviderConfigNoNamepace": {kind: v1alpha1.ClusterProviderConfigKind, spec: ref("", "hooks"), want: want{}},
		"NoName":                          {kind: v1alpha1.ProviderConfigKind, ns: "team-a", spec: ref("", ""), want: want{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, ok := WebhookSecretOf(tc.kind, tc.ns, tc.spec)
			if diff := cmp.Diff(tc.want, want{r, ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("WebhookSecretOf: -want +got:\n%s", diff)
			}
		})
	}
}
