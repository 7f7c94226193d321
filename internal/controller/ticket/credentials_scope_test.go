package ticket

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// A ClusterProviderConfig's git credentials go only to the repositories its
// spec.git.repositories lists. The platform's token is for server A; a
// Ticket in a namespace the ClusterProviderConfig selects that names a
// repository on server B (what a tenant can write into its Track) is
// refused before any request: B receives nothing, the token least of all,
// and the condition names the field to change. With no prefixes at all the
// credentials are for no repository, not even A's. A namespace's own
// ProviderConfig without prefixes keeps sending its credentials to any
// repository, as before.
func TestGitCredentialsGoOnlyToTheirRepositories(t *testing.T) {
	const token = "platform-token-Zx9-never-sent-elsewhere"
	cases := map[string]struct {
		cluster bool
		// prefixes are directories on server A, for spec.git.repositories.
		prefixes []string
		onB      bool // the Ticket's repository is on server B
		// want is what the Synced condition says; nil: the Ticket delivers.
		want []string
	}{
		"AnotherHost": {
			cluster:  true,
			prefixes: []string{"acme/"},
			onB:      true,
			want:     []string{"ClusterProviderConfig CPC's git credentials are not for spec.forProvider.repo.url URL", "spec.git.repositories"},
		},
		"NoPrefixes": {
			cluster: true,
			want:    []string{"ClusterProviderConfig CPC's git credentials are for no repository", "spec.git.repositories is empty"},
		},
		"AnotherOwnerOnTheSameHost": {
			cluster:  true,
			prefixes: []string{"platform/"},
			want:     []string{"ClusterProviderConfig CPC's git credentials are not for spec.forProvider.repo.url URL", "spec.git.repositories"},
		},
		"WithinThePrefix": {
			cluster:  true,
			prefixes: []string{"acme/"},
		},
		"ProviderConfigWithoutPrefixes": {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var withTokenA, withTokenB atomic.Int64
			carries := func(n *atomic.Int64) gitserver.Option {
				return gitserver.WithRequestHook(func(r *http.Request) {
					if _, p, ok := r.BasicAuth(); ok && p == token {
						n.Add(1)
					}
				})
			}
			f := newFixture(t, gitserver.WithBasicAuth("k8sta", token), carries(&withTokenA))
			a := f.git
			// Server B accepts any request, as a host that collects tokens would.
			b := gitserver.New(t, carries(&withTokenB))
			f.repo = "acme/" + f.repo
			f.source = a.CreateRepo(t, f.repo, gitserver.KustomizeTree())
			if tc.onB {
				b.CreateRepo(t, f.repo, gitserver.KustomizeTree())
				f.git = b
			}

			secretNS := f.ns
			ref := &xpv2.ProviderConfigReference{Kind: v1alpha1.ProviderConfigKind, Name: "with-git"}
			var prefixes []v1alpha1.RepositoryPrefix
			for _, dir := range tc.prefixes {
				prefixes = append(prefixes, v1alpha1.RepositoryPrefix(strings.TrimSuffix(a.URL(dir), ".git")+"/"))
			}
			git := &v1alpha1.GitCredentials{SecretRef: v1alpha1.SecretReference{Name: "git"}, Repositories: prefixes}
			if tc.cluster {
				secretNS = "platform-" + f.ns
				must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secretNS}}))
				git.SecretRef.Namespace = secretNS
				cpc := &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "platform-" + f.ns}}
				cpc.Spec.Git = git
				cpc.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: f.ns}}
				must(t, kube.Create(ctx, cpc))
				ref = &xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: cpc.Name}
			} else {
				must(t, kube.Create(ctx, &v1alpha1.ProviderConfig{
					ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: ref.Name},
					Spec:       v1alpha1.ProviderConfigSpec{Git: git},
				}))
			}
			must(t, kube.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: secretNS, Name: "git"},
				Data:       map[string][]byte{"username": []byte("k8sta"), "token": []byte(token)},
			}))

			app := f.application("guestbook-dev", "env/dev")
			tk := f.ticketWith("guestbook-dev", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
				tk.Spec.ProviderConfigReference = ref
			}, "guestbook-dev")
			key := client.ObjectKeyFromObject(tk)

			if tc.want == nil {
				eventually(t, "an operation on guestbook-dev", func() (bool, string) {
					op, _, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
					return op != nil, condition(getTicket(t, key), xpv2.TypeSynced).Message
				})
				if !f.branchExists("env/dev") {
					t.Error("the rendered branch was not pushed")
				}
				if withTokenA.Load() == 0 {
					t.Error("server A received no request carrying the token")
				}
				return
			}

			var msg string
			eventually(t, "Synced False naming spec.git.repositories", func() (bool, string) {
				c := condition(getTicket(t, key), xpv2.TypeSynced)
				msg = c.Message
				return c.Status == corev1.ConditionFalse && strings.Contains(msg, "spec.git.repositories"), msg
			})
			for _, w := range tc.want {
				w = strings.NewReplacer("CPC", ref.Name, "URL", f.url()).Replace(w)
				if !strings.Contains(msg, w) {
					t.Errorf("Synced message %q does not say %q", msg, w)
				}
			}
			requestReconcile(t, key, "again")
			if n := b.Requests(); n != 0 {
				t.Errorf("server B received %d requests (%d carrying the token), want 0", n, withTokenB.Load())
			}
			if n := a.Requests(); n != 0 {
				t.Errorf("server A received %d requests for a repository the credentials are not for, want 0", n)
			}
			if f.branchExists("env/dev") {
				t.Error("the rendered branch was pushed")
			}
			if after := f.app("guestbook-dev"); after.GetResourceVersion() != app.GetResourceVersion() {
				t.Errorf("the Application was patched: %v", after.Object)
			}
			for _, c := range getTicket(t, key).Status.Conditions {
				if strings.Contains(c.Message, token) {
					t.Errorf("condition %s quotes the token: %q", c.Type, c.Message)
				}
			}
		})
	}
}
