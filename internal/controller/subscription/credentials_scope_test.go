package subscription

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// A Subscription polls its repository with a ClusterProviderConfig's git
// credentials only when spec.git.repositories covers it. The platform's
// token is for server A; a Subscription naming a repository on server B is
// refused before any request reaches B, and its condition names the field.
func TestSubscriptionGitCredentialsGoOnlyToTheirRepositories(t *testing.T) {
	const token = "platform-token-Qw7-never-sent-elsewhere"
	cases := map[string]struct {
		onB bool
		// want is what the Synced condition says; nil: the Subscription polls.
		want []string
	}{
		"AnotherHost":     {onB: true, want: []string{"ClusterProviderConfig CPC's git credentials are not for spec.forProvider.repo.url URL", "spec.git.repositories"}},
		"WithinThePrefix": {},
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
			f := newFixture(t)
			f.push("1.2.0")
			a := gitserver.New(t, gitserver.WithBasicAuth("k8sta", token), carries(&withTokenA))
			// Server B accepts any request, as a host that collects tokens would.
			b := gitserver.New(t, carries(&withTokenB))
			repo := "acme/" + f.repo
			a.CreateRepo(t, repo, gitserver.KustomizeTree())
			b.CreateRepo(t, repo, gitserver.KustomizeTree())
			url := a.URL(repo)
			if tc.onB {
				url = b.URL(repo)
			}

			secretNS := "platform-" + f.ns
			must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secretNS}}))
			must(t, kube.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: secretNS, Name: "git"},
				Data:       map[string][]byte{"username": []byte("k8sta"), "token": []byte(token)},
			}))
			cpc := &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "platform-" + f.ns}}
			cpc.Spec.Git = &v1alpha1.GitCredentials{
				SecretRef:    v1alpha1.SecretReference{Name: "git", Namespace: secretNS},
				Repositories: []v1alpha1.RepositoryPrefix{v1alpha1.RepositoryPrefix(strings.TrimSuffix(a.URL("acme"), ".git") + "/")},
			}
			cpc.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: f.ns}}
			must(t, kube.Create(ctx, cpc))

			s := &v1alpha1.Subscription{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "guestbook"},
				Spec: v1alpha1.SubscriptionSpec{
					ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: cpc.Name}},
					ForProvider: v1alpha1.SubscriptionParameters{
						Repo:     v1alpha1.Repository{URL: url, SourceBranch: "main"},
						Images:   []v1alpha1.ImageSubscription{{Repository: f.image(), Strategy: "SemVer", Constraint: ">=1.0.0 <2.0.0"}},
						Git:      &v1alpha1.GitSubscription{},
						Overlays: []v1alpha1.StationOverlay{{Station: "dev", Overlay: "overlays/dev"}},
						Interval: &metav1.Duration{Duration: time.Hour},
					},
				},
			}
			must(t, kube.Create(ctx, s))
			key := client.ObjectKeyFromObject(s)

			if tc.want == nil {
				eventually(t, "the first change", func() (bool, string) {
					return newest(t, key) != nil, get(t, key).GetCondition(xpv2.TypeSynced).Message
				})
				if withTokenA.Load() == 0 {
					t.Error("server A received no request carrying the token")
				}
				return
			}
			var msg string
			eventually(t, "Synced False naming spec.git.repositories", func() (bool, string) {
				c := get(t, key).GetCondition(xpv2.TypeSynced)
				msg = c.Message
				return c.Status == corev1.ConditionFalse && strings.Contains(msg, "spec.git.repositories"), msg
			})
			for _, w := range tc.want {
				w = strings.NewReplacer("CPC", cpc.Name, "URL", url).Replace(w)
				if !strings.Contains(msg, w) {
					t.Errorf("Synced message %q does not say %q", msg, w)
				}
			}
			pollNow(t, key, "again")
			if n := b.Requests(); n != 0 {
				t.Errorf("server B received %d requests (%d carrying the token), want 0", n, withTokenB.Load())
			}
			if n := newest(t, key); n != nil {
				t.Errorf("the Subscription recorded a change from a repository it may not fetch: %+v", n)
			}
			if strings.Contains(msg, token) {
				t.Errorf("the condition quotes the token: %q", msg)
			}
		})
	}
}
