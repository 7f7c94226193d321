package ticket

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/k8sta/k8sta/apis"
	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
	"github.com/k8sta/k8sta/internal/controller/config"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/render"
	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// These tests run the Ticket controller against a real kube-apiserver with
// Argo CD's real Application CRD, and real git repositories served over smart
// HTTP. Argo CD itself is not running: where a test needs Argo CD to act, it
// writes the Application's operation state and status the way Argo CD's
// application-controller does, and says so.

var (
	env  *kubeenv.Environment
	kube client.Client
	// repos is the controller's clone cache.
	repos *gitrepo.Cache
	// workers counts the render workers the controller starts, per
	// namespace.
	workers workerCounter
	// renderer is the controller's.
	renderer *render.Renderer
)

// testRenderLimits are the controller's render limits: the defaults, with
// an output bound the fixtures' overlays stay far below and
// outputBombFiles exceeds.
var testRenderLimits = render.Limits{MaxOutputBytes: 256 << 10}

// workerCounter counts render workers started, per tenant.
type workerCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *workerCounter) started(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[tenant]++
}

func (c *workerCounter) count(tenant string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[tenant]
}

func TestMain(m *testing.M) {
	// The Ticket controller renders in workers that re-execute this binary.
	render.RunWorkerIfRequested()
	kubeenv.Main(m, &env, setup, kubeenv.Rollouts)
}

func setup(e *kubeenv.Environment) (func(), error) {
	ctrl.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apis.AddToScheme, argocd.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{CRDs: trackCRDs()}); err != nil {
		return nil, err
	}
	// The provider's requests are counted as they leave for the apiserver.
	cfg := rest.CopyConfig(e.Config)
	cfg.Wrap(providerRequests.wrap)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "k8sta-ticket-test-")
	if err != nil {
		return nil, err
	}
	// The test git servers speak plain http on 127.0.0.1: listed, as the
	// provider's operator would with --insecure-git-host.
	policy, err := repourl.NewPolicy("127.0.0.1")
	if err != nil {
		return nil, err
	}
	repos, err = gitrepo.NewCache(dir, gitrepo.WithPolicy(policy))
	if err != nil {
		return nil, err
	}
	renderer = render.NewRenderer(testRenderLimits, render.WithWorkerStarted(workers.started))
	o := Options{
		Options: controller.Options{
			Logger:                  logging.NewNopLogger(),
			MaxConcurrentReconciles: 4,
			// An hour: progress in these tests must come from watches, never from polling.
			PollInterval: time.Hour,
			Features:     &feature.Flags{},
		},
		Repos:    repos,
		Author:   gitrepo.Signature{Name: "K8sTA", Email: "k8sta@k8sta.io"},
		Renderer: renderer,
	}
	if err := config.Setup(mgr, o.Options); err != nil {
		return nil, err
	}
	if err := Setup(mgr, o); err != nil {
		return nil, err
	}
	kube = mgr.GetClient()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	direct, err := client.New(e.Config, client.Options{Scheme: s})
	if err != nil {
		cancel()
		return nil, err
	}
	kube = direct
	return func() { cancel(); <-done; _ = os.RemoveAll(dir) }, nil
}

var seq atomic.Int64

// providerRequests counts the requests the provider's controllers send to
// the apiserver that it answers with success, by method and path.
var providerRequests requestCounter

type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		res, err := rt.RoundTrip(req)
		if err == nil && res.StatusCode/100 == 2 {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[req.Method+" "+req.URL.Path]++
			c.mu.Unlock()
		}
		return res, err
	})
}

// count is how many requests of method to path succeeded.
func (c *requestCounter) count(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method+" "+path]
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fixture is one Track's worth of world: a namespace, a config repository on
// the git server, a ProviderConfig, and Applications.
type fixture struct {
	t      testing.TB
	ns     string
	argoNS string // where this fixture's Applications live
	git    *gitserver.Server
	repo   string
	source string                // head commit of main
	owner  metav1.OwnerReference // the Track XR guestbook, controller of the fixture's Tickets
}

func newFixture(t testing.TB, opts ...gitserver.Option) *fixture {
	t.Helper()
	n := seq.Add(1)
	f := &fixture{t: t, ns: fmt.Sprintf("team-%d", n), argoNS: fmt.Sprintf("argocd-%d", n), git: gitserver.New(t, opts...), repo: fmt.Sprintf("config-%d", n)}
	f.source = f.git.CreateRepo(t, f.repo, gitserver.KustomizeTree())
	ctx := context.Background()
	must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}))
	must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.argoNS}}))
	must(t, kube.Create(ctx, &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "default"}}))
	f.owner = f.trackXR("guestbook", nil)
	return f
}

// trackXR creates the Track XR name in the fixture's namespace, with
// stations (may be nil), and returns the controller reference Crossplane
// sets on what it composes.
func (f *fixture) trackXR(name string, stations []any) metav1.OwnerReference {
	f.t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "k8sta.io/v1alpha1",
		"kind":       "Track",
		"metadata":   map[string]any{"name": name, "namespace": f.ns},
		"spec":       map[string]any{"stations": stations},
	}}
	must(f.t, kube.Create(context.Background(), u))
	return controllerRef(u)
}

func controllerRef(u *unstructured.Unstructured) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), UID: u.GetUID(), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}
}

func ptr[T any](v T) *T { return &v }

// trackCRDs stand in for the CRDs Crossplane creates from the XRDs
// (package/configuration/xrd.yaml and examples/legacy/xrd.yaml): the Ticket
// controller only reads their metadata, spec.stations[].tracks and
// spec.claimRef.
func trackCRDs() []*apiextensionsv1.CustomResourceDefinition {
	crd := func(group, kind, plural string, scope apiextensionsv1.ResourceScope) *apiextensionsv1.CustomResourceDefinition {
		preserve := true
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: group,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
				Scope: scope,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1alpha1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}},
				}},
			},
		}
	}
	return []*apiextensionsv1.CustomResourceDefinition{
		crd("k8sta.io", "Track", "tracks", apiextensionsv1.NamespaceScoped),
		crd("legacy.k8sta.io", "XTrack", "xtracks", apiextensionsv1.ClusterScoped),
		crd("legacy.k8sta.io", "Track", "tracks", apiextensionsv1.NamespaceScoped),
	}
}

func (f *fixture) url() string { return f.git.URL(f.repo) }

func (f *fixture) branchExists(branch string) bool {
	return exec.Command("git", "-C", f.git.Path(f.repo), "rev-parse", "--verify", "--quiet", "refs/heads/"+branch).Run() == nil
}

func (f *fixture) track() string { return f.ns + "/guestbook" }

// application creates an Argo CD Application that authorizes this fixture's
// Track and tracks branch of the fixture's repository.
func (f *fixture) application(name, branch string, mutate ...func(*unstructured.Unstructured)) *unstructured.Unstructured {
	f.t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata": map[string]any{
			"name":        name,
			"namespace":   f.argoNS,
			"annotations": map[string]any{argocd.AuthorizedTracksAnnotation: f.track()},
		},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": f.url(), "targetRevision": branch, "path": "."},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
			"syncPolicy":  map[string]any{"syncOptions": []any{"CreateNamespace=true"}},
		},
	}}
	for _, m := range mutate {
		m(u)
	}
	must(f.t, kube.Create(context.Background(), u))
	return u
}

// ticket creates a Ticket for station dev delivering change.
func (f *fixture) ticket(name string, change v1alpha1.Change, apps ...string) *v1alpha1.Ticket {
	return f.ticketWith(name, change, nil, apps...)
}

// ticketWith is ticket with mutate applied before the Ticket is created.
func (f *fixture) ticketWith(name string, change v1alpha1.Change, mutate func(*v1alpha1.Ticket), apps ...string) *v1alpha1.Ticket {
	f.t.Helper()
	t := f.newTicket(name, change, mutate, apps...)
	must(f.t, kube.Create(context.Background(), t))
	return t
}

// newTicket is the Ticket ticketWith creates, not yet created.
func (f *fixture) newTicket(name string, change v1alpha1.Change, mutate func(*v1alpha1.Ticket), apps ...string) *v1alpha1.Ticket {
	t := &v1alpha1.Ticket{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.TicketSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}},
			ForProvider: v1alpha1.TicketParameters{
				Track:   "guestbook",
				Station: "dev",
				Change:  change,
				Repo:    v1alpha1.Repository{URL: f.url(), SourceBranch: "main"},
				Overlay: "overlays/dev",
				Branch:  "env/dev",
			},
		},
	}
	t.OwnerReferences = []metav1.OwnerReference{f.owner}
	for _, a := range apps {
		t.Spec.ForProvider.Applications = append(t.Spec.ForProvider.Applications, v1alpha1.ApplicationReference{Name: a, Namespace: f.argoNS})
	}
	if mutate != nil {
		mutate(t)
	}
	return t
}

// asIfStored gives tk, a Ticket the API server refused, what the API server
// would have given it: the provider's own checks then run on it as they would
// behind a CRD older than the provider.
func asIfStored(tk *v1alpha1.Ticket) {
	tk.SetGroupVersionKind(v1alpha1.TicketGroupVersionKind)
	tk.SetUID(types.UID("never-stored-" + tk.Namespace + "-" + tk.Name))
}

func change(commit, tag string) v1alpha1.Change {
	imgs := []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: tag}}
	return v1alpha1.Change{ID: v1alpha1.ChangeID(commit, imgs), Commit: commit, Images: imgs}
}

func getTicket(t testing.TB, key client.ObjectKey) *v1alpha1.Ticket {
	t.Helper()
	tk := &v1alpha1.Ticket{}
	must(t, kube.Get(context.Background(), key, tk))
	return tk
}

func (f *fixture) app(name string) *unstructured.Unstructured {
	f.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"})
	must(f.t, kube.Get(context.Background(), types.NamespacedName{Namespace: f.argoNS, Name: name}, u))
	return u
}

func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	kubeenv.Eventually(t, what, cond)
}

func condition(tk *v1alpha1.Ticket, ct xpv2.ConditionType) xpv2.Condition {
	return tk.GetCondition(ct)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
