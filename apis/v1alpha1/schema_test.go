package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// These tests create objects against a real kube-apiserver serving the
// provider's generated CRDs (package/crds): the validation is the
// apiserver's own.

var env *kubeenv.Environment

func TestMain(m *testing.M) { kubeenv.Main(m, &env, nil) }

const ns = "schema"

func kubeClient(t *testing.T) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.SchemeBuilder.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(env.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	return c
}

func subscription(mutate func(*v1alpha1.SubscriptionParameters)) client.Object {
	s := &v1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "s-"},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
			ForProvider: v1alpha1.SubscriptionParameters{
				Repo:     v1alpha1.Repository{URL: "https://github.com/acme/guestbook-config.git", SourceBranch: "main"},
				Images:   []v1alpha1.ImageSubscription{{Repository: "ghcr.io/acme/guestbook", Strategy: "SemVer", Constraint: ">=1.0.0"}},
				Git:      &v1alpha1.GitSubscription{},
				Overlays: []v1alpha1.StationOverlay{{Station: "dev", Overlay: "overlays/dev"}, {Station: "prod.us.east", Overlay: "overlays/prod-us-east"}},
				Interval: &metav1.Duration{Duration: 300_000_000_000},
			},
		},
	}
	if mutate != nil {
		mutate(&s.Spec.ForProvider)
	}
	return s
}

func ticket(mutate func(*v1alpha1.TicketParameters)) client.Object {
	t := &v1alpha1.Ticket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "t-"},
		Spec: v1alpha1.TicketSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
			ForProvider: v1alpha1.TicketParameters{
				Track:   "guestbook",
				Station: "prod.us.east",
				Change: v1alpha1.Change{
					ID: v1alpha1.ChangeID("0123456789abcdef0123456789abcdef01234567", nil), Commit: "0123456789abcdef0123456789abcdef01234567",
					Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.3", Digest: "sha256:" + strings.Repeat("ab", 32)}},
				},
				Repo:         v1alpha1.Repository{URL: "git@github.com:acme/guestbook-config.git", SourceBranch: "main"},
				Overlay:      "overlays/prod",
				Branch:       "env/prod.us.east",
				Applications: []v1alpha1.ApplicationReference{{Name: "guestbook-prod", Namespace: "argocd"}},
			},
		},
	}
	if mutate != nil {
		mutate(&t.Spec.ForProvider)
	}
	return t
}

func providerConfig(mutate func(*v1alpha1.ProviderConfigSpec)) client.Object {
	pc := &v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "pc-"},
		Spec: v1alpha1.ProviderConfigSpec{
			Git:        &v1alpha1.GitCredentials{SecretRef: v1alpha1.SecretReference{Name: "git-credentials"}},
			Registries: []v1alpha1.RegistryCredentials{{SecretRef: v1alpha1.SecretReference{Name: "pull-secret"}}},
		},
	}
	if mutate != nil {
		mutate(&pc.Spec)
	}
	return pc
}

func clusterProviderConfig(mutate func(*v1alpha1.ProviderConfigSpec)) client.Object {
	pc := &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cpc-"},
		Spec: v1alpha1.ClusterProviderConfigSpec{ProviderConfigSpec: v1alpha1.ProviderConfigSpec{
			Git:        &v1alpha1.GitCredentials{SecretRef: v1alpha1.SecretReference{Name: "git-credentials", Namespace: "platform"}},
			Registries: []v1alpha1.RegistryCredentials{{SecretRef: v1alpha1.SecretReference{Name: "pull-secret", Namespace: "platform"}}},
			ArgoCD:     &v1alpha1.ArgoCDControlPlane{KubeconfigSecretRef: &v1alpha1.SecretReference{Name: "argocd", Namespace: "platform"}},
		}},
	}
	if mutate != nil {
		mutate(&pc.Spec.ProviderConfigSpec)
	}
	return pc
}

// clusterProviderConfigSelecting is clusterProviderConfig(nil) with
// spec.namespaceSelector sel.
func clusterProviderConfigSelecting(sel *metav1.LabelSelector) client.Object {
	pc := clusterProviderConfig(nil).(*v1alpha1.ClusterProviderConfig)
	pc.Spec.NamespaceSelector = sel
	return pc
}

// labels returns n labels, k0: v ... k<n-1>: v.
func labels(n int) map[string]string {
	l := make(map[string]string, n)
	for i := range n {
		l[fmt.Sprintf("k%d", i)] = "v"
	}
	return l
}

// expressions returns n expressions, each "key In values".
func expressions(n int, values ...string) []metav1.LabelSelectorRequirement {
	e := make([]metav1.LabelSelectorRequirement, n)
	for i := range e {
		e[i] = metav1.LabelSelectorRequirement{Key: fmt.Sprintf("k%d", i), Operator: metav1.LabelSelectorOpIn, Values: values}
	}
	return e
}

func withPrefixes(prefixes ...v1alpha1.RepositoryPrefix) func(*v1alpha1.ProviderConfigSpec) {
	return func(s *v1alpha1.ProviderConfigSpec) { s.Git.Repositories = prefixes }
}

func withURL(u string) func(*v1alpha1.SubscriptionParameters) {
	return func(p *v1alpha1.SubscriptionParameters) { p.Repo.URL = u }
}

func withGitPaths(paths ...string) func(*v1alpha1.SubscriptionParameters) {
	return func(p *v1alpha1.SubscriptionParameters) {
		p.Git = &v1alpha1.GitSubscription{}
		for _, d := range paths {
			p.Git.Paths = append(p.Git.Paths, v1alpha1.RepoPath(d))
		}
	}
}

func withImage(f func(*v1alpha1.ImageSubscription)) func(*v1alpha1.SubscriptionParameters) {
	return func(p *v1alpha1.SubscriptionParameters) { f(&p.Images[0]) }
}

// Every field a user writes in the provider's CRDs is bounded and checked
// by the apiserver, and a refusal names the field and the fix. The valid
// objects (every URL form the provider supports among them) are accepted.
func TestSchemaRefusesBadFields(t *testing.T) {
	kube := kubeClient(t)
	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "x"
		}
		return s
	}
	cases := map[string]struct {
		obj  client.Object
		want string // a substring of the apiserver's refusal; "" accepts
	}{
		"ValidSubscription":        {obj: subscription(nil)},
		"ValidSCPURL":              {obj: subscription(withURL("git@github.com:acme/guestbook-config.git"))},
		"ValidSSHURL":              {obj: subscription(withURL("ssh://git@git.example.com:2222/acme/guestbook-config.git"))},
		"ValidLoopbackHTTPURL":     {obj: subscription(withURL("http://127.0.0.1:8080/config-1"))},
		"ValidTrailingSlashURL":    {obj: subscription(withURL("https://gitlab.example.com/group/sub/app/"))},
		"ValidTicket":              {obj: ticket(nil)},
		"ValidProviderConfig":      {obj: providerConfig(nil)},
		"ValidClusterProviderConf": {obj: clusterProviderConfig(nil)},

		"FileURL":          {obj: subscription(withURL("file:///srv/git/acme.git")), want: "repo.url must be https://host/org/repo, ssh://git@host/org/repo or git@host:org/repo; file://, git:// and local paths are refused"},
		"LocalPathURL":     {obj: subscription(withURL("/srv/git/acme.git")), want: "file://, git:// and local paths are refused"},
		"RelativePathURL":  {obj: subscription(withURL("../other-team/repo")), want: "file://, git:// and local paths are refused"},
		"GitProtocolURL":   {obj: subscription(withURL("git://github.com/acme/app.git")), want: "file://, git:// and local paths are refused"},
		"PasswordInURL":    {obj: subscription(withURL("https://bot:hunter2@github.com/acme/app.git")), want: "repo.url must not hold credentials (user@ or user:password@): put them in the Secret the ProviderConfig's spec.git.secretRef names"},
		"TokenInURL":       {obj: subscription(withURL("https://ghp_abc@github.com/acme/app.git")), want: "repo.url must not hold credentials"},
		"SSHPasswordInURL": {obj: subscription(withURL("ssh://git:hunter2@github.com/acme/app.git")), want: "repo.url must not hold a password: use an SSH key"},
		"SpaceInURL":       {obj: subscription(withURL("https://github.com/acme/my app")), want: "file://, git:// and local paths are refused"},
		"HugeURL":          {obj: subscription(withURL("https://github.com/" + strings.Repeat("a", 2048))), want: "Too long: may not be more than 2048"},
		"DotDotBranch": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) { p.Repo.SourceBranch = "release..1" }),
			want: "repo.sourceBranch is not a valid git branch name: remove '..'"},
		"OptionBranch": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) { p.Repo.SourceBranch = "--upload-pack=x" }),
			want: "repo.sourceBranch must be a git branch name"},
		"ImageWithScheme": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.Repository = "https://ghcr.io/acme/app" })),
			want: "images[].repository must be an image repository without scheme, tag or digest"},
		"ImageWithTag": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.Repository = "ghcr.io/acme/app:v1" })),
			want: "images[].repository must be an image repository without scheme, tag or digest"},
		"TooManyImages": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) {
			for range 20 {
				p.Images = append(p.Images, p.Images[0])
			}
		}), want: "must have at most 20 items"},
		"DigestWithoutTag": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.Strategy, i.Constraint = "Digest", "" })),
			want: "strategy Digest follows one mutable tag: set constraint to that tag, e.g. latest"},
		"HugeDiscoveryLimit": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.Strategy, i.DiscoveryLimit = "NewestBuild", 101 })),
			want: "should be less than or equal to 100"},
		"HugeAllowTags": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.AllowTags = strings.Repeat("a", 257) })),
			want: "Too long: may not be more than 256"},
		"TooManyIgnoreTags": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.IgnoreTags = many(21) })),
			want: "must have at most 20 items"},
		"BadPlatform": {obj: subscription(withImage(func(i *v1alpha1.ImageSubscription) { i.Platform = "linux" })),
			want: "platform must be os/arch or os/arch/variant"},
		"BadStationPath": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) { p.Overlays[0].Station = "Prod/US" }),
			want: "spec.forProvider.overlays[0].station: Invalid value"},
		"EscapingOverlay": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) { p.Overlays[0].Overlay = "overlays/../../other" }),
			want: "overlays[].overlay must be a directory inside the repository, relative to its root (e.g. overlays/dev): no leading /, no .. segments"},
		"AbsoluteOverlay": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) { p.Overlays[0].Overlay = "/etc" }),
			want: "no leading /, no .. segments"},
		"TooManyOverlays": {obj: subscription(func(p *v1alpha1.SubscriptionParameters) {
			p.Overlays = make([]v1alpha1.StationOverlay, 501)
			for i := range p.Overlays {
				p.Overlays[i] = v1alpha1.StationOverlay{Station: "s", Overlay: "o"}
			}
		}), want: "must have at most 500 items"},

		"ValidGitPaths": {obj: subscription(withGitPaths("base/", "apps/guestbook", "kustomization.yaml", ".github/", strings.Repeat("a", 1024)))},
		"AbsoluteGitPath": {obj: subscription(withGitPaths("base/", "/etc")),
			want: `spec.forProvider.git.paths[1]: Invalid value: "/etc": git.paths[] must be relative to the repository root, without a leading /: e.g. apps/guestbook/`},
		"DotDotGitPath": {obj: subscription(withGitPaths("apps/../../other")),
			want: "spec.forProvider.git.paths[0]: Invalid value: \"apps/../../other\": git.paths[] must not have . or .. segments: write the path from the repository root, e.g. apps/guestbook/"},
		"DotGitPath": {obj: subscription(withGitPaths("./base")), want: "git.paths[] must not have . or .. segments"},
		"EmptySegmentGitPath": {obj: subscription(withGitPaths("apps//a")),
			want: "spec.forProvider.git.paths[0]: Invalid value: \"apps//a\": git.paths[] must not have empty segments (//): e.g. apps/guestbook/"},
		"NewlineGitPath": {obj: subscription(withGitPaths("apps/a\nb")),
			want: "git.paths[] must not hold control characters (newline, tab, NUL): name the path as git shows it"},
		"NULGitPath":      {obj: subscription(withGitPaths("apps/\x00")), want: "git.paths[] must not hold control characters"},
		"EmptyGitPath":    {obj: subscription(withGitPaths("")), want: "spec.forProvider.git.paths[0] in body should be at least 1 chars long"},
		"LongGitPath":     {obj: subscription(withGitPaths(strings.Repeat("a", 1025))), want: "spec.forProvider.git.paths[0]: Too long: may not be more than 1024"},
		"TooManyGitPaths": {obj: subscription(withGitPaths(many(33)...)), want: "spec.forProvider.git.paths: Too many: 33: must have at most 32 items"},

		"RenderToSourceBranch": {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Branch = "main" }),
			want: "branch must not be repo.sourceBranch, the branch humans commit to: name a rendered branch of its own, e.g. env/<station>"},
		"BadRenderedBranch": {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Branch = "env/dev.lock" }),
			want: "branch is not a valid git branch name"},
		"BadChangeID":    {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Change.ID = "abc" }), want: "spec.forProvider.change.id"},
		"BadImageDigest": {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Change.Images[0].Digest = "md5:00" }), want: "spec.forProvider.change.images[0].digest"},
		"BadApplication": {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Applications[0].Name = "Guestbook_Prod" }),
			want: "applications[].name must be an Argo CD Application's name"},
		"TooManyApplications": {obj: ticket(func(p *v1alpha1.TicketParameters) {
			p.Applications = make([]v1alpha1.ApplicationReference, 51)
			for i := range p.Applications {
				p.Applications[i] = v1alpha1.ApplicationReference{Name: "a"}
			}
		}), want: "must have at most 50 items"},
		"TicketFileURL": {obj: ticket(func(p *v1alpha1.TicketParameters) { p.Repo.URL = "file:///srv/git/acme.git" }),
			want: "file://, git:// and local paths are refused"},

		"BadSecretName": {obj: providerConfig(func(s *v1alpha1.ProviderConfigSpec) { s.Git.SecretRef.Name = "Git Credentials" }),
			want: "secretRef.name must be a Secret's name"},
		"TooManyPullSecrets": {obj: providerConfig(func(s *v1alpha1.ProviderConfigSpec) {
			for range 20 {
				s.Registries = append(s.Registries, s.Registries[0])
			}
		}), want: "must have at most 20 items"},
		"ClusterGitSecretWithoutNamespace": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) { s.Git.SecretRef.Namespace = "" }),
			want: "a ClusterProviderConfig must say where its Secrets are: set spec.git.secretRef.namespace"},
		"ClusterPullSecretWithoutNamespace": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) { s.Registries[0].SecretRef.Namespace = "" }),
			want: "set spec.registries[].secretRef.namespace"},
		"ClusterKubeconfigWithoutNamespace": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) { s.ArgoCD.KubeconfigSecretRef.Namespace = "" }),
			want: "set spec.argocd.kubeconfigSecretRef.namespace"},
		"ClusterWebhookSecretWithoutNamespace": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) {
			s.Webhook = &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Name: "hooks"}}
		}), want: "a ClusterProviderConfig must say where its Secrets are: set spec.webhook.secretRef.namespace"},
		"ClusterWebhookSecret": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) {
			s.Webhook = &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Name: "hooks", Namespace: "platform"}}
		})},
		"WebhookSecret": {obj: providerConfig(func(s *v1alpha1.ProviderConfigSpec) {
			s.Webhook = &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Name: "hooks"}}
		})},
		"BadWebhookSecretName": {obj: providerConfig(func(s *v1alpha1.ProviderConfigSpec) {
			s.Webhook = &v1alpha1.WebhookConfig{SecretRef: v1alpha1.SecretReference{Name: "Web Hooks"}}
		}), want: "secretRef.name must be a Secret's name"},

		"ValidNamespaceSelector": {obj: clusterProviderConfigSelecting(&metav1.LabelSelector{
			MatchLabels:      labels(32),
			MatchExpressions: expressions(32, many(256)...),
		})},
		"TooManySelectorLabels": {obj: clusterProviderConfigSelecting(&metav1.LabelSelector{MatchLabels: labels(33)}),
			want: "spec.namespaceSelector.matchLabels may hold at most 32 labels"},
		"TooManySelectorExpressions": {obj: clusterProviderConfigSelecting(&metav1.LabelSelector{MatchExpressions: expressions(33, "a")}),
			want: "spec.namespaceSelector.matchExpressions may hold at most 32 expressions"},
		"TooManySelectorValues": {obj: clusterProviderConfigSelecting(&metav1.LabelSelector{MatchExpressions: expressions(1, many(257)...)}),
			want: "spec.namespaceSelector.matchExpressions[].values may hold at most 256 values"},
		"GitRepositoryPrefixes": {obj: clusterProviderConfig(withPrefixes("https://github.com/acme/", "https://gitlab.example.com:8443/group/sub", "ssh://git@git.example.com:2222/acme/", "git@github.com:acme/", "http://127.0.0.1:8080/config-1.git"))},
		"GitPrefixHostOnly": {obj: clusterProviderConfig(withPrefixes("https://github.com/")),
			want: "git.repositories[] must be a repository URL prefix naming at least an owner or group"},
		"GitPrefixNoScheme": {obj: clusterProviderConfig(withPrefixes("github.com/acme/")),
			want: "git.repositories[] must be a repository URL prefix"},
		"GitPrefixFileURL": {obj: providerConfig(withPrefixes("file:///srv/git/")),
			want: "git.repositories[] must be a repository URL prefix"},
		"GitPrefixWithToken": {obj: clusterProviderConfig(withPrefixes("https://x-access-token:ghp_abc@github.com/acme/")),
			want: "git.repositories[] must not hold credentials"},
		"GitPrefixWithSSHPassword": {obj: clusterProviderConfig(withPrefixes("ssh://git:hunter2@github.com/acme/")),
			want: "git.repositories[] must not hold a password"},
		"GitPrefixTooLong": {obj: clusterProviderConfig(withPrefixes(v1alpha1.RepositoryPrefix("https://github.com/" + strings.Repeat("a", 2048)))),
			want: "may not be more than 2048"},
		"TooManyGitPrefixes": {obj: clusterProviderConfig(func(s *v1alpha1.ProviderConfigSpec) {
			for range 33 {
				s.Git.Repositories = append(s.Git.Repositories, "https://github.com/acme/")
			}
		}), want: "must have at most 32 items"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := kube.Create(context.Background(), tc.obj)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Create(...): %v, want it accepted", err)
			case tc.want != "" && err == nil:
				t.Errorf("Create(...): accepted, want a refusal with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("Create(...): %v, want a refusal with %q", err, tc.want)
			}
		})
	}
}

// Interval is a short duration, and says so when it is not. A typed client
// cannot send a bad duration, so these are sent as JSON.
func TestSchemaRefusesBadInterval(t *testing.T) {
	kube := kubeClient(t)
	cases := map[string]struct {
		interval string
		want     []string // substrings of the apiserver's refusal; nil accepts
	}{
		"Valid":       {interval: "1h30m"},
		"NotDuration": {interval: "5 minutes", want: []string{"interval must be a duration, e.g. 5m, 90s or 1h30m"}},
		"TooLong":     {interval: strings.Repeat("1h", 17), want: []string{"spec.forProvider.interval", "may not be more than 32"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(subscription(nil))
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: obj}
			u.SetGroupVersionKind(v1alpha1.SubscriptionGroupVersionKind)
			u.Object["spec"].(map[string]any)["forProvider"].(map[string]any)["interval"] = tc.interval
			err = kube.Create(context.Background(), u)
			if tc.want == nil {
				if err != nil {
					t.Errorf("Create(...): %v, want it accepted", err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Create(...): %v, want a refusal with %q", err, w)
				}
			}
		})
	}
}

// The API server defaults what a user leaves unset to what the controllers
// assume of an unset field (the constants), so that an object written before
// a default changed means the same to both.
func TestSchemaDefaults(t *testing.T) {
	c := kubeClient(t)
	obj := ticket(func(p *v1alpha1.TicketParameters) {
		p.Repo.SourceBranch = ""
		p.Applications = []v1alpha1.ApplicationReference{{Name: "guestbook-prod"}}
	})
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("Create(Ticket): %v", err)
	}
	got := obj.(*v1alpha1.Ticket).Spec.ForProvider
	if diff := cmp.Diff(v1alpha1.Repository{URL: "git@github.com:acme/guestbook-config.git", SourceBranch: v1alpha1.DefaultSourceBranch}, got.Repo); diff != "" {
		t.Errorf("spec.forProvider.repo: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]v1alpha1.ApplicationReference{{Name: "guestbook-prod", Namespace: v1alpha1.DefaultApplicationNamespace}}, got.Applications); diff != "" {
		t.Errorf("spec.forProvider.applications: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff("main", v1alpha1.Repository{}.SourceBranchOrDefault()); diff != "" {
		t.Errorf("Repository{}.SourceBranchOrDefault(): -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff("argocd", v1alpha1.ApplicationReference{}.NamespaceOrDefault()); diff != "" {
		t.Errorf("ApplicationReference{}.NamespaceOrDefault(): -want, +got:\n%s", diff)
	}
}
