// Package metrics defines provider-k8sta's Prometheus metrics, once, and
// records them: what a change's journey down a Track took (lead time,
// hops), how its deliveries ended, and what renders, git, registries and
// webhooks cost. The provider serves them on controller-runtime's metrics
// endpoint (--metrics-address).
//
// Every label value is bounded: the namespace, Track and station of a
// Ticket that exists (its series go when it goes), or a word from a fixed
// vocabulary the libraries give (an operation, a result, a webhook
// sender, an HTTP status code). No URL, host, image, commit or credential is
// ever a label.
//
// The libraries know nothing of this package: gitrepo, registry, render
// and webhook each take an observer function, and the methods here have
// their signatures.
package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/bounded"
)

// Names of the metrics.
const (
	NameLeadTime         = "k8sta_lead_time_seconds"
	NameHop              = "k8sta_hop_seconds"
	NamePromotions       = "k8sta_promotions_total"
	NameRenderDuration   = "k8sta_render_duration_seconds"
	NameGitDuration      = "k8sta_git_duration_seconds"
	NameGitRequests      = "k8sta_git_requests_total"
	NameRegistryRequests = "k8sta_registry_requests_total"
	NameWebhookRequests  = "k8sta_webhook_requests_total"
	NameTickets          = "k8sta_tickets"
)

// Labels.
const (
	LabelNamespace = "namespace"
	LabelTrack     = "track"
	LabelStation   = "station"
	LabelResult    = "result"
	LabelOperation = "operation"
	LabelSender    = "sender"
	LabelCode      = "code"
	LabelPhase     = "phase"
)

// Results of k8sta_promotions_total.
const (
	ResultVerified = "verified"
	ResultFailed   = "failed"
	ResultBlocked  = "blocked"
)

// journeyBuckets span what a change's journey takes: seconds for a hop on
// an idle provider, minutes for a canary, hours for a soak, days for a
// change waiting for a release window or an approval.
var journeyBuckets = []float64{
	1, 5, 15, 30, 60, 2 * 60, 5 * 60, 10 * 60, 30 * 60,
	3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 2 * 24 * 3600, 7 * 24 * 3600,
}

// workBuckets span one render or one git request: tens of milliseconds to
// the minute that bounds a fetch (and, by default, a render).
var workBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics are provider-k8sta's metrics. A nil *Metrics records nothing.
type Metrics struct {
	leadTime         *prometheus.HistogramVec
	hop              *prometheus.HistogramVec
	promotions       *prometheus.CounterVec
	renderDuration   *prometheus.HistogramVec
	gitDuration      *prometheus.HistogramVec
	gitRequests      *prometheus.CounterVec
	registryRequests *prometheus.CounterVec
	webhookRequests  *prometheus.CounterVec
	tickets          prometheus.Collector

	mu sync.Mutex
	// seen is, by Ticket, what was recorded of its change, so that each
	// step of a change is recorded once however often it is reconciled.
	seen map[types.UID]*recorded
	// owners are, by station, the Tickets that recorded a series of it:
	// the station's series go when the last of them goes.
	owners map[Station]map[types.UID]struct{}
	// generation counts the sweeps begun.
	generation uint64
}

// A Station is what the per-station series are labelled with.
type Station struct {
	Namespace, Track, Station string
}

// StationOf is the station Ticket t delivers to.
func StationOf(t *v1alpha1.Ticket) Station {
	return Station{Namespace: t.Namespace, Track: labelValue(t.Spec.ForProvider.Track), Station: labelValue(t.Spec.ForProvider.Station)}
}

// MaxLabelValueBytes bounds a Track's or station's label value. A station's
// path may run to thousands of bytes through nested junctions, and each
// Ticket has some forty series: every scrape would carry it forty times.
const MaxLabelValueBytes = 128

// labelValue is v, or, when longer than MaxLabelValueBytes, its first bytes
// followed by '~' and 8 hex digits of its SHA-256, which keeps the series
// of long paths that share a prefix apart.
func labelValue(v string) string {
	if len(v) <= MaxLabelValueBytes {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return bounded.Prefix(v, MaxLabelValueBytes-9) + "~" + hex.EncodeToString(sum[:4])
}

func (s Station) labels() prometheus.Labels {
	return prometheus.Labels{LabelNamespace: s.Namespace, LabelTrack: s.Track, LabelStation: s.Station}
}

// The steps of a change at a station, recorded once each.
type step uint8

const (
	stepPushed step = 1 << iota
	stepVerified
	stepFailed
	stepBlocked
)

type recorded struct {
	station Station
	change  string
	steps   step
	// since is m.generation when it was first recorded: a sweep drops only
	// what was recorded before the list it compares with was read.
	since uint64
}

// New returns the metrics; tickets (the manager's cache) is where
// k8sta_tickets counts Tickets at each scrape, nil for none.
func New(tickets TicketLister) *Metrics {
	station := []string{LabelNamespace, LabelTrack, LabelStation}
	m := &Metrics{
		leadTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameLeadTime,
			Help:    "Seconds from a change's discovery (its Subscription first saw it) to its verification at a station (every Application Synced to its rendered commit and Healthy).",
			Buckets: journeyBuckets,
		}, station),
		hop: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameHop,
			Help:    "Seconds from a change's verification at the station before (its discovery, at a Track's first station) to its rendered commit pushed at this station.",
			Buckets: journeyBuckets,
		}, station),
		promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePromotions,
			Help: "Changes that reached a verdict at a station, by result (verified, failed, blocked); a change counts once per result.",
		}, append(station, LabelResult)),
		renderDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameRenderDuration,
			Help:    "Seconds one render took, from its render slot to its output, by result (rendered, invalid, limit_exceeded, error).",
			Buckets: workBuckets,
		}, []string{LabelResult}),
		gitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    NameGitDuration,
			Help:    "Seconds one git request to a remote took, by operation (fetch, push).",
			Buckets: workBuckets,
		}, []string{LabelOperation}),
		gitRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameGitRequests,
			Help: "Git requests to remotes, by operation (fetch, push) and result (success, auth, unreachable, too_large, rejected, error).",
		}, []string{LabelOperation, LabelResult}),
		registryRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameRegistryRequests,
			Help: "HTTP requests to image registries, by operation (ping, token, tags, manifest, blob, other) and result (success, unauthorized, not_found, rate_limited, error).",
		}, []string{LabelOperation, LabelResult}),
		webhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameWebhookRequests,
			Help: "Webhook requests answered, by sender (the kind of /hook/<kind>/..., unknown for any other) and HTTP status code.",
		}, []string{LabelSender, LabelCode}),
		seen:   map[types.UID]*recorded{},
		owners: map[Station]map[types.UID]struct{}{},
	}
	if tickets != nil {
		m.tickets = newTicketPhases(tickets, m.sweep)
	}
	return m
}

// Register registers every metric with r, e.g. controller-runtime's
// metrics.Registry.
func (m *Metrics) Register(r prometheus.Registerer) error {
	cs := []prometheus.Collector{m.leadTime, m.hop, m.promotions, m.renderDuration, m.gitDuration, m.gitRequests, m.registryRequests, m.webhookRequests}
	if m.tickets != nil {
		cs = append(cs, m.tickets)
	}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return errors.Wrap(err, "cannot register metrics")
		}
	}
	return nil
}

// Pushed records that Ticket t pushed the rendered commit of its change at
// pushed: the hop from the time its k8sta.io/released-at annotation says,
// once per change. A Ticket without the annotation (or with one that does
// not read as a time before pushed) records no hop.
func (m *Metrics) Pushed(t *v1alpha1.Ticket, pushed time.Time) {
	if m == nil {
		return
	}
	released, ok := ReleasedAt(t)
	if !ok || released.After(pushed) {
		return
	}
	s := StationOf(t)
	if !m.first(t, s, stepPushed) {
		return
	}
	m.hop.WithLabelValues(s.Namespace, s.Track, s.Station).Observe(pushed.Sub(released).Seconds())
}

// Verdict records the verdict Ticket t reached, as its phase says:
// Verified (with the lead time from its change's discovery to its
// verifiedAt), Failed or Blocked; once per change and verdict.
func (m *Metrics) Verdict(t *v1alpha1.Ticket) {
	if m == nil {
		return
	}
	at := t.Status.AtProvider
	var st step
	var result string
	switch at.Phase {
	case v1alpha1.PhaseVerified:
		st, result = stepVerified, ResultVerified
	case v1alpha1.PhaseFailed:
		st, result = stepFailed, ResultFailed
	case v1alpha1.PhaseBlocked:
		st, result = stepBlocked, ResultBlocked
	default:
		return
	}
	s := StationOf(t)
	if !m.first(t, s, st) {
		return
	}
	m.promotions.WithLabelValues(s.Namespace, s.Track, s.Station, result).Inc()
	discovered := t.Spec.ForProvider.Change.DiscoveredAt
	if st != stepVerified || discovered == nil || at.VerifiedAt == nil || at.VerifiedAt.Before(discovered) {
		return
	}
	m.leadTime.WithLabelValues(s.Namespace, s.Track, s.Station).Observe(at.VerifiedAt.Sub(discovered.Time).Seconds())
}

// first reports whether step st of t's change is yet to be recorded, and
// marks it recorded.
func (m *Metrics) first(t *v1alpha1.Ticket, s Station, st step) bool {
	change := t.Spec.ForProvider.Change.ID
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.seen[t.UID]
	if r != nil && r.station != s {
		m.disown(t.UID, r.station)
	}
	if r == nil || r.change != change || r.station != s {
		r = &recorded{station: s, change: change, since: m.generation}
		m.seen[t.UID] = r
	}
	if r.steps&st != 0 {
		return false
	}
	r.steps |= st
	owners := m.owners[s]
	if owners == nil {
		owners = map[types.UID]struct{}{}
		m.owners[s] = owners
	}
	owners[t.UID] = struct{}{}
	return true
}

// Forget drops what was recorded of Ticket t, which is gone: its station's
// series too, unless another Ticket of the same station recorded some.
func (m *Metrics) Forget(t *v1alpha1.Ticket) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.seen[t.UID]
	if r == nil {
		return
	}
	delete(m.seen, t.UID)
	m.disown(t.UID, r.station)
}

// sweep begins a sweep: once the Tickets that exist are listed, live
// forgets every Ticket recorded before the sweep began that is not among
// them. Forget runs on the informer's delete event, which can come while a
// reconcile of the Ticket is still at work; what that reconcile records
// after it would stay for good, and keep its station's series too.
func (m *Metrics) sweep() (live func(exists map[types.UID]bool)) {
	m.mu.Lock()
	began := m.generation
	m.generation++
	m.mu.Unlock()
	return func(exists map[types.UID]bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for uid, r := range m.seen {
			if r.since <= began && !exists[uid] {
				delete(m.seen, uid)
				m.disown(uid, r.station)
			}
		}
	}
}

// disown removes Ticket uid from the owners of s, and deletes the series of
// s when it was the last. m.mu is held.
func (m *Metrics) disown(uid types.UID, s Station) {
	owners := m.owners[s]
	delete(owners, uid)
	if len(owners) > 0 {
		return
	}
	delete(m.owners, s)
	m.leadTime.Delete(s.labels())
	m.hop.Delete(s.labels())
	m.promotions.DeletePartialMatch(s.labels())
}

// Render records one render, its result (render's BuildObserver words) and
// how long it took.
func (m *Metrics) Render(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.renderDuration.WithLabelValues(result).Observe(took.Seconds())
}

// GitRequest records one git request to a remote, its operation and result
// (gitrepo's RequestObserver words) and how long it took.
func (m *Metrics) GitRequest(operation, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.gitDuration.WithLabelValues(operation).Observe(took.Seconds())
	m.gitRequests.WithLabelValues(operation, result).Inc()
}

// RegistryRequest records one HTTP request to a registry, its operation and
// result (registry's RequestObserver words).
func (m *Metrics) RegistryRequest(operation, result string) {
	if m == nil {
		return
	}
	m.registryRequests.WithLabelValues(operation, result).Inc()
}

// WebhookRequest records one webhook request answered: sender is the
// webhook library's bounded word for the path's kind, code the status code
// of the answer.
func (m *Metrics) WebhookRequest(sender string, code int) {
	if m == nil {
		return
	}
	m.webhookRequests.WithLabelValues(sender, statusCode(code)).Inc()
}

// statusCode is code as a label: a valid HTTP status code, or "other".
func statusCode(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// MaxReleasedAtBytes bounds the k8sta.io/released-at annotation that
// ReleasedAt reads: an RFC 3339 time is at most 35 bytes.
const MaxReleasedAtBytes = 64

// ReleasedAt reads Ticket t's k8sta.io/released-at annotation: when its
// change was released to its station.
func ReleasedAt(t *v1alpha1.Ticket) (time.Time, bool) {
	v, ok := t.GetAnnotations()[v1alpha1.AnnotationReleasedAt]
	if !ok || len(v) > MaxReleasedAtBytes {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false
	}
	return at, true
}
