package ticket

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// BenchmarkTicketFleet is the provider alone with 1,000 Tickets, in 10
// namespaces of 100 (each its own config repository on its own git server),
// each Ticket delivering one change to its own rendered branch and its own
// Application. Argo CD is not running: the benchmark writes Application
// status as Argo CD does. It reports
//
//   - tickets/s: Tickets rendered, pushed and their sync requested, per
//     second, from the creation of the first to the last sync request;
//   - heap-B/ticket: the Go heap the test process (the provider's
//     controllers and caches, and the benchmark's own objects) holds per
//     Ticket once all are delivered;
//   - app-to-ticket-ms-p50/-max: for 50 Tickets, one after another, the time
//     from the write of an Application status that verifies the change to
//     the Ticket's Ready condition, as a watch sees it.
//
// Run it with make bench-tickets (-benchtime=1x: one fleet is the unit).
func BenchmarkTicketFleet(b *testing.B) {
	const namespaces, perNamespace, sampled = 10, 100, 5
	for range b.N {
		fleet := make([]*fixture, namespaces)
		for i := range fleet {
			fleet[i] = newFixture(b)
		}
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)

		start := time.Now()
		for _, f := range fleet {
			for i := range perNamespace {
				station := fmt.Sprintf("s-%d", i)
				f.application("app-"+station, "env/"+station)
				f.ticketWith("t-"+station, change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Station = station
					tk.Spec.ForProvider.Branch = "env/" + station
				}, "app-"+station)
			}
		}
		kubeenv.EventuallyWithin(b, 30*time.Minute, "a sync requested of every Application", func() (bool, string) {
			pending := 0
			for _, f := range fleet {
				l := &unstructured.UnstructuredList{}
				l.SetAPIVersion("argoproj.io/v1alpha1")
				l.SetKind("ApplicationList")
				must(b, kube.List(context.Background(), l, client.InNamespace(f.argoNS)))
				for _, a := range l.Items {
					if _, ok := a.Object["operation"]; !ok {
						pending++
					}
				}
			}
			return pending == 0, fmt.Sprintf("%d Applications without a sync request", pending)
		})
		elapsed := time.Since(start)
		b.ReportMetric(float64(namespaces*perNamespace)/elapsed.Seconds(), "tickets/s")

		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(namespaces*perNamespace), "heap-B/ticket")

		var latencies []time.Duration
		for _, f := range fleet {
			ready := f.watchReady()
			for i := range sampled {
				station := fmt.Sprintf("s-%d", i)
				rev := f.argoStartOperation("app-" + station)
				written := time.Now()
				f.argoFinishSync("app-"+station, rev, "Healthy", "")
				at := ready.wait(b, "t-"+station)
				latencies = append(latencies, at.Sub(written))
			}
		}
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "app-to-ticket-ms-p50")
		b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "app-to-ticket-ms-max")
	}
}

// readyLog records when a watch first sees each Ticket of a namespace Ready.
type readyLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (f *fixture) watchReady() *readyLog {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: kube.Scheme()})
	must(f.t, err)
	w, err := wc.Watch(ctx, &v1alpha1.TicketList{}, client.InNamespace(f.ns))
	must(f.t, err)
	l := &readyLog{at: map[string]time.Time{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			tk, ok := ev.Object.(*v1alpha1.Ticket)
			if !ok || ev.Type == watch.Deleted || tk.GetCondition(xpv2.TypeReady).Status != corev1.ConditionTrue {
				continue
			}
			l.mu.Lock()
			if _, seen := l.at[tk.Name]; !seen {
				l.at[tk.Name] = time.Now()
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// wait returns when the watch first saw the Ticket name Ready.
func (l *readyLog) wait(t testing.TB, name string) time.Time {
	t.Helper()
	var at time.Time
	kubeenv.EventuallyWithin(t, 5*time.Minute, "Ticket "+name+" Ready", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		var ok bool
		at, ok = l.at[name]
		return ok, "not Ready"
	})
	return at
}
