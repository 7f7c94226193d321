package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A TicketLister lists Tickets: the manager's cache, so that a scrape costs
// the API server nothing.
type TicketLister interface {
	List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error
}

// PhaseUnknown is the phase label of a Ticket whose status says no phase
// yet, or one this provider does not know.
const PhaseUnknown = "Unknown"

// phases are the phase label values besides PhaseUnknown.
var phases = map[string]bool{
	v1alpha1.PhaseRendering: true, v1alpha1.PhaseSyncing: true, v1alpha1.PhaseProgressing: true,
	v1alpha1.PhaseVerified: true, v1alpha1.PhaseFailed: true, v1alpha1.PhaseBlocked: true,
}

// listTimeout bounds the cache read of one scrape: a cache not yet synced
// makes the scrape report no Tickets rather than hang.
const listTimeout = 5 * time.Second

// ticketPhases counts Tickets by namespace and phase when scraped, from the
// cache: nothing to update on reconcile, nothing left behind by a Ticket or
// a namespace that is gone.
type ticketPhases struct {
	tickets TicketLister
	desc    *prometheus.Desc
	// sweep forgets the recorded Tickets the list does not hold.
	sweep func() func(exists map[types.UID]bool)
}

func newTicketPhases(tickets TicketLister, sweep func() func(map[types.UID]bool)) *ticketPhases {
	return &ticketPhases{tickets: tickets, sweep: sweep, desc: prometheus.NewDesc(NameTickets,
		"Tickets by namespace and phase (Rendering, Syncing, Progressing, Verified, Failed, Blocked, Unknown), as the provider's cache holds them when scraped.",
		[]string{LabelNamespace, LabelPhase}, nil)}
}

func (c *ticketPhases) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *ticketPhases) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	live := c.sweep()
	l := &v1alpha1.TicketList{}
	// Read only, never kept: the cache's own objects, not copies.
	if err := c.tickets.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	type key struct{ namespace, phase string }
	n := map[key]int{}
	exists := make(map[types.UID]bool, len(l.Items))
	for i := range l.Items {
		exists[l.Items[i].UID] = true
		p := l.Items[i].Status.AtProvider.Phase
		if !phases[p] {
			p = PhaseUnknown
		}
		n[key{l.Items[i].Namespace, p}]++
	}
	live(exists)
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), k.namespace, k.phase)
	}
}
