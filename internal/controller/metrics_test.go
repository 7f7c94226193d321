package controller_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/event"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	xpcontroller "github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/k8sta/k8sta/apis"
	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
	"github.com/k8sta/k8sta/internal/controller"
	"github.com/k8sta/k8sta/internal/controller/subscription"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/metrics"
	"github.com/k8sta/k8sta/internal/render"
	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
	"github.com/k8sta/k8sta/internal/webhook"
)

// This test runs the provider as cmd/provider wires it (every controller,
// the webhook receiver, K8sTA's metrics registered with controller-runtime's
// registry and served by the manager's metrics server) against a real
// kube-apiserver, a real git server and a real registry, and scrapes the
// metrics over HTTP. Argo CD is not running: the test writes the
// Applications' status as Argo CD's application-controller does.

var (
	env  *kubeenv.Environment
	kube client.Client
	// metricsFD is the metrics server's listening socket: it binds
	// 127.0.0.1:0, and the test asks the socket which port it got.
	metricsFD atomic.Int64
	// hooks is the webhook receiver's address.
	hooks string
	// runs numbers the test's runs (-count), each in namespaces of its own.
	runs atomic.Int64
)

func TestMain(m *testing.M) {
	// The Ticket controller renders in workers that re-execute this binary.
	render.RunWorkerIfRequested()
	kubeenv.Main(m, &env, setup)
}

func setup(e *kubeenv.Environment) (func(), error) {
	ctrl.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apis.AddToScheme, argocd.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	track, err := kubeenv.TrackCRD()
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{track}}); err != nil {
		return nil, err
	}
	metricsFD.Store(-1)
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{
		BindAddress: "127.0.0.1:0",
		ListenConfig: net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { metricsFD.Store(int64(fd)) })
		}},
	}})
	if err != nil {
		return nil, err
	}
	m := metrics.New(mgr.GetCache())
	if err := m.Register(ctrlmetrics.Registry); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "k8sta-metrics-test-")
	if err != nil {
		return nil, err
	}
	policy, err := repourl.NewPolicy("127.0.0.1")
	if err != nil {
		return nil, err
	}
	// Fetches are shared for an hour: the test counts them, and no count
	// may depend on how fast the Subscription and the Tickets follow each
	// other.
	repos, err := gitrepo.NewCache(dir, gitrepo.WithPolicy(policy), gitrepo.WithFetchWindow(time.Hour), gitrepo.WithRequestObserver(m.GitRequest))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan event.GenericEvent, 16)
	receiver, err := subscription.NewWebhookReceiver(ctx, mgr.GetCache(), wake, webhook.NewWakeLimiter(0, 1), webhook.WithObserver(m.WebhookRequest))
	if err != nil {
		cancel()
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	hooks = l.Addr().String()
	if err := controller.Setup(mgr, controller.Options{
		Options: xpcontroller.Options{
			Logger:                  logging.NewNopLogger(),
			MaxConcurrentReconciles: 4,
			// An hour: progress must come from watches, never from polling.
			PollInterval: time.Hour,
			Features:     &feature.Flags{},
		},
		Repos:                   repos,
		Author:                  gitrepo.Signature{Name: "K8sTA", Email: "k8sta@k8sta.io"},
		Renderer:                render.NewRenderer(render.Limits{}, render.WithBuildObserver(m.Render)),
		MinSubscriptionInterval: time.Hour,
		WakeSubscriptions:       wake,
		RegistryTagsWindow:      time.Hour,
		Metrics:                 m,
	}); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		if err := receiver.Serve(ctx, l); err != nil {
			fmt.Fprintln(os.Stderr, "webhook receiver stopped:", err)
		}
	}()
	kube, err = client.New(e.Config, client.Options{Scheme: s})
	if err != nil {
		cancel()
		return nil, err
	}
	return func() { cancel(); <-done; <-done; _ = os.RemoveAll(dir) }, nil
}

// The provider's metrics after a promotion, scraped from its metrics
// endpoint: a Subscription finds an image, dev verifies the change, int
// fails it, qa is blocked; each verdict counts once, the lead time and the
// hop are what the test's own timestamps bound, every request to git, the
// registry and the webhook receiver is counted by bounded labels, and the
// Tickets are counted by phase until they go, their series with them.
func TestMetricsOfAPromotion(t *testing.T) {
	ctx := context.Background()
	n := runs.Add(1)
	ns, argoNS := fmt.Sprintf("team-%d", n), fmt.Sprintf("argocd-%d", n)
	// The counts of the provider's requests, renders and webhooks are
	// counted from here: a test run before this one (-count) made its own.
	before := scrape(t)
	git := gitserver.New(t)
	git.CreateRepo(t, "config", gitserver.KustomizeTree())
	image := registryWithImage(t, "acme/guestbook", "1.0.0")
	for _, n := range []string{ns, argoNS} {
		must(t, kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	must(t, kube.Create(ctx, &v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}))
	pc := &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	repo := v1alpha1.Repository{URL: git.URL("config"), SourceBranch: "main"}

	// The Subscription discovers the change.
	sub := &v1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "guestbook"},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pc},
			ForProvider: v1alpha1.SubscriptionParameters{
				Repo:   repo,
				Images: []v1alpha1.ImageSubscription{{Repository: image, Strategy: "SemVer"}},
			},
		},
	}
	must(t, kube.Create(ctx, sub))
	var change v1alpha1.Change
	eventually(t, "the Subscription's newest change", func() (bool, string) {
		s := &v1alpha1.Subscription{}
		must(t, kube.Get(ctx, client.ObjectKeyFromObject(sub), s))
		if s.Status.AtProvider.Newest == nil {
			return false, s.GetCondition(xpv2.TypeReady).Message
		}
		change = *s.Status.AtProvider.Newest
		return true, ""
	})

	// Three stations of the Track guestbook deliver it: the test sets when
	// it was discovered (t0) and when dev was released it (t1).
	owner := trackXR(t, ns, "guestbook")
	start := time.Now()
	t0 := start.Add(-2 * time.Hour).Truncate(time.Second)
	t1 := start.Add(-time.Hour).Truncate(time.Second)
	change.DiscoveredAt = &metav1.Time{Time: t0}
	ticket := func(station string, app string, released *time.Time) types.NamespacedName {
		tk := &v1alpha1.Ticket{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "guestbook-" + station, OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: v1alpha1.TicketSpec{
				ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: pc},
				ForProvider: v1alpha1.TicketParameters{
					Track: "guestbook", Station: station, Change: change, Repo: repo,
					Overlay: "overlays/dev", Branch: "env/" + station,
					Applications: []v1alpha1.ApplicationReference{{Name: app, Namespace: argoNS}},
				},
			},
		}
		if released != nil {
			tk.Annotations = map[string]string{v1alpha1.AnnotationReleasedAt: released.UTC().Format(time.RFC3339)}
		}
		must(t, kube.Create(ctx, tk))
		return client.ObjectKeyFromObject(tk)
	}
	application(t, argoNS, "guestbook-dev", ns+"/guestbook", git.URL("config"), "env/dev")
	application(t, argoNS, "guestbook-int", ns+"/guestbook", git.URL("config"), "env/int")
	ticket("dev", "guestbook-dev", &t1)
	ticket("int", "guestbook-int", nil)
	qa := ticket("qa", "guestbook-qa", nil) // no such Application: Blocked

	argoSyncs(t, argoNS, "guestbook-dev", "Healthy")
	argoSyncs(t, argoNS, "guestbook-int", "Degraded")
	phases := map[string]string{"dev": v1alpha1.PhaseVerified, "int": v1alpha1.PhaseFailed, "qa": v1alpha1.PhaseBlocked}
	for station, want := range phases {
		eventually(t, station+" "+want, func() (bool, string) {
			tk := &v1alpha1.Ticket{}
			must(t, kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: "guestbook-" + station}, tk))
			return tk.Status.AtProvider.Phase == want, tk.Status.AtProvider.Phase
		})
	}
	end := time.Now()

	station := func(s string) map[string]string {
		return map[string]string{"namespace": ns, "track": "guestbook", "station": s}
	}
	with := func(l map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range l {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	want := map[string]float64{
		series(metrics.NamePromotions, with(station("dev"), "result", "verified")):           1,
		series(metrics.NamePromotions, with(station("int"), "result", "failed")):             1,
		series(metrics.NamePromotions, with(station("qa"), "result", "blocked")):             1,
		series(metrics.NameLeadTime+"_count", station("dev")):                                1,
		series(metrics.NameHop+"_count", station("dev")):                                     1,
		series(metrics.NameTickets, map[string]string{"namespace": ns, "phase": "Verified"}): 1,
		series(metrics.NameTickets, map[string]string{"namespace": ns, "phase": "Failed"}):   1,
		series(metrics.NameTickets, map[string]string{"namespace": ns, "phase": "Blocked"}):  1,
		// dev and int rendered and pushed; qa never got that far. The
		// Subscription's fetch served every Ticket.
		series(metrics.NameRenderDuration+"_count", map[string]string{"result": "rendered"}):              2,
		series(metrics.NameGitRequests, map[string]string{"operation": "fetch", "result": "success"}):     1,
		series(metrics.NameGitRequests, map[string]string{"operation": "push", "result": "success"}):      2,
		series(metrics.NameGitDuration+"_count", map[string]string{"operation": "fetch"}):                 1,
		series(metrics.NameGitDuration+"_count", map[string]string{"operation": "push"}):                  2,
		series(metrics.NameRegistryRequests, map[string]string{"operation": "tags", "result": "success"}): 1,
	}
	// k8sta_tickets is counted from the provider's cache at the scrape,
	// which may see the last phase a moment after the API server does.
	var got map[string]float64
	eventually(t, "the scrape says what the promotion did", func() (bool, string) {
		got = scrape(t)
		diff := cmp.Diff(want, since(before, got, want))
		return diff == "", "scraped: -want, +got:\n" + diff
	})
	// int has no release time, qa was never verified.
	for _, absent := range []string{series(metrics.NameHop+"_count", station("int")), series(metrics.NameLeadTime+"_count", station("int")), series(metrics.NameLeadTime+"_count", station("qa"))} {
		if v, ok := got[absent]; ok {
			t.Errorf("scraped %s %v, want no such series", absent, v)
		}
	}
	// The durations lie between what the test's clock saw: verified and
	// pushed after start, before end; the stored times are seconds.
	within(t, "lead time", got[series(metrics.NameLeadTime+"_sum", station("dev"))], start.Truncate(time.Second).Sub(t0), end.Sub(t0))
	within(t, "hop", got[series(metrics.NameHop+"_sum", station("dev"))], start.Sub(t1), end.Sub(t1))

	// No series of K8sTA's names a host, a repository, a commit or an
	// image: only words of the libraries' vocabularies.
	for s := range got {
		if !strings.HasPrefix(s, "k8sta_") {
			continue
		}
		for _, never := range []string{"127.0.0.1", "acme/guestbook", "config", change.Commit, change.ID, change.Images[0].Digest} {
			if strings.Contains(s, never) {
				t.Errorf("series %s names %q", s, never)
			}
		}
	}

	// Webhooks: by sender, the kinds only; and by status code.
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/hook/github/" + ns + ".guestbook"},                         // unsigned: 401
		{http.MethodGet, "/hook/quay/" + ns + ".guestbook/" + strings.Repeat("k", 43)}, // not a POST: 405
		{http.MethodPost, "/hook/" + strings.Repeat("evil", 30) + "/x"},                // no such kind: 404
	} {
		req, err := http.NewRequestWithContext(ctx, r.method, "http://"+hooks+r.path, strings.NewReader("{}"))
		must(t, err)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		_ = resp.Body.Close()
	}
	got = scrape(t)
	wantHooks := map[string]float64{
		series(metrics.NameWebhookRequests, map[string]string{"sender": "github", "code": "401"}):  1,
		series(metrics.NameWebhookRequests, map[string]string{"sender": "quay", "code": "405"}):    1,
		series(metrics.NameWebhookRequests, map[string]string{"sender": "unknown", "code": "404"}): 1,
	}
	if diff := cmp.Diff(wantHooks, since(before, got, wantHooks)); diff != "" {
		t.Errorf("webhook requests: -want, +got:\n%s", diff)
	}
	for s, v := range got {
		if _, ok := wantHooks[s]; !ok && strings.HasPrefix(s, metrics.NameWebhookRequests+"{") && v != before[s] {
			t.Errorf("webhook requests: %s %v, want none", s, v-before[s])
		}
	}

	// qa goes, and its series with it; dev's stay.
	must(t, kube.Delete(ctx, &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Namespace: qa.Namespace, Name: qa.Name}}))
	blocked := series(metrics.NamePromotions, with(station("qa"), "result", "blocked"))
	eventually(t, "qa's series gone", func() (bool, string) {
		got = scrape(t)
		_, ok := got[blocked]
		return !ok, blocked
	})
	if _, ok := got[series(metrics.NameTickets, map[string]string{"namespace": ns, "phase": "Blocked"})]; ok {
		t.Error("a Blocked Ticket counted after it went")
	}
	if got[series(metrics.NamePromotions, with(station("dev"), "result", "verified"))] != 1 {
		t.Error("dev's series went with qa's Ticket")
	}
}

// registryWithImage serves go-containerregistry's registry on 127.0.0.1
// holding repo:tag, and returns the image repository.
func registryWithImage(t *testing.T, repo, tag string) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/" + repo
	img, err := random.Image(256, 1)
	must(t, err)
	ref, err := name.ParseReference(image+":"+tag, name.Insecure)
	must(t, err)
	must(t, remote.Write(ref, img))
	return image
}

// trackXR creates the Track XR name and returns the controller reference
// Crossplane sets on what it composes.
func trackXR(t *testing.T, ns, name string) metav1.OwnerReference {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "k8sta.io/v1alpha1", "kind": "Track",
		"metadata": map[string]any{"name": name, "namespace": ns},
		// The least spec the Track XRD's schema admits: the Ticket
		// controller reads only the Track's metadata.
		"spec": map[string]any{
			"repo":     map[string]any{"url": "http://127.0.0.1/config"},
			"stations": []any{map[string]any{"name": "dev", "overlay": "dev", "applications": []any{map[string]any{"name": "dev"}}}},
		},
	}}
	must(t, kube.Create(context.Background(), u))
	yes := true
	return metav1.OwnerReference{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), UID: u.GetUID(), Controller: &yes, BlockOwnerDeletion: &yes}
}

// application creates an Argo CD Application of branch that authorizes
// track.
func application(t *testing.T, ns, name, track, repoURL, branch string) {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": ns, "annotations": map[string]any{argocd.AuthorizedTracksAnnotation: track}},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": repoURL, "targetRevision": branch, "path": "."},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
		},
	}}
	must(t, kube.Create(context.Background(), u))
}

// argoSyncs does what Argo CD's application-controller does with the sync
// the Ticket asks for: runs it, and reports the Application Synced to its
// revision with health.
func argoSyncs(t *testing.T, ns, name, health string) {
	t.Helper()
	key := types.NamespacedName{Namespace: ns, Name: name}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(argocd.GroupVersion.WithKind("Application"))
	eventually(t, "a sync of "+name, func() (bool, string) {
		must(t, kube.Get(context.Background(), key, u))
		_, ok := u.Object["operation"]
		return ok, "no operation"
	})
	op, _, _ := unstructured.NestedMap(u.Object, "operation")
	revision, _, _ := unstructured.NestedString(op, "sync", "revision")
	unstructured.RemoveNestedField(u.Object, "operation")
	at := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{
		"operation": op, "phase": "Succeeded", "message": "successfully synced (all tasks run)",
		"startedAt": at, "finishedAt": at, "syncResult": map[string]any{"revision": revision},
	}, "status", "operationState"))
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{"status": "Synced", "revision": revision}, "status", "sync"))
	must(t, unstructured.SetNestedMap(u.Object, map[string]any{"status": health}, "status", "health"))
	must(t, unstructured.SetNestedField(u.Object, at, "status", "reconciledAt"))
	must(t, kube.Update(context.Background(), u))
}

// scrape GETs the manager's /metrics and returns every sample as
// series(name, labels) → value: a histogram as its _count and _sum.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	var addr string
	eventually(t, "the metrics server's address", func() (bool, string) {
		fd := metricsFD.Load()
		if fd < 0 {
			return false, "not listening yet"
		}
		sa, err := syscall.Getsockname(int(fd))
		if err != nil {
			return false, err.Error()
		}
		in, ok := sa.(*syscall.SockaddrInet4)
		if !ok || in.Port == 0 {
			return false, "not bound yet"
		}
		addr = fmt.Sprintf("127.0.0.1:%d", in.Port)
		return true, ""
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	must(t, err)
	out := map[string]float64{}
	for n, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				out[series(n+"_count", l)] = float64(m.GetHistogram().GetSampleCount())
				out[series(n+"_sum", l)] = m.GetHistogram().GetSampleSum()
			case dto.MetricType_COUNTER:
				out[series(n, l)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[series(n, l)] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// series is a sample's name: name{k="v",...}, labels sorted.
func series(name string, labels map[string]string) string {
	ks := make([]string, 0, len(labels))
	for k := range labels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for i, k := range ks {
		ks[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return name + "{" + strings.Join(ks, ",") + "}"
}

// since is how much each series want names grew from before to got; a
// series that did not grow is left out.
func since(before, got, want map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for s := range want {
		if d := got[s] - before[s]; d != 0 {
			out[s] = d
		}
	}
	return out
}

// within fails t unless seconds lies in [lo, hi].
func within(t *testing.T, what string, seconds float64, lo, hi time.Duration) {
	t.Helper()
	if math.IsNaN(seconds) || seconds < lo.Seconds() || seconds > hi.Seconds() {
		t.Errorf("%s: %v s, want within [%v, %v]", what, seconds, lo.Seconds(), hi.Seconds())
	}
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
