package subscription

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// A registry that answers 429 with Retry-After puts the Subscription's next
// poll off until the wait is over (within maxRegistryWait), as the registry
// client promises its caller; a wait shorter than the interval changes
// nothing, and a poll the registry answers forgets the wait. The registry
// and the git server are real HTTP servers on 127.0.0.1.
func TestRegistryRetryAfterPutsTheNextPollOff(t *testing.T) {
	cases := map[string]struct {
		retryAfter string // "" answers the tags list
		interval   time.Duration
		want       time.Duration
	}{
		"LongerThanTheInterval":  {retryAfter: "1800", interval: time.Minute, want: 30 * time.Minute},
		"ShorterThanTheInterval": {retryAfter: "30", interval: 5 * time.Minute, want: 5 * time.Minute},
		"PastTheBound":           {retryAfter: "86400", interval: time.Minute, want: time.Hour},
		"RegistryAnswers":        {interval: time.Minute, want: time.Minute},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			images := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
			reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" && strings.HasSuffix(r.URL.Path, "/tags/list") {
					w.Header().Set("Retry-After", tc.retryAfter)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
					return
				}
				images.ServeHTTP(w, r)
			}))
			t.Cleanup(reg.Close)
			f := &fixture{t: t, registry: strings.TrimPrefix(reg.URL, "http://")}
			f.push("1.2.0")

			git := gitserver.New(t)
			git.CreateRepo(t, "config", gitserver.KustomizeTree())
			policy, err := repourl.NewPolicy("127.0.0.1")
			must(t, err)
			repos, err := gitrepo.NewCache(t.TempDir(), gitrepo.WithPolicy(policy))
			must(t, err)
			u, err := policy.Parse(git.URL("config"))
			must(t, err)
			repo, err := repos.Repo(u, gitrepo.Auth{})
			must(t, err)
			t.Cleanup(repo.Release)
			client, err := newRegistryClients(nil, 0, nil).For(nil)
			must(t, err)

			now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
			waits := newRegistryWaits()
			key := types.NamespacedName{Namespace: "team-a", Name: "guestbook"}
			// A wait left by an earlier poll: the answer of this one replaces it.
			waits.set(key, now, 2*time.Hour)
			e := &external{repo: repo, registry: client, wakes: newWakes(), waits: waits, now: func() time.Time { return now }}
			s := &v1alpha1.Subscription{
				ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
				Spec: v1alpha1.SubscriptionSpec{ForProvider: v1alpha1.SubscriptionParameters{
					Repo:     v1alpha1.Repository{URL: git.URL("config"), SourceBranch: "main"},
					Images:   []v1alpha1.ImageSubscription{{Repository: f.image(), Strategy: "SemVer", Constraint: ">=1.0.0"}},
					Interval: &metav1.Duration{Duration: tc.interval},
				}},
			}
			if _, err := e.Observe(context.Background(), s); err != nil {
				t.Fatalf("Observe(...): %v", err)
			}
			// The registry client counts the wait on its own clock, from
			// the 429 until Observe reads it: to the minute, it is exact.
			if diff := cmp.Diff(tc.want, waits.next(key, now, Interval(s, 0)).Round(time.Minute)); diff != "" {
				t.Errorf("next poll in: -want, +got:\n%s", diff)
			}
		})
	}
}
