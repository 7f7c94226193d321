package metrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// What a reconcile pays: a Ticket's verdict is told once per change (the
// controller calls Verdict only when its phase changes, and a repeat is
// dropped here), a push once; git, registry and webhook requests each once.
func BenchmarkObserve(b *testing.B) {
	verified := t0.Add(time.Hour)
	released := t0.Add(30 * time.Minute).Format(time.RFC3339)
	b.Run("VerdictRepeated", func(b *testing.B) {
		m := New(nil)
		tk := ticket("a", "int", "c1", "", v1alpha1.PhaseVerified, verified)
		m.Verdict(tk)
		b.ReportAllocs()
		for b.Loop() {
			m.Verdict(tk)
		}
	})
	b.Run("VerdictNewChange", func(b *testing.B) {
		m := New(nil)
		tks := make([]*v1alpha1.Ticket, 1024)
		for i := range tks {
			tks[i] = ticket("a", "int", fmt.Sprintf("c%d", i), "", v1alpha1.PhaseVerified, verified)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Verdict(tks[i%len(tks)])
			i++
		}
	})
	b.Run("PushedNewChange", func(b *testing.B) {
		m := New(nil)
		tks := make([]*v1alpha1.Ticket, 1024)
		for i := range tks {
			tks[i] = ticket("a", "int", fmt.Sprintf("c%d", i), released, v1alpha1.PhaseRendering, time.Time{})
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Pushed(tks[i%len(tks)], verified)
			i++
		}
	})
	b.Run("GitRequest", func(b *testing.B) {
		m := New(nil)
		b.ReportAllocs()
		for b.Loop() {
			m.GitRequest("fetch", "success", 40*time.Millisecond)
		}
	})
	b.Run("WebhookRequest", func(b *testing.B) {
		m := New(nil)
		b.ReportAllocs()
		for b.Loop() {
			m.WebhookRequest("github", 200)
		}
	})
}

// tickets is an in-memory TicketLister, standing in for the manager's
// cache, to measure what counting Tickets costs a scrape.
type tickets []v1alpha1.Ticket

func (ts tickets) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*v1alpha1.TicketList).Items = ts
	return nil
}

// A scrape counts every Ticket of the cache: 1,000 Tickets in 10
// namespaces, as make bench-tickets runs.
func BenchmarkScrapeTickets(b *testing.B) {
	ts := make(tickets, 1000)
	phases := []string{v1alpha1.PhaseVerified, v1alpha1.PhaseSyncing, v1alpha1.PhaseFailed, ""}
	for i := range ts {
		ts[i].Namespace = fmt.Sprintf("team-%d", i%10)
		ts[i].UID = types.UID(fmt.Sprint(i))
		ts[i].Status.AtProvider.Phase = phases[i%len(phases)]
	}
	r := prometheus.NewRegistry()
	if err := New(ts).Register(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
