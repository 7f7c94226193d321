// Package subscription is the Subscription controller: it glues the registry,
// gitrepo, discover and webhook libraries to crossplane-runtime's managed
// reconciler, turning what a Track's sources show into its newest change.
package subscription

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/source"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	xpevent "github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/controller/credentials"
	"github.com/k8sta/k8sta/internal/controller/writes"
	"github.com/k8sta/k8sta/internal/discover"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/registry"
)

// maxOverlayChanges bounds status.atProvider.overlayChanges.
const maxOverlayChanges = 20

// DefaultInterval is the poll interval of a Subscription that sets none.
const DefaultInterval = 5 * time.Minute

// Options configure the Subscription controller.
type Options struct {
	controller.Options

	// Repos is the clone cache shared with the Ticket controller.
	Repos *gitrepo.Cache

	// MinInterval is the floor under every Subscription's poll interval.
	MinInterval time.Duration

	// InsecureRegistries are registry hosts reached over plain HTTP.
	InsecureRegistries []string

	// Wake carries Subscriptions that a webhook says have news: each is
	// reconciled, and so polled, at once, from a fetch and tags lists no
	// older than the news (see WakeEvent).
	Wake <-chan event.GenericEvent

	// TagsWindow is how old a tags list a poll accepts when it was not
	// woken (registry.WithTagsWindow); zero: every poll lists afresh.
	TagsWindow time.Duration

	// RegistryRequests, if set, is told of every request to a registry
	// (registry.WithRequestObserver).
	RegistryRequests registry.RequestObserver
}

// Setup adds the Subscription controller to mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	name := managed.ControllerName(v1alpha1.SubscriptionKind)
	w := newWakes()
	waits := newRegistryWaits()
	c := &connector{kube: mgr.GetClient(), repos: o.Repos, registries: newRegistryClients(o.InsecureRegistries, o.TagsWindow, o.RegistryRequests), wakes: w, waits: waits}
	r := managed.NewReconciler(writes.SkipUnchangedStatus(mgr), resource.ManagedKind(v1alpha1.SubscriptionGroupVersionKind),
		managed.WithTypedExternalConnector[*v1alpha1.Subscription](c),
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithRecorder(writes.DropRepeats(xpevent.NewAPIRecorder(mgr.GetEventRecorderFor(name)), writes.DefaultRepeatWindow)), //nolint:staticcheck // crossplane-runtime's event.NewAPIRecorder takes the old record.EventRecorder.
		// Nothing to name and nothing to clean up: no external-name
		// annotation, no finalizer, so no write for either.
		managed.WithInitializers(),
		managed.WithFinalizer(writes.NoFinalizer(mgr.GetClient())),
		managed.WithPollInterval(DefaultInterval),
		managed.WithPollIntervalHook(func(mg resource.Managed, _ time.Duration) time.Duration {
			key := types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}
			return waits.next(key, time.Now(), Interval(mg.(*v1alpha1.Subscription), o.MinInterval)) //nolint:forcetypeassert // This reconciler is built for Subscriptions only.
		}),
		managed.WithManagementPolicies(),
	)
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(&v1alpha1.Subscription{}, builder.WithPredicates(resource.DesiredStateChanged()))
	if o.Wake != nil {
		b = b.WatchesRawSource(source.Channel(o.Wake, w.handler()))
	}
	return b.Complete(r)
}

// Interval is how often s is polled: its own interval, never under floor.
func Interval(s *v1alpha1.Subscription, floor time.Duration) time.Duration {
	d := DefaultInterval
	if i := s.Spec.ForProvider.Interval; i != nil && i.Duration > 0 {
		d = i.Duration
	}
	return max(d, floor)
}

type connector struct {
	kube       client.Client
	repos      *gitrepo.Cache
	registries *registryClients
	wakes      *wakes
	waits      *registryWaits
}

func (c *connector) Connect(ctx context.Context, s *v1alpha1.Subscription) (managed.TypedExternalClient[*v1alpha1.Subscription], error) {
	creds, err := credentials.Resolve(ctx, c.kube, s)
	if err != nil {
		return nil, err
	}
	reg, err := c.registries.For(creds.DockerConfigs)
	if err != nil {
		return nil, err
	}
	if err := ensureWebhookSecret(ctx, c.kube, s); err != nil {
		return nil, err
	}
	if meta.WasDeleted(s) {
		// Nothing to fetch: a Subscription whose URL is refused can still go.
		key := types.NamespacedName{Namespace: s.GetNamespace(), Name: s.GetName()}
		c.wakes.seen(key, time.Now())
		c.waits.set(key, time.Now(), 0)
		return &external{registry: reg, wakes: c.wakes, waits: c.waits, now: time.Now}, nil
	}
	u, err := c.repos.Policy().Parse(s.Spec.ForProvider.Repo.URL)
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
	return &external{repo: repo, registry: reg, wakes: c.wakes, waits: c.waits, now: time.Now}, nil
}

type external struct {
	repo     *gitrepo.Repo
	registry *registry.Client
	wakes    *wakes
	waits    *registryWaits
	now      func() time.Time
}

// notBefore is the moment this poll's fetch and tags lists must have started
// after: when the news a webhook woke s for arrived, or now for a reconcile
// a user asked for (crossplane.io/reconcile-requested-at), which means "look
// now". Zero otherwise: a recent fetch or list, shared with other polls,
// will do.
func (e *external) notBefore(s *v1alpha1.Subscription) time.Time {
	if token, ok := meta.GetReconcileRequest(s); ok && token != s.Status.LastHandledReconcileAt {
		return e.now()
	}
	return e.wakes.since(types.NamespacedName{Namespace: s.GetNamespace(), Name: s.GetName()})
}

// Observe polls every source and records the newest change. A Subscription
// has no external resource to create or update: everything happens here.
func (e *external) Observe(ctx context.Context, s *v1alpha1.Subscription) (managed.ExternalObservation, error) {
	if meta.WasDeleted(s) {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	p := s.Spec.ForProvider
	policies, err := registry.Policies(p.Images)
	if err != nil {
		err = imagesError(err)
		s.SetConditions(xpv2.Unavailable().WithMessage(err.Error()))
		return managed.ExternalObservation{}, err
	}
	at := &s.Status.AtProvider
	at.WebhookURLs = WebhookURLs(s)
	now := metav1.NewTime(e.now())
	sources := map[string]v1alpha1.SourceStatus{}
	for _, st := range at.Sources {
		sources[st.Source] = st
	}
	var problems []string
	since := e.notBefore(s)

	images, wait := e.pollImages(ctx, policies, at.Newest, sources, now, since, &problems)
	e.waits.set(types.NamespacedName{Namespace: s.GetNamespace(), Name: s.GetName()}, now.Time, wait)
	// A change is published only with an image for every subscribed
	// repository: otherwise station 1 would render the overlay's default.
	complete := len(images) == len(policies)

	commit := ""
	if at.Newest != nil {
		commit = at.Newest.Commit
	}
	if p.Git != nil || commit == "" {
		var overlayChanges []v1alpha1.OverlayChange
		commit, overlayChanges = e.pollSourceBranch(ctx, p, commit, sources, now, since, &problems)
		at.OverlayChanges = append(at.OverlayChanges, overlayChanges...)
		if n := len(at.OverlayChanges); n > maxOverlayChanges {
			at.OverlayChanges = at.OverlayChanges[n-maxOverlayChanges:]
		}
	}

	if commit != "" && complete {
		if id := v1alpha1.ChangeID(commit, images); at.Newest == nil || at.Newest.ID != id {
			at.Newest = &v1alpha1.Change{ID: id, Commit: commit, Images: images, DiscoveredAt: &now}
		}
	}

	at.Sources = at.Sources[:0]
	for _, name := range sourceOrder(p, e.repo.URL()) {
		if st, ok := sources[name]; ok {
			at.Sources = append(at.Sources, st)
		}
	}
	if len(problems) > 0 {
		s.SetConditions(xpv2.Unavailable().WithMessage(strings.Join(problems, "; ")))
	} else {
		s.SetConditions(xpv2.Available())
		e.wakes.seen(types.NamespacedName{Namespace: s.GetNamespace(), Name: s.GetName()}, since)
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
}

// pollImages selects the newest image of every policy. A source that fails
// keeps its last known image, and says why in its status. It returns the
// images, and the longest wait a registry asked for (zero: none did).
func (e *external) pollImages(ctx context.Context, policies []registry.Policy, newest *v1alpha1.Change, sources map[string]v1alpha1.SourceStatus, now metav1.Time, since time.Time, problems *[]string) ([]v1alpha1.Image, time.Duration) {
	known := map[string]v1alpha1.Image{}
	if newest != nil {
		for _, i := range newest.Images {
			known[i.Repository] = i
		}
	}
	images := make([]v1alpha1.Image, 0, len(policies))
	var wait time.Duration
	for _, pol := range policies {
		st := v1alpha1.SourceStatus{Source: pol.Repository, LastPolled: &now, Revision: sources[pol.Repository].Revision}
		sel, err := e.registry.SelectSince(ctx, pol, since)
		if err != nil {
			st.LastError = err.Error()
			*problems = append(*problems, pol.Repository+": "+err.Error())
			if d, ok := registry.RetryAfter(err); ok {
				wait = max(wait, d)
			}
			if i, ok := known[pol.Repository]; ok {
				images = append(images, i)
			}
		} else {
			img := sel.Image()
			st.Revision = img.Tag + "@" + img.Digest
			images = append(images, img)
		}
		sources[pol.Repository] = polled(sources[pol.Repository], st)
	}
	return images, wait
}

// polled is a source's status after a poll that found now, when it was last
// before: a poll that finds what was seen before (same revision, same
// error) keeps the time it was first seen, so that the Subscription's
// status, whose every write wakes the Track composing it, changes only when
// something did.
func polled(before, now v1alpha1.SourceStatus) v1alpha1.SourceStatus {
	if before.LastPolled != nil && before.Revision == now.Revision && before.LastError == now.LastError {
		now.LastPolled = before.LastPolled
	}
	return now
}

// maxSkippedCommits bounds the commits a poll walks again because none of
// them concerned the Track, and so the head it had seen was kept.
const maxSkippedCommits = 256

// pollSourceBranch follows the source branch from the last head seen. It
// returns the commit the newest change renders from, and the overlay-only
// commits found on the way.
func (e *external) pollSourceBranch(ctx context.Context, p v1alpha1.SubscriptionParameters, commit string, sources map[string]v1alpha1.SourceStatus, now metav1.Time, since time.Time, problems *[]string) (string, []v1alpha1.OverlayChange) {
	url, branch := e.repo.URL(), p.Repo.SourceBranchOrDefault()
	st := v1alpha1.SourceStatus{Source: url, LastPolled: &now, Revision: sources[url].Revision}
	defer func() { sources[url] = polled(sources[url], st) }()
	fail := func(msg string) (string, []v1alpha1.OverlayChange) {
		st.LastError = msg
		*problems = append(*problems, msg)
		return commit, nil
	}

	if err := e.repo.FetchSince(ctx, since); err != nil {
		return fail(fmt.Sprintf("cannot fetch spec.forProvider.repo.url: %s", err))
	}
	head, ok, err := e.repo.Head(branch)
	if err != nil {
		return fail(fmt.Sprintf("spec.forProvider.repo.sourceBranch %q: %s", branch, err))
	}
	if !ok {
		return fail(fmt.Sprintf("spec.forProvider.repo.sourceBranch %q does not exist in %s: push it, or name another branch", branch, e.repo.URL()))
	}
	last := st.Revision
	st.Revision = head
	if commit == "" || last == "" {
		return head, nil
	}
	if last == head {
		return commit, nil
	}
	commits, err := e.repo.CommitsSince(last, head)
	if errors.Is(err, gitrepo.ErrNotAncestor) || errors.Is(err, gitrepo.ErrCommitNotFound) {
		// History was rewritten: what was seen is gone. Start again from the
		// new head, and say so rather than guess which commits are new.
		st.LastError = fmt.Sprintf("history of %s was rewritten (force push): %s is no longer an ancestor of %s; following %s from now on", branch, v1alpha1.ShortCommit(last), v1alpha1.ShortCommit(head), v1alpha1.ShortCommit(head))
		return head, nil
	}
	if err != nil {
		return fail(fmt.Sprintf("cannot read the history of %s: %s", branch, err))
	}
	overlays := make([]discover.Overlay, len(p.Overlays))
	for i, o := range p.Overlays {
		overlays[i] = discover.Overlay{Station: o.Station, Dir: o.Overlay}
	}
	var paths []string
	if p.Git != nil {
		paths = make([]string, len(p.Git.Paths))
		for i, d := range p.Git.Paths {
			paths[i] = string(d)
		}
	}
	c := discover.Classify(commits, overlays, paths, commit)
	if c.Base == "" && len(c.Overlays) == 0 && len(commits) < maxSkippedCommits {
		// Nothing for this Track (another app's commits on a monorepo):
		// the status stays as it is, since every write of it wakes the
		// Track. The next poll walks these commits again, until one
		// concerns the Track or there are maxSkippedCommits of them.
		st.Revision = last
		return commit, nil
	}
	if c.Base != "" {
		commit = c.Base
	}
	changes := make([]v1alpha1.OverlayChange, 0, len(c.Overlays))
	for _, o := range c.Overlays {
		changes = append(changes, v1alpha1.OverlayChange{Commit: o.Commit, BaseCommit: o.Base, Stations: o.Stations, DiscoveredAt: &now})
	}
	return commit, changes
}

func (e *external) Create(context.Context, *v1alpha1.Subscription) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, nil
}

func (e *external) Update(context.Context, *v1alpha1.Subscription) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{}, nil
}

func (e *external) Delete(context.Context, *v1alpha1.Subscription) (managed.ExternalDelete, error) {
	return managed.ExternalDelete{}, nil
}

func (e *external) Disconnect(context.Context) error {
	if e.repo != nil {
		e.repo.Release()
	}
	return nil
}

// imagesError names the field of spec.forProvider.images that a
// registry.Policies error is about.
func imagesError(err error) error {
	var ie *registry.ImageError
	if !errors.As(err, &ie) {
		return err
	}
	fe := ie.Field
	return errors.Errorf("spec.forProvider.images[%d].%s %q is invalid: %s; %s", ie.Index, fe.Field, fe.Value, fe.Reason, fe.Fix)
}

func sourceOrder(p v1alpha1.SubscriptionParameters, repoURL string) []string {
	names := make([]string, 0, len(p.Images)+1)
	for _, i := range p.Images {
		names = append(names, i.Repository)
	}
	return append(names, repoURL)
}

// registryClients keeps one registry client, and so one tag→digest cache
// and one shared tags list per repository, per set of pull secrets: polls
// with other credentials never share what one learned.
type registryClients struct {
	insecure   []string
	tagsWindow time.Duration
	observe    registry.RequestObserver
	// salt keys the identity of a set of pull secrets, as gitrepo keys its
	// clones: the key kept in memory is no plain hash of a credential.
	salt [32]byte
	// max bounds clients: past it, the set of pull secrets used longest
	// ago is forgotten (a rotated secret is a new set, and the old one is
	// never used again).
	max     int
	mu      sync.Mutex
	uses    uint64 // counts For calls: the order of use
	clients map[[sha256.Size]byte]*usedClient
}

// maxRegistryClients is how many sets of pull secrets the controller keeps
// a registry Client for.
const maxRegistryClients = 256

type usedClient struct {
	*registry.Client
	used uint64
}

func newRegistryClients(insecure []string, tagsWindow time.Duration, observe registry.RequestObserver) *registryClients {
	r := &registryClients{insecure: insecure, tagsWindow: tagsWindow, observe: observe, max: maxRegistryClients, clients: map[[sha256.Size]byte]*usedClient{}}
	_, _ = rand.Read(r.salt[:]) // never fails (crypto/rand)
	return r
}

func (r *registryClients) For(configs [][]byte) (*registry.Client, error) {
	h := hmac.New(sha256.New, r.salt[:])
	for _, c := range configs {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(c)))
		h.Write(n[:])
		h.Write(c)
	}
	var key [sha256.Size]byte
	copy(key[:], h.Sum(nil))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uses++
	if c, ok := r.clients[key]; ok {
		c.used = r.uses
		return c.Client, nil
	}
	kc, err := registry.NewKeychain(configs...)
	if err != nil {
		return nil, errors.Wrap(err, "cannot read the registry pull secrets named by spec.registries")
	}
	if len(r.clients) >= r.max {
		r.forgetLeastUsed()
	}
	c := registry.NewClient(registry.WithKeychain(kc), registry.WithInsecureRegistries(r.insecure...), registry.WithTagsWindow(r.tagsWindow), registry.WithRequestObserver(r.observe))
	r.clients[key] = &usedClient{Client: c, used: r.uses}
	return c, nil
}

// forgetLeastUsed forgets the Client used longest ago; r.mu is held. A
// poll still using it keeps its own reference.
func (r *registryClients) forgetLeastUsed() {
	var oldest [sha256.Size]byte
	first := true
	var at uint64
	for k, c := range r.clients {
		if first || c.used < at {
			oldest, at, first = k, c.used, false
		}
	}
	delete(r.clients, oldest)
}
