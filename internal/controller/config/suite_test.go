package config

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/k8sta/k8sta/apis"
	"github.com/k8sta/k8sta/internal/controller/subscription"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// These tests run the config controllers against a real kube-apiserver, on a
// manager configured as the provider's (cmd/provider): Secrets uncached for
// the client, and the cache holding only labelled webhook Secrets.

var (
	env  *kubeenv.Environment
	kube client.Client
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
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{
		Scheme:  s,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Cache:   cache.Options{ByObject: subscription.WebhookCacheByObject()},
	})
	if err != nil {
		return nil, err
	}
	if err := Setup(mgr, controller.Options{
		Logger: logging.NewNopLogger(), MaxConcurrentReconciles: 2, Features: &feature.Flags{},
		// An hour: what these tests wait for must come from watches.
		PollInterval: time.Hour,
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
	return func() { cancel(); <-done }, nil
}

var seq atomic.Int64

// namespace creates a namespace of its own for a test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("config-%d", seq.Add(1))
	must(t, kube.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	return ns
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
