// Package ticket is the Ticket controller: it glues gitrepo, render and argocd
// to crossplane-runtime's managed reconciler.
package ticket

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
	"github.com/k8sta/k8sta/internal/bounded"
	"github.com/k8sta/k8sta/internal/controller/credentials"
	"github.com/k8sta/k8sta/internal/controller/writes"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/metrics"
	"github.com/k8sta/k8sta/internal/render"
)

// errApplicationNotFound marks a Ticket that names an Application that does
// not exist: bad input, not a passing failure.
var errApplicationNotFound = errors.New("no such Application")

// indexApplications indexes Tickets by the "<namespace>/<name>" of each
// Application they deliver to, so an Application event wakes exactly them.
const indexApplications = "spec.forProvider.applications"

// Options configure the Ticket controller.
type Options struct {
	controller.Options

	// Repos is the clone cache shared with the Subscription controller.
	Repos *gitrepo.Cache

	// Author signs rendered commits.
	Author gitrepo.Signature

	// Renderer builds overlays; nil renders within render.DefaultLimits.
	Renderer *render.Renderer

	// Metrics record each change's hops and verdicts; nil records none.
	Metrics *metrics.Metrics
}

// Setup adds the Ticket controller to mgr. It watches Argo CD Applications in
// the provider's own cluster: a status change of an Application reconciles the
// Tickets that reference it at once, and polling is only the safety net.
func Setup(mgr ctrl.Manager, o Options) error {
	name := managed.ControllerName(v1alpha1.TicketKind)

	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Ticket{}, indexApplications, applicationKeys); err != nil {
		return errors.Wrap(err, "cannot index Tickets by Application")
	}

	renderer := o.Renderer
	if renderer == nil {
		renderer = render.NewRenderer(render.DefaultLimits())
	}
	waiters := newRenderWaiters(renderer.Limits().MaxParallelPerTenant)
	renderer.OnTenantFreed(waiters.freed)
	argo := newArgoClients(mgr.GetClient(), mgr.GetScheme())
	argo.localLive = mgr.GetAPIReader()
	recorder := writes.DropRepeats(event.NewAPIRecorder(mgr.GetEventRecorderFor(name)), writes.DefaultRepeatWindow) //nolint:staticcheck // crossplane-runtime's event.NewAPIRecorder takes the old record.EventRecorder.
	c := &connector{kube: mgr.GetClient(), live: mgr.GetAPIReader(), repos: o.Repos, author: o.Author, renderer: renderer, waiters: waiters, argo: argo, metrics: o.Metrics}
	c.events = recorder
	r := managed.NewReconciler(writes.SkipUnchangedStatus(mgr), resource.ManagedKind(v1alpha1.TicketGroupVersionKind),
		managed.WithTypedExternalConnector[*v1alpha1.Ticket](c),
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithRecorder(recorder),
		// Nothing to name and nothing to clean up: no external-name
		// annotation, no finalizer, so no write for either.
		managed.WithInitializers(),
		managed.WithFinalizer(writes.NoFinalizer(mgr.GetClient())),
		managed.WithPollInterval(o.PollInterval),
		managed.WithPollIntervalHook(func(mg resource.Managed, d time.Duration) time.Duration {
			if waiters.atHead(types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}) {
				return min(d, renderWaitRecheck)
			}
			return d
		}),
		managed.WithManagementPolicies(),
	)

	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(&v1alpha1.Ticket{}, builder.WithPredicates(resource.DesiredStateChanged())).
		Watches(&argocd.Application{}, handler.EnqueueRequestsFromMapFunc(ticketsFor(mgr.GetClient()))).
		WatchesRawSource(source.Channel(waiters.wake, &handler.EnqueueRequestForObject{}))
	if o.Metrics != nil {
		// A Ticket leaves no reconcile behind when it goes (no finalizer):
		// its series go when the cache sees it go.
		b = b.WatchesRawSource(source.Kind(mgr.GetCache(), &v1alpha1.Ticket{}, handler.TypedFuncs[*v1alpha1.Ticket, reconcile.Request]{
			DeleteFunc: func(_ context.Context, e ctrlevent.TypedDeleteEvent[*v1alpha1.Ticket], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				o.Metrics.Forget(e.Object)
			},
		}))
	}
	return b.Complete(r)
}

func applicationKeys(o client.Object) []string {
	t, ok := o.(*v1alpha1.Ticket)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(t.Spec.ForProvider.Applications))
	for _, a := range t.Spec.ForProvider.Applications {
		keys = append(keys, applicationKey(a))
	}
	return keys
}

func applicationKey(a v1alpha1.ApplicationReference) string {
	return a.NamespaceOrDefault() + "/" + a.Name
}

func ticketsFor(c client.Client) handler.MapFunc {
	return func(ctx context.Context, app client.Object) []reconcile.Request {
		l := &v1alpha1.TicketList{}
		if err := c.List(ctx, l, client.MatchingFields{indexApplications: app.GetNamespace() + "/" + app.GetName()}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(l.Items))
		for _, t := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: t.Namespace, Name: t.Name}})
		}
		return reqs
	}
}

type connector struct {
	kube     client.Client
	live     client.Reader
	repos    *gitrepo.Cache
	author   gitrepo.Signature
	renderer *render.Renderer
	waiters  *renderWaiters
	argo     *argoClients
	// events records the Ticket's steps for a person to follow.
	events event.Recorder
	// metrics record each change's hops and verdicts.
	metrics *metrics.Metrics
}

func (c *connector) Connect(ctx context.Context, t *v1alpha1.Ticket) (managed.TypedExternalClient[*v1alpha1.Ticket], error) {
	creds, err := credentials.Resolve(ctx, c.kube, t)
	if err != nil {
		return nil, err
	}
	argo, err := c.argo.For(creds.ArgoCDKubeconfigSecret, creds.ArgoCDKubeconfig)
	if err != nil {
		return nil, err
	}
	if meta.WasDeleted(t) {
		// Nothing to fetch: a Ticket whose URL is refused can still go.
		return &external{author: c.author, argo: argo, waiters: c.waiters, events: c.events, metrics: c.metrics, now: time.Now}, nil
	}
	u, err := c.repos.Policy().Parse(t.Spec.ForProvider.Repo.URL)
	if err != nil {
		return nil, errors.Wrap(err, "spec.forProvider.repo.url")
	}
	// Before any request: the config's git credentials must be for this
	// repository.
	auth, err := creds.Git.For(u, c.repos.Policy())
	if err != nil {
		return nil, err
	}
	// The clone is this repository's for these credentials only, held
	// until Disconnect.
	repo, err := c.repos.Repo(u, auth)
	if err != nil {
		return nil, errors.Wrap(err, "spec.forProvider.repo.url")
	}
	return &external{
		kube:     c.kube,
		live:     c.live,
		repo:     repo,
		author:   c.author,
		renderer: c.renderer,
		waiters:  c.waiters,
		argo:     argo,
		argoLive: c.argo.Live(argo),
		events:   c.events,
		metrics:  c.metrics,
		now:      time.Now,
	}, nil
}

// external delivers one Ticket's change during one reconcile. Observe leaves
// what it learnt in the fields below for Update.
type external struct {
	// kube reads Track XRs live: the manager's client does not cache
	// unstructured objects.
	kube client.Reader
	// live reads the Ticket itself from the API server, not the cache.
	live     client.Reader
	repo     *gitrepo.Repo
	author   gitrepo.Signature
	renderer *render.Renderer
	waiters  *renderWaiters
	argo     client.Client
	// argoLive reads, uncached, the cluster Argo CD runs in.
	argoLive client.Reader
	// events records the steps of the Ticket; told is the phase the last
	// Event (or the stored status) was about, so that each step is told
	// once.
	events event.Recorder
	told   string
	// metrics are told of the push and the verdict, with the Events.
	metrics *metrics.Metrics
	now     func() time.Time

	apps     []*argocd.Application
	sources  []int
	rendered string
	// verdicts holds what argocd.Judge said of each of apps against
	// rendered: an Application is judged once per reconcile, and again
	// only when Update has patched it.
	verdicts []argocd.Verdict
	// explained holds, by Application, what argocd.Explain said.
	explained [][]string
}

func (e *external) Observe(ctx context.Context, t *v1alpha1.Ticket) (managed.ExternalObservation, error) {
	e.told = t.Status.AtProvider.Phase
	defer e.tellVerdict(t)
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	if meta.WasDeleted(t) {
		e.waiters.done(key)
		// The rendered branch is left alone: Argo CD would prune what it deploys.
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	p := t.Spec.ForProvider
	at := &t.Status.AtProvider

	if err := composedByTrack(ctx, e.kube, t); err != nil {
		return block(t, err)
	}
	if p.Repo.SourceBranch != "" && p.Branch == p.Repo.SourceBranch {
		return block(t, blockedOn(v1alpha1.BlockedOnBranch,
			fmt.Sprintf("rendered branch %s is the repository's source branch: rendering would replace what humans commit there; give station %s a rendered branch of its own, e.g. env/%s", p.Branch, p.Station, p.Station),
			errors.Errorf("spec.forProvider.branch %s is the source branch of spec.forProvider.repo: rendering would replace what humans commit there; give station %s a rendered branch of its own (spec.stations[].branch on the Track, e.g. env/%s)", p.Branch, p.Station, p.Station)))
	}
	if err := e.loadApplications(ctx, t); err != nil {
		if argocd.IsUnauthorized(err) || errors.Is(err, errApplicationNotFound) {
			return block(t, err)
		}
		return managed.ExternalObservation{}, err
	}
	head, rec, err := e.renderedHead(ctx, p)
	if err != nil {
		return block(t, err)
	}
	if err := mayPublishOver(t, head, rec); err != nil {
		return block(t, err)
	}
	if rec == nil || rec.Change.ID != p.Change.ID {
		if msg, ok, err := e.refusedRender(ctx, t); err != nil || ok {
			if err != nil {
				return managed.ExternalObservation{}, err
			}
			return block(t, refusal(msg, at.BlockedOn))
		}
		at.Phase = v1alpha1.PhaseRendering
		at.VerifiedAt, at.BlockedOn = nil, nil
		if e.renderer.Busy(t.Namespace) {
			// Woken when a render of the namespace ends; up to date until
			// then, so that the reconcile neither fails nor backs off.
			e.waiters.wait(key)
			t.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf("rendering change %s into %s: waiting for another render in namespace %s to finish", p.Change.ID, p.Branch, t.Namespace)))
			return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
		}
		e.waiters.done(key)
		t.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf("rendering change %s into %s", p.Change.ID, p.Branch)))
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: false}, nil
	}
	e.waiters.done(key)
	e.rendered = head
	at.RenderedCommit = head
	at.Change = liveChange(rec.Change, p.Change)

	e.judgeApplications(t)
	e.explain(ctx, t)
	return e.judge(t), nil
}

// judgeApplications judges every Application against the rendered commit.
func (e *external) judgeApplications(t *v1alpha1.Ticket) {
	e.verdicts = make([]argocd.Verdict, len(e.apps))
	for i := range e.apps {
		e.judgeApplication(t, i)
	}
}

func (e *external) judgeApplication(t *v1alpha1.Ticket, i int) {
	e.verdicts[i] = argocd.Judge(e.apps[i], e.rendered, e.sources[i], t.Name+"/"+t.Spec.ForProvider.Change.ID)
}

// explain asks the resources of each Application deployed at the rendered
// commit why it is Degraded or Suspended (a paused canary), for judge to
// say. Reads happen here, not in judge: Update judges again
// without them.
func (e *external) explain(ctx context.Context, t *v1alpha1.Ticket) {
	e.explained = make([][]string, len(e.apps))
	explained := 0
	for i, app := range e.apps {
		v := e.verdicts[i]
		if v.Sync != argocd.SyncStatusSynced || v.Revision != e.rendered {
			continue
		}
		degraded := v.State == argocd.Failed && v.Health == argocd.HealthDegraded
		waiting := v.State == argocd.Waiting && v.Health == argocd.HealthSuspended
		if !(degraded || waiting) || e.argoLive == nil {
			continue
		}
		// A Ticket may name 50 Applications and a paused canary waits for
		// days: each reconcile reads for a few of them only.
		if explained == maxExplainedApplications {
			e.explained[i] = []string{fmt.Sprintf("K8sTA explains %d Applications of a Ticket at most; see this one's resources in Argo CD", maxExplainedApplications)}
			continue
		}
		explained++
		e.explained[i] = argocd.Explain(ctx, e.argoLive, app)
	}
}

// maxExplainedApplications bounds the Applications one reconcile of a
// Ticket asks argocd.Explain about: at most this many times
// argocd.MaxResourceReads reads.
const maxExplainedApplications = 2

// explanation is what explain learnt of the Application at i, as one
// sentence, or "".
func (e *external) explanation(i int) string {
	if i >= len(e.explained) {
		return ""
	}
	return strings.Join(e.explained[i], "; ")
}

// judge records where each Application stands and says whether any of them
// still has to be asked to sync or refresh.
//
// Every Ticket status write wakes the Track's composition, and Crossplane
// charges each wake to the Track's circuit breaker, so while a change is on
// its way the status changes only at the steps a reader acts on: asked to
// sync (Syncing), deployed at the rendered commit (Progressing), paused (a
// Rollout's pause step, which a human or an analysis ends), and the verdict
// (Verified or Failed, with what the failing Rollout or Deployment says).
// What Argo CD reports in between (its operation messages, the old
// revision's sync and health while it refreshes and syncs, a Rollout's
// progress between pauses) is left out of the status until the Application
// is Synced to the rendered commit.
func (e *external) judge(t *v1alpha1.Ticket) managed.ExternalObservation {
	at := &t.Status.AtProvider
	upToDate, deployed := true, true
	var failed, waiting []string
	at.Applications = make([]v1alpha1.ApplicationStatus, len(e.apps))
	at.BlockedOn = nil
	for i, app := range e.apps {
		v := e.verdicts[i]
		s := v1alpha1.ApplicationStatus{Name: app.Name, Namespace: app.Namespace, Sync: v.Sync, Health: v.Health, Revision: v.Revision}
		switch v.State {
		case argocd.Failed:
			s.Message = v.Message
			if why := e.explanation(i); why != "" {
				s.Message += ": " + why
			}
			failed = append(failed, s.Message)
		case argocd.NeedsSync, argocd.NeedsRefresh, argocd.Waiting:
			upToDate = upToDate && v.State == argocd.Waiting
			s = onItsWay(s, v, e.rendered)
			deployed = deployed && s.Sync == argocd.SyncStatusSynced
			if s.Sync == argocd.SyncStatusSynced {
				// Why it waits (a paused canary's step) is a step of its own.
				s.Message = e.explanation(i)
				// Argo CD calls a canary's timed pause Suspended too; it
				// ends by itself, so it is progress, not a step to write.
				if s.Health == argocd.HealthSuspended && s.Message == "" {
					s.Health = argocd.HealthProgressing
				}
			}
			waiting = append(waiting, waitingFor(s))
		}
		at.Applications[i] = s
	}
	switch {
	case len(failed) > 0:
		at.Phase = v1alpha1.PhaseFailed
		at.VerifiedAt = nil
		t.SetConditions(xpv2.Unavailable().WithMessage(strings.Join(failed, "; ")))
	case len(waiting) > 0:
		at.Phase = v1alpha1.PhaseProgressing
		if !deployed {
			at.Phase = v1alpha1.PhaseSyncing
		}
		at.VerifiedAt = nil
		t.SetConditions(xpv2.Unavailable().WithMessage(strings.Join(waiting, "; ")))
	default:
		at.Phase = v1alpha1.PhaseVerified
		if at.VerifiedAt == nil {
			now := metav1.NewTime(e.now())
			at.VerifiedAt = &now
		}
		t.SetConditions(xpv2.Available())
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: upToDate}
}

// onItsWay is what the status says of an Application on its way to the
// rendered commit: OutOfSync until Argo CD reports it Synced at that very
// commit (whatever it says of the revision before), and its health only
// from then on, when it is the health of what was rendered.
func onItsWay(s v1alpha1.ApplicationStatus, v argocd.Verdict, rendered string) v1alpha1.ApplicationStatus {
	if v.Sync == argocd.SyncStatusSynced && v.Revision == rendered && v.State == argocd.Waiting {
		return s
	}
	return v1alpha1.ApplicationStatus{Name: s.Name, Namespace: s.Namespace, Sync: argocd.SyncStatusOutOfSync}
}

func waitingFor(s v1alpha1.ApplicationStatus) string {
	if s.Sync != argocd.SyncStatusSynced {
		return fmt.Sprintf("waiting for Application %s/%s to sync", s.Namespace, s.Name)
	}
	msg := fmt.Sprintf("waiting for Application %s/%s: %s, %s", s.Namespace, s.Name, s.Sync, orUnknown(s.Health))
	if s.Message != "" {
		msg += ": " + s.Message
	}
	return msg
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func (e *external) Create(ctx context.Context, t *v1alpha1.Ticket) (managed.ExternalCreation, error) {
	_, err := e.Update(ctx, t)
	return managed.ExternalCreation{}, err
}

func (e *external) Update(ctx context.Context, t *v1alpha1.Ticket) (managed.ExternalUpdate, error) {
	defer e.tellVerdict(t)
	if e.rendered == "" {
		commit, err := e.render(ctx, t)
		var notOwned *notOwnedError
		if errors.As(err, &notOwned) {
			_, err = block(t, err)
			return managed.ExternalUpdate{}, err
		}
		if errors.Is(err, render.ErrTenantBusy) {
			t.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf("rendering change %s into %s: waiting for another render in namespace %s to finish", t.Spec.ForProvider.Change.ID, t.Spec.ForProvider.Branch, t.Namespace)))
			return managed.ExternalUpdate{}, err
		}
		if errors.Is(err, render.ErrLimitExceeded) {
			msg := refuseRender(t, err, e.now())
			var on *v1alpha1.BlockedOn
			if input := (*inputError)(nil); errors.As(err, &input) {
				on = &input.on
			}
			_, err = block(t, refusal(msg, on))
			return managed.ExternalUpdate{}, err
		}
		// The change's commit and overlay are what they are: rendering them
		// again fails the same way until the user fixes them.
		var input *inputError
		if errors.As(err, &input) {
			_, err = block(t, err)
			return managed.ExternalUpdate{}, err
		}
		if err != nil {
			t.Status.AtProvider.Phase = v1alpha1.PhaseFailed
			t.Status.AtProvider.BlockedOn = nil
			t.SetConditions(xpv2.Unavailable().WithMessage(err.Error()))
			return managed.ExternalUpdate{}, err
		}
		e.rendered = commit
		e.tell(t, event.Normal(ReasonRenderedCommit, fmt.Sprintf("rendered change %s into %s: commit %s", t.Spec.ForProvider.Change.ID, t.Spec.ForProvider.Branch, v1alpha1.ShortCommit(commit))))
		t.SetConditions(rendered())
		t.Status.AtProvider.RenderedCommit = commit
		t.Status.AtProvider.Change = t.Spec.ForProvider.Change.DeepCopy()
		e.judgeApplications(t)
	}

	info := t.Name + "/" + t.Spec.ForProvider.Change.ID
	for i, app := range e.apps {
		// Trigger and Refresh authorize every patch again, against the
		// object it is applied to: the Application may change after
		// loadApplications. Each leaves app as it found or patched it.
		var err error
		switch e.verdicts[i].State {
		case argocd.NeedsSync:
			err = errors.Wrapf(argocd.Trigger(ctx, e.argo, app, e.grant(t), e.rendered, info), "cannot sync Application %s/%s", app.Namespace, app.Name)
		case argocd.NeedsRefresh:
			err = errors.Wrapf(argocd.Refresh(ctx, e.argo, app, e.grant(t)), "cannot refresh Application %s/%s", app.Namespace, app.Name)
		default:
			continue
		}
		if argocd.IsUnauthorized(err) {
			_, err = block(t, blockedOn(v1alpha1.BlockedOnApplication(i), err.Error(), err))
		}
		if err != nil {
			return managed.ExternalUpdate{}, err
		}
		e.judgeApplication(t, i)
		if e.verdicts[i].State != argocd.NeedsSync && e.verdicts[i].State != argocd.NeedsRefresh {
			e.tell(t, event.Normal(ReasonSyncRequested, fmt.Sprintf("asked Argo CD to sync Application %s/%s to commit %s", app.Namespace, app.Name, v1alpha1.ShortCommit(e.rendered))))
		}
	}
	// The status says at once what the next Observe would: a status write
	// of its own for "asked Argo CD" would wake the Track for nothing.
	e.judge(t)
	return managed.ExternalUpdate{}, nil
}

// Reasons of the Events a Ticket records at its steps.
const (
	ReasonRenderedCommit event.Reason = "RenderedCommit"
	ReasonSyncRequested  event.Reason = "SyncRequested"
	ReasonVerified       event.Reason = "Verified"
	ReasonFailed         event.Reason = "Failed"
	ReasonBlocked        event.Reason = "Blocked"
)

// maxEventMessageBytes bounds an Event's message: a Failed Ticket's quotes
// every Application and Rollout.
const maxEventMessageBytes = 1024

func (e *external) tell(t *v1alpha1.Ticket, ev event.Event) {
	if e.events == nil {
		return
	}
	ev.Message = bounded.Text(ev.Message, maxEventMessageBytes)
	e.events.Event(t, ev)
}

// tellVerdict records an Event when the Ticket reaches a verdict (Verified,
// Failed, Blocked) it had not told yet, and tells the metrics.
func (e *external) tellVerdict(t *v1alpha1.Ticket) {
	at := t.Status.AtProvider
	if at.Phase == e.told {
		return
	}
	e.told = at.Phase
	e.metrics.Verdict(t)
	why := t.GetCondition(xpv2.TypeReady).Message
	switch at.Phase {
	case v1alpha1.PhaseVerified:
		e.tell(t, event.Normal(ReasonVerified, fmt.Sprintf("change %s verified at %s: every Application Synced at commit %s and Healthy", t.Spec.ForProvider.Change.ID, t.Spec.ForProvider.Station, v1alpha1.ShortCommit(at.RenderedCommit))))
	case v1alpha1.PhaseFailed:
		e.tell(t, event.Warning(ReasonFailed, errors.Errorf("change %s failed at %s: %s", t.Spec.ForProvider.Change.ID, t.Spec.ForProvider.Station, why)))
	case v1alpha1.PhaseBlocked:
		e.tell(t, event.Warning(ReasonBlocked, errors.Errorf("change %s is blocked at %s: %s", t.Spec.ForProvider.Change.ID, t.Spec.ForProvider.Station, why)))
	}
}

// grant is what t's syncs and refreshes must be authorized for.
func (e *external) grant(t *v1alpha1.Ticket) argocd.Grant {
	return argocd.Grant{Track: t.Namespace + "/" + t.Spec.ForProvider.Track, RepoURL: e.repo.URL(), Branch: t.Spec.ForProvider.Branch}
}

func (e *external) Delete(_ context.Context, _ *v1alpha1.Ticket) (managed.ExternalDelete, error) {
	return managed.ExternalDelete{}, nil
}

func (e *external) Disconnect(_ context.Context) error {
	if e.repo != nil {
		e.repo.Release()
	}
	return nil
}

// loadApplications reads every Application and checks that this Ticket may
// sync it, before anything is rendered or patched.
func (e *external) loadApplications(ctx context.Context, t *v1alpha1.Ticket) error {
	p := t.Spec.ForProvider
	e.apps = make([]*argocd.Application, len(p.Applications))
	e.sources = make([]int, len(p.Applications))
	for i, ref := range p.Applications {
		app := &argocd.Application{}
		key := types.NamespacedName{Namespace: ref.NamespaceOrDefault(), Name: ref.Name}
		if err := e.argo.Get(ctx, key, app); err != nil {
			if kerrors.IsNotFound(err) {
				return blockedOn(v1alpha1.BlockedOnApplication(i), fmt.Sprintf("Application %s not found: create it, or name an Application that exists", key),
					errors.Wrapf(errApplicationNotFound, "Application %s not found: create it, or fix spec.forProvider.applications[%d]", key, i))
			}
			return errors.Wrapf(err, "cannot get Application %s", key)
		}
		idx, err := argocd.Authorize(app, t.Namespace+"/"+p.Track, e.repo.URL(), p.Branch)
		if err != nil {
			return blockedOn(v1alpha1.BlockedOnApplication(i), err.Error(), err)
		}
		e.apps[i], e.sources[i] = app, idx
	}
	return nil
}

// renderedHead returns the head of the rendered branch and the change record
// it holds. It answers from the cached clone when that already holds this
// change, and fetches otherwise.
func (e *external) renderedHead(ctx context.Context, p v1alpha1.TicketParameters) (string, *render.Record, error) {
	head, rec, err := e.readHead(p.Branch)
	if err == nil && rec != nil && rec.Change.ID == p.Change.ID {
		return head, rec, nil
	}
	if errors.Is(err, gitrepo.ErrInvalidBranch) {
		return "", nil, blockedOn(v1alpha1.BlockedOnBranch, fmt.Sprintf("rendered branch %q is not a valid git branch name: use a name such as env/dev", p.Branch),
			errors.Errorf("spec.forProvider.branch %q is not a valid git branch name: use a name such as env/dev", p.Branch))
	}
	// A fetch within the clone's window, shared with the other Tickets on
	// this repository, will do: a head it missed makes render's push be
	// refused and Publish fetch again, never a wrong commit.
	if err := e.repo.Fetch(ctx); err != nil {
		if errors.Is(err, gitrepo.ErrUnreachable) {
			return "", nil, blockedOn(v1alpha1.BlockedOnRepoURL, "cannot reach the repository: check its URL and the network: "+err.Error(), repoError(err))
		}
		return "", nil, repoError(err)
	}
	return e.readHead(p.Branch)
}

func (e *external) readHead(branch string) (string, *render.Record, error) {
	head, ok, err := e.repo.Head(branch)
	if err != nil || !ok {
		return "", nil, err
	}
	rec, err := e.ownRecord(head)
	return head, rec, err
}

// ownRecord returns the change record of commit when K8sTA rendered it: its
// message's K8sta-Change trailer and the record at render.RecordPath name the
// same change. It returns nil for any other commit, a human's above all.
func (e *external) ownRecord(commit string) (*render.Record, error) {
	msg, err := e.repo.CommitMessage(commit)
	if err != nil {
		return nil, err
	}
	id, ok := render.OwnChangeID(msg)
	if !ok {
		return nil, nil
	}
	data, found, err := e.repo.ReadFile(commit, render.RecordPath)
	if err != nil || !found {
		return nil, err
	}
	rec, err := render.ParseRecord(data)
	if err != nil || rec.Change.ID != id {
		return nil, nil //nolint:nilerr // a record that does not read is not K8sTA's
	}
	return &rec, nil
}

// A notOwnedError says why a Ticket may not publish to its rendered branch.
type notOwnedError struct{ msg string }

func (e *notOwnedError) Error() string { return e.msg }

// notOwned is a notOwnedError, the branch's problem as the Ticket words it
// (format and args) and without naming a field (problem).
func notOwned(problem, format string, args ...any) error {
	return blockedOn(v1alpha1.BlockedOnBranch, problem, &notOwnedError{msg: fmt.Sprintf(format, args...)})
}

// mayPublishOver tells whether t may replace the tree of its rendered branch,
// whose head is head (empty: the branch does not exist) and whose record is
// rec (nil: K8sTA did not render head). Publishing replaces the branch's
// whole tree, so it goes only to a new branch or to one whose head K8sTA
// rendered for this very Track and station.
func mayPublishOver(t *v1alpha1.Ticket, head string, rec *render.Record) error {
	p := t.Spec.ForProvider
	switch {
	case head == "":
		return nil
	case rec == nil:
		return notOwned(fmt.Sprintf("rendered branch %s holds commit %s, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station %s a rendered branch of its own, or delete %s if nothing else uses it", p.Branch, v1alpha1.ShortCommit(head), p.Station, p.Branch),
			"spec.forProvider.branch %s holds commit %s, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station %s a rendered branch of its own (spec.stations[].branch on the Track), or delete %s if nothing else uses it", p.Branch, v1alpha1.ShortCommit(head), p.Station, p.Branch)
	case rec.Track != t.Namespace+"/"+p.Track || rec.Station != p.Station:
		return notOwned(fmt.Sprintf("rendered branch %s is rendered by track %s station %s: give each station its own rendered branch", p.Branch, rec.Track, rec.Station),
			"spec.forProvider.branch %s is rendered by track %s station %s: give each station its own rendered branch (spec.stations[].branch on the Track)", p.Branch, rec.Track, rec.Station)
	}
	return nil
}

// render builds the station's overlay at the change's commit and publishes it
// to the rendered branch, unless the branch already holds the change.
func (e *external) render(ctx context.Context, t *v1alpha1.Ticket) (string, error) {
	p := t.Spec.ForProvider
	if err := e.fetchCommit(ctx, p.Change.Commit); err != nil {
		return "", repoError(err)
	}
	// The render reads only what the overlay reaches, through the tree.
	tree, err := e.repo.Tree(p.Change.Commit)
	if errors.Is(err, gitrepo.ErrCommitNotFound) {
		return "", blockedOn(v1alpha1.BlockedOnChangeCommit,
			fmt.Sprintf("commit %s of change %s is not in %s: push it to the source branch, or fix the source of the change", p.Change.Commit, p.Change.ID, e.repo.URL()),
			errors.Errorf("spec.forProvider.change.commit %s is not in %s: push it to the source branch, or fix the change", p.Change.Commit, e.repo.URL()))
	}
	if err != nil {
		return "", errors.Wrapf(err, "cannot read commit %s", v1alpha1.ShortCommit(p.Change.Commit))
	}
	manifests, err := e.renderer.Build(ctx, t.Namespace, tree, p.Overlay, p.Change.Images)
	var notFound *render.OverlayNotFoundError
	if errors.As(err, &notFound) {
		what := "does not exist"
		if notFound.NoKustomization {
			what = "holds no kustomization.yaml"
		}
		notFound.Commit = p.Change.Commit
		return "", blockedOn(v1alpha1.BlockedOnOverlay, notFound.Error(),
			errors.Errorf("spec.forProvider.overlay %q %s at commit %s: set it to a directory holding a kustomization.yaml", p.Overlay, what, v1alpha1.ShortCommit(p.Change.Commit)))
	}
	if err != nil {
		short := v1alpha1.ShortCommit(p.Change.Commit)
		wrapped := errors.Wrapf(err, "cannot render spec.forProvider.overlay %q at commit %s", p.Overlay, short)
		switch {
		case render.IsOverlayError(err):
			return "", blockedOn(v1alpha1.BlockedOnOverlay, fmt.Sprintf("at commit %s: %v", short, err), wrapped)
		case errors.Is(err, render.ErrLimitExceeded):
			return "", blockedOn(v1alpha1.BlockedOnOverlay, fmt.Sprintf("at commit %s: %v; K8sTA renders it again when the change or the overlay changes, or after %v", short, err, retryRefusedRenderAfter), wrapped)
		}
		return "", wrapped
	}
	rec := render.Record{Track: t.Namespace + "/" + p.Track, Station: p.Station, Overlay: p.Overlay, Change: v1alpha1.Change{ID: p.Change.ID, Commit: p.Change.Commit, Images: p.Change.Images}}
	// The ownership of the branch is checked again on the head each push
	// is based on: a push never forces, so a commit that lands after this
	// check makes the push fail and Publish propose again on the new head.
	var refused error
	commit, pushed, err := e.repo.Publish(ctx, p.Branch, e.author, func(head string) (map[string][]byte, string, error) {
		var own *render.Record
		if head != "" {
			var err error
			if own, err = e.ownRecord(head); err != nil {
				return nil, "", err
			}
		}
		if refused = mayPublishOver(t, head, own); refused != nil {
			return nil, "", refused
		}
		if own != nil && own.Change.ID == rec.Change.ID {
			return nil, "", nil
		}
		return render.Tree(manifests, rec), render.CommitMessage(rec), nil
	})
	if refused != nil {
		return "", refused
	}
	if err != nil {
		return "", repoError(errors.Wrapf(err, "cannot push %s", p.Branch))
	}
	if pushed {
		e.metrics.Pushed(t, e.now())
	}
	return commit, nil
}

// fetchCommit makes sure the clone holds commit, fetching if it does not. A
// fetch shared with other Tickets of the change (one within the clone's
// fetch window) will mostly do; if it started before the commit was pushed,
// one that starts now does.
func (e *external) fetchCommit(ctx context.Context, commit string) error {
	if e.repo.HasCommit(commit) {
		return nil
	}
	if err := e.repo.Fetch(ctx); err != nil || e.repo.HasCommit(commit) {
		return err
	}
	return e.repo.FetchSince(ctx, time.Now())
}

func repoError(err error) error {
	switch {
	case errors.Is(err, gitrepo.ErrAuth):
		return errors.Wrap(err, "git credentials were refused: check the Secret named by the ProviderConfig's spec.git.secretRef")
	case errors.Is(err, gitrepo.ErrUnreachable):
		return errors.Wrap(err, "cannot reach spec.forProvider.repo.url: check the URL and the network")
	case errors.Is(err, gitrepo.ErrInvalidBranch):
		return errors.Wrap(err, "spec.forProvider.branch is not a valid git branch name")
	}
	return err
}

// An inputError is what the Ticket's user wrote and must fix: the change's
// commit, the station's overlay, branch or Applications, the repository. The
// Ticket is Blocked on it, not Failed: only a fix moves it on. Its message
// is the Ticket's own, naming spec.forProvider's field; on names the field
// apart, and says the problem without naming it, for the Track that composed
// the Ticket to name the field its own user edits.
type inputError struct {
	err error
	on  v1alpha1.BlockedOn
}

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// blockedOn is err, the Ticket's account of what its user must fix in the
// field of spec.forProvider named field; problem is the same account naming
// no field.
func blockedOn(field, problem string, err error) error {
	return &inputError{err: err, on: v1alpha1.BlockedOn{Field: field, Problem: bounded.Text(problem, v1alpha1.MaxBlockedOnProblemBytes)}}
}

// block marks a Ticket that cannot proceed until its input is fixed. Nothing
// has been rendered, pushed or patched when this is called. The status says
// which field to fix when err is an inputError.
func block(t *v1alpha1.Ticket, err error) (managed.ExternalObservation, error) {
	at := &t.Status.AtProvider
	at.Phase = v1alpha1.PhaseBlocked
	at.VerifiedAt, at.BlockedOn = nil, nil
	var input *inputError
	if errors.As(err, &input) {
		on := input.on
		at.BlockedOn = &on
	}
	t.SetConditions(xpv2.Unavailable().WithMessage(err.Error()))
	return managed.ExternalObservation{}, err
}

// TypeRendered is the condition that says whether the Ticket's overlay
// rendered. It is False, reason RenderLimitExceeded, when a render exceeded
// a bound (time, memory, size): rendering the same spec again would exceed
// it again, so the Ticket is not rendered again until its spec changes (its
// generation, which the condition records), or until retryRefusedRenderAfter
// has passed (the time and memory a render takes vary a little with the
// provider's load).
const TypeRendered xpv2.ConditionType = "Rendered"

// Reasons of the Rendered condition.
const (
	ReasonRendered            xpv2.ConditionReason = "Rendered"
	ReasonRenderLimitExceeded xpv2.ConditionReason = "RenderLimitExceeded"
)

// retryRefusedRenderAfter is how long a Ticket whose render exceeded a
// bound waits before the same spec is rendered again.
const retryRefusedRenderAfter = time.Hour

func rendered() xpv2.Condition {
	return xpv2.Condition{Type: TypeRendered, Status: corev1.ConditionTrue, Reason: ReasonRendered, LastTransitionTime: metav1.Now()}
}

// refuseRender records on t that rendering its spec exceeded a bound (err),
// at now, and returns the message that says so.
func refuseRender(t *v1alpha1.Ticket, err error, now time.Time) string {
	msg := fmt.Sprintf("%v; K8sTA renders this Ticket again when its spec changes (a new change, or spec.forProvider.overlay), or after %v", err, retryRefusedRenderAfter)
	c := xpv2.Condition{
		Type: TypeRendered, Status: corev1.ConditionFalse, Reason: ReasonRenderLimitExceeded, Message: msg,
		LastTransitionTime: metav1.NewTime(now), ObservedGeneration: t.GetGeneration(),
	}
	// Replaced even when equal: the time is when the render was last tried.
	for i := range t.Status.Conditions {
		if t.Status.Conditions[i].Type == TypeRendered {
			t.Status.Conditions[i] = c
			return msg
		}
	}
	t.Status.Conditions = append(t.Status.Conditions, c)
	return msg
}

// refusal is the error of a render refused for exceeding a bound, msg its
// message: blocked on the overlay, as on says when the refusal recorded it.
func refusal(msg string, on *v1alpha1.BlockedOn) error {
	if on == nil || on.Field != v1alpha1.BlockedOnOverlay {
		return errors.New(msg)
	}
	return &inputError{err: errors.New(msg), on: *on}
}

// refusedRender is refusedRender on t, and, when t (read from the cache)
// records no refusal, on the Ticket as the API server holds it: the cache
// may not yet hold the status the last reconcile wrote, and a render that
// exceeded a bound costs what the bound allows again.
func (e *external) refusedRender(ctx context.Context, t *v1alpha1.Ticket) (string, bool, error) {
	if msg, ok := refusedRender(t, e.now()); ok || e.live == nil {
		return msg, ok, nil
	}
	stored := &v1alpha1.Ticket{}
	if err := e.live.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, stored); err != nil {
		return "", false, errors.Wrap(err, "cannot get Ticket")
	}
	stored.Generation = t.Generation
	msg, ok := refusedRender(stored, e.now())
	if ok {
		t.SetConditions(stored.GetCondition(TypeRendered))
		t.Status.AtProvider.BlockedOn = stored.Status.AtProvider.BlockedOn
	}
	return msg, ok, nil
}

// refusedRender returns the message of the render refusal t records for its
// current spec, unless it is older than retryRefusedRenderAfter.
func refusedRender(t *v1alpha1.Ticket, now time.Time) (string, bool) {
	c := t.GetCondition(TypeRendered)
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonRenderLimitExceeded || c.ObservedGeneration != t.GetGeneration() {
		return "", false
	}
	if now.Sub(c.LastTransitionTime.Time) >= retryRefusedRenderAfter {
		return "", false
	}
	return c.Message, true
}

// liveChange returns the change the rendered branch holds, as the status shows
// it: when discovered is known, as the spec's change is.
func liveChange(rendered, spec v1alpha1.Change) *v1alpha1.Change {
	c := rendered.DeepCopy()
	if c.ID == spec.ID {
		c.DiscoveredAt = spec.DiscoveredAt.DeepCopy()
	}
	return c
}
