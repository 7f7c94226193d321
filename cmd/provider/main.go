// Command provider runs provider-k8sta: the Ticket, Subscription and
// provider-config controllers and the webhook receiver.
package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alecthomas/kong"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"

	"github.com/k8sta/k8sta/apis"
	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
	xcontroller "github.com/k8sta/k8sta/internal/controller"
	"github.com/k8sta/k8sta/internal/controller/subscription"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/metrics"
	"github.com/k8sta/k8sta/internal/registry"
	"github.com/k8sta/k8sta/internal/render"
	"github.com/k8sta/k8sta/internal/repourl"
	"github.com/k8sta/k8sta/internal/webhook"
)

// version is set at build time (make images: -X main.version).
var version = "dev"

type cli struct {
	Debug            bool          `help:"Log at debug level."`
	Poll             time.Duration `default:"1m" help:"How often each resource is re-checked when no watch event arrives (the safety net)."`
	MaxReconcileRate int           `default:"100" help:"The global maximum rate per second at which resources may be checked."`
	CacheDir         string        `default:"${cache_dir}" help:"Directory holding one cached clone per config repository."`
	AuthorName       string        `default:"K8sTA" help:"Author name of rendered commits."`
	AuthorEmail      string        `default:"k8sta@k8sta.io" help:"Author email of rendered commits."`
	MetricsAddress   string        `default:":8080" help:"Address the metrics server binds to: controller-runtime's metrics and K8sTA's own (k8sta_*, see the README's \"Metrics\")."`
	HealthAddress    string        `default:":8081" help:"Address the health probes bind to."`
	LeaderElection   bool          `help:"Use leader election, for running more than one replica."`

	WebhookAddress          string        `default:":8090" help:"Address the webhook receiver binds to (registries and git hosts post to /hook/<kind>/...)."`
	WebhookWakeEvery        time.Duration `default:"${wake_every}" help:"Webhooks wake each Subscription at most once per this long, after a burst of --webhook-wake-burst (0: no limit). A wake held back runs when the limit allows."`
	WebhookWakeBurst        int           `default:"${wake_burst}" help:"How many webhooks may wake one Subscription at once before --webhook-wake-every applies."`
	WebhookMaxBodies        int           `default:"${webhook_max_bodies}" help:"How many webhook bodies (up to 1 MiB each) are read at once; a webhook past them is answered 503 with Retry-After."`
	MinSubscriptionInterval time.Duration `default:"30s" help:"The floor under every Subscription's poll interval."`
	InsecureRegistry        []string      `help:"A registry host (host:port) reached over plain HTTP; repeat for more. Loopback registries always are."`

	InsecureGitHost             []string      `help:"A git host (host, or host:port) reached over plain http://; repeat for more. Loopback is no exception; every other repository URL must be https:// or ssh."`
	GitCacheMaxRepoBytes        int64         `default:"${git_cache_max_repo_bytes}" help:"Disk one cached clone may use; a fetch past it is refused."`
	GitCacheMaxBytes            int64         `default:"${git_cache_max_bytes}" help:"Disk all cached clones may use; least recently used clones not in use are deleted past it."`
	GitMaxObjectBytes           int64         `default:"${git_max_object_bytes}" help:"Largest git object (bytes, inflated) a fetch accepts, and largest object a delta may build; a delta chain may need 8 times it. Fetching indexes each object in memory."`
	GitMaxPackObjects           int64         `default:"${git_max_pack_objects}" help:"Most objects one fetched pack may hold."`
	GitMaxPackInflatedBytes     int64         `default:"${git_max_pack_inflated_bytes}" help:"Most bytes the objects of one fetched pack may inflate to together."`
	GitFetchWindow              time.Duration `default:"${git_fetch_window}" help:"A fetch of a cached clone that started at most this long ago serves every reader that was not told of a push, so the Subscriptions and Tickets of one repository share one fetch per burst (0: every read fetches afresh; concurrent ones still share). A Subscription woken by a webhook always reads from a fetch that started after the webhook."`
	RegistryTagsWindow          time.Duration `default:"${registry_tags_window}" help:"A tags list that started at most this long ago serves every poll of that image repository (with the same pull secrets) that was not told of a new tag (0: every poll lists afresh; concurrent ones still share)."`
	RenderTimeout               time.Duration `default:"${render_timeout}" help:"Wall-clock budget of one render; its worker is killed past it."`
	RenderMaxMemory             int64         `default:"${render_max_memory}" help:"Memory (bytes) one render worker may use. The provider needs room for --render-max-parallel of them."`
	RenderMaxParallel           int           `default:"${render_max_parallel}" help:"Renders that run at once."`
	RenderMaxParallelPerTenant  int           `default:"${render_max_parallel_per_tenant}" help:"Renders one namespace may run at once, of --render-max-parallel; its Tickets' next renders are retried once one is done."`
	RenderMaxFileBytes          int64         `default:"${render_max_file_bytes}" help:"Largest file (bytes) a render reads."`
	RenderMaxKustomizationBytes int64         `default:"${render_max_kustomization_bytes}" help:"Largest kustomization or plugin configuration file (bytes) a render reads."`
	RenderMaxOverlayBytes       int64         `default:"${render_max_overlay_bytes}" help:"Most bytes a render reads: every file in or below the directories of the kustomizations an overlay reaches."`
	RenderMaxFiles              int           `default:"${render_max_files}" help:"Most files a render reads."`
	RenderMaxYAMLNodes          int64         `default:"${render_max_yaml_nodes}" help:"Most YAML nodes, aliases expanded, in the documents of an overlay that use aliases."`
	RenderMaxOutputBytes        int64         `default:"${render_max_output_bytes}" help:"Largest rendered output (bytes) of one render."`
}

func (c *cli) renderLimits() render.Limits {
	return render.Limits{
		Timeout:               c.RenderTimeout,
		MaxMemory:             c.RenderMaxMemory,
		MaxFileBytes:          c.RenderMaxFileBytes,
		MaxOverlayBytes:       c.RenderMaxOverlayBytes,
		MaxFiles:              c.RenderMaxFiles,
		MaxKustomizationBytes: c.RenderMaxKustomizationBytes,
		MaxYAMLNodes:          c.RenderMaxYAMLNodes,
		MaxOutputBytes:        c.RenderMaxOutputBytes,
		MaxParallel:           c.RenderMaxParallel,
		MaxParallelPerTenant:  c.RenderMaxParallelPerTenant,
	}
}

func limitVars() kong.Vars {
	d := render.DefaultLimits()
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return kong.Vars{
		"render_timeout":                 d.Timeout.String(),
		"render_max_memory":              i(d.MaxMemory),
		"render_max_parallel":            strconv.Itoa(d.MaxParallel),
		"render_max_parallel_per_tenant": strconv.Itoa(d.MaxParallelPerTenant),
		"render_max_file_bytes":          i(d.MaxFileBytes),
		"render_max_kustomization_bytes": i(d.MaxKustomizationBytes),
		"render_max_overlay_bytes":       i(d.MaxOverlayBytes),
		"render_max_files":               strconv.Itoa(d.MaxFiles),
		"render_max_yaml_nodes":          i(d.MaxYAMLNodes),
		"render_max_output_bytes":        i(d.MaxOutputBytes),
	}
}

func main() {
	// Renders run in workers that re-execute this program.
	render.RunWorkerIfRequested()

	var c cli
	kctx := kong.Parse(&c, kong.Description("provider-k8sta: moves changes through a Track of Argo CD environments."),
		kong.Vars{
			"cache_dir":                   filepath.Join(os.TempDir(), "k8sta-repos"),
			"git_cache_max_repo_bytes":    strconv.FormatInt(gitrepo.DefaultMaxRepoBytes, 10),
			"git_cache_max_bytes":         strconv.FormatInt(gitrepo.DefaultMaxBytes, 10),
			"git_max_object_bytes":        strconv.FormatInt(gitrepo.DefaultMaxObjectBytes, 10),
			"git_max_pack_objects":        strconv.FormatInt(gitrepo.DefaultMaxPackObjects, 10),
			"git_max_pack_inflated_bytes": strconv.FormatInt(gitrepo.DefaultMaxPackInflatedBytes, 10),
			"git_fetch_window":            gitrepo.DefaultFetchWindow.String(),
			"registry_tags_window":        registry.DefaultTagsWindow.String(),
			"wake_every":                  webhook.DefaultWakeEvery.String(),
			"wake_burst":                  strconv.Itoa(webhook.DefaultWakeBurst),
			"webhook_max_bodies":          strconv.Itoa(webhook.DefaultMaxConcurrentBodies),
		}, limitVars())
	kctx.FatalIfErrorf(c.run())
}

func (c *cli) run() error {
	level := zapcore.InfoLevel
	if c.Debug {
		level = zapcore.DebugLevel
	}
	zl := zap.New(zap.Level(level))
	ctrl.SetLogger(zl)
	log := logging.NewLogrLogger(zl.WithName("provider-k8sta"))

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apis.AddToScheme, argocd.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		// Secrets are read one at a time, when a ProviderConfig names them:
		// caching them would mean watching every Secret of the cluster.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// The webhook receiver, though, reads Secrets for every request,
		// authenticated or not: from the cache, which holds only the webhook
		// Secrets labelled k8sta.io/webhook (by the provider, or by a user
		// letting a ProviderConfig's webhook use a Secret they made).
		Cache:                  cache.Options{ByObject: subscription.WebhookCacheByObject()},
		Metrics:                metricsserver.Options{BindAddress: c.MetricsAddress},
		HealthProbeBindAddress: c.HealthAddress,
		LeaderElection:         c.LeaderElection,
		LeaderElectionID:       "crossplane-leader-election-provider-k8sta",
	})
	if err != nil {
		return err
	}
	// K8sTA's own metrics, served with controller-runtime's on
	// --metrics-address; Tickets are counted from the manager's cache.
	m := metrics.New(mgr.GetCache())
	if err := m.Register(ctrlmetrics.Registry); err != nil {
		return err
	}
	policy, err := repourl.NewPolicy(c.InsecureGitHost...)
	if err != nil {
		return err
	}
	repos, err := gitrepo.NewCache(c.CacheDir, gitrepo.WithPolicy(policy),
		gitrepo.WithMaxRepoBytes(c.GitCacheMaxRepoBytes), gitrepo.WithMaxBytes(c.GitCacheMaxBytes),
		gitrepo.WithFetchWindow(c.GitFetchWindow), gitrepo.WithRequestObserver(m.GitRequest),
		gitrepo.WithPackLimits(gitrepo.PackLimits{
			MaxObjectBytes:   c.GitMaxObjectBytes,
			MaxObjects:       c.GitMaxPackObjects,
			MaxInflatedBytes: c.GitMaxPackInflatedBytes,
		}))
	if err != nil {
		return err
	}
	wake := make(chan event.GenericEvent, 1024)
	receiver, err := subscription.NewWebhookReceiver(context.Background(), mgr.GetCache(), wake,
		webhook.NewWakeLimiter(c.WebhookWakeEvery, c.WebhookWakeBurst), webhook.WithMaxConcurrentBodies(c.WebhookMaxBodies), webhook.WithObserver(m.WebhookRequest))
	if err != nil {
		return err
	}
	if err := mgr.Add(everyReplica(func(ctx context.Context) error {
		// Sync the informers before the first request, rather than on it.
		for _, o := range []client.Object{
			&corev1.Secret{}, &v1alpha1.Subscription{}, &v1alpha1.ProviderConfig{}, &v1alpha1.ClusterProviderConfig{}, &corev1.Namespace{},
		} {
			if _, err := mgr.GetCache().GetInformer(ctx, o); err != nil {
				return err
			}
		}
		return receiver.ListenAndServe(ctx, c.WebhookAddress)
	})); err != nil {
		return err
	}
	o := xcontroller.Options{
		Options: controller.Options{
			Logger:                  log,
			MaxConcurrentReconciles: 10,
			PollInterval:            c.Poll,
			GlobalRateLimiter:       ratelimiter.NewGlobal(c.MaxReconcileRate),
			Features:                &feature.Flags{},
		},
		Repos:                   repos,
		Author:                  gitrepo.Signature{Name: c.AuthorName, Email: c.AuthorEmail},
		Renderer:                render.NewRenderer(c.renderLimits(), render.WithBuildObserver(m.Render)),
		MinSubscriptionInterval: c.MinSubscriptionInterval,
		InsecureRegistries:      c.InsecureRegistry,
		WakeSubscriptions:       wake,
		RegistryTagsWindow:      c.RegistryTagsWindow,
		Metrics:                 m,
	}
	if err := xcontroller.Setup(mgr, o); err != nil {
		return err
	}
	log.Info("starting provider-k8sta", "version", version, "cacheDir", c.CacheDir, "webhookAddress", c.WebhookAddress)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// everyReplica runs on every replica, leader or not, so that a webhook sent
// to any replica is answered; only the leader's controllers act on it.
type everyReplica func(ctx context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

func (everyReplica) NeedLeaderElection() bool { return false }
