package subscription

import (
	"context"
	"fmt"
	"github.com/go-logr/logr"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/k8sta/k8sta/apis"
	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// These tests run the Subscription controller against a real kube-apiserver,
// a real OCI registry (go-containerregistry's, served on 127.0.0.1) and real
// git repositories served over smart HTTP.

var (
	env  *kubeenv.Environment
	kube client.Client
	wake = make(chan event.GenericEvent, 16)
)

func TestMain(m *testing.M) {
	kubeenv.Main(m, &env, setup)
}

func setup(e *kubeenv.Environment) (func(), error) {
	ctrl.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "k8sta-subscription-test-")
	if err != nil {
		return nil, err
	}
	// The test git servers speak plain http on 127.0.0.1: listed, as the
	// provider's operator would with --insecure-git-host.
	policy, err := repourl.NewPolicy("127.0.0.1")
	if err != nil {
		return nil, err
	}
	// Fetches and tags lists are shared for a minute, far longer than the
	// provider's default: every test that changes a repository and expects
	// a poll to see it must say so, by a wake (WakeEvent) or a reconcile
	// request, as webhooks and users do; none may pass by luck of timing.
	repos, err := gitrepo.NewCache(dir, gitrepo.WithPolicy(policy), gitrepo.WithFetchWindow(time.Minute))
	if err != nil {
		return nil, err
	}
	if err := Setup(mgr, Options{
		Options:    controller.Options{Logger: logging.NewNopLogger(), MaxConcurrentReconciles: 4, Features: &feature.Flags{}},
		Repos:      repos,
		Wake:       wake,
		TagsWindow: time.Minute,
	}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	kube, err = client.New(e.Config, client.Options{Scheme: s})
	if err != nil {
		cancel()
		return nil, err
	}
	return func() { cancel(); <-done; _ = os.RemoveAll(dir) }, nil
}

var seq atomic.Int64

type fixture struct {
	t        *testing.T
	ns       string
	git      *gitserver.Server
	repo     string
	registry string // host:port
	// tagLists counts the tags-list requests the registry answered.
	tagLists *atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	n := seq.Add(1)
	lists := &atomic.Int64{}
	registry := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			lists.Add(1)
		}
		registry.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.Close)
	f := &fixture{
		t: t, ns: fmt.Sprintf("sub-%d", n), git: gitserver.New(t), repo: fmt.Sprintf("config-%d", n),
		registry: strings.TrimPrefix(reg.URL, "http://"), tagLists: lists,
	}
	f.git.CreateRepo(t, f.repo, gitserver.KustomizeTree())
	ctx := context.Background()
	must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}))
	must(t, kube.Create(ctx, &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "default"}}))
	return f
}

func (f *fixture) image() string { return f.registry + "/acme/guestbook" }

// push pushes a new random image as tag and returns its digest.
func (f *fixture) push(tag string) string {
	f.t.Helper()
	img, err := random.Image(512, 1)
	must(f.t, err)
	ref, err := name.ParseReference(f.image()+":"+tag, name.Insecure)
	must(f.t, err)
	must(f.t, remote.Write(ref, img))
	d, err := img.Digest()
	must(f.t, err)
	return d.String()
}

func (f *fixture) subscription(mutate func(*v1alpha1.SubscriptionParameters)) client.ObjectKey {
	f.t.Helper()
	return f.newSubscription(func(s *v1alpha1.Subscription) {
		if mutate != nil {
			mutate(&s.Spec.ForProvider)
		}
	})
}

// newSubscription creates the fixture's Subscription "guestbook", changed by
// mutate.
func (f *fixture) newSubscription(mutate func(*v1alpha1.Subscription)) client.ObjectKey {
	f.t.Helper()
	s := &v1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "guestbook"},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
			ForProvider: v1alpha1.SubscriptionParameters{
				Repo:     v1alpha1.Repository{URL: f.git.URL(f.repo), SourceBranch: "main"},
				Images:   []v1alpha1.ImageSubscription{{Repository: f.image(), Strategy: "SemVer", Constraint: ">=1.0.0 <2.0.0"}},
				Git:      &v1alpha1.GitSubscription{},
				Overlays: []v1alpha1.StationOverlay{{Station: "dev", Overlay: "overlays/dev"}, {Station: "prod", Overlay: "overlays/prod"}},
				Interval: &metav1.Duration{Duration: time.Hour},
			},
		},
	}
	if mutate != nil {
		mutate(s)
	}
	must(f.t, kube.Create(context.Background(), s))
	return client.ObjectKeyFromObject(s)
}

// poke wakes the Subscription the way the webhook receiver does, for news
// that arrived now.
func poke(key client.ObjectKey) {
	pokeAt(key, time.Now())
}

func pokeAt(key client.ObjectKey, at time.Time) {
	s := &v1alpha1.Subscription{}
	s.SetNamespace(key.Namespace)
	s.SetName(key.Name)
	wake <- WakeEvent(s, at)
}

// pollNow asks for one more reconcile, and so one more poll, and waits until
// it has been handled.
func pollNow(t *testing.T, key client.ObjectKey, token string) {
	t.Helper()
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s := get(t, key)
		meta.SetReconcileRequest(s, token)
		return kube.Update(context.Background(), s)
	}))
	eventually(t, "reconcile "+token, func() (bool, string) {
		got := get(t, key).Status.LastHandledReconcileAt
		return got == token, got
	})
}

func get(t *testing.T, key client.ObjectKey) *v1alpha1.Subscription {
	t.Helper()
	s := &v1alpha1.Subscription{}
	must(t, kube.Get(context.Background(), key, s))
	return s
}

func newest(t *testing.T, key client.ObjectKey) *v1alpha1.Change {
	t.Helper()
	return get(t, key).Status.AtProvider.Newest
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	kubeenv.Eventually(t, what, cond)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
