package fn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/types"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// benchTrack builds a Track tree with n Tickets: a root Track and sections
// nested three junction levels deep, fan sections per junction, the Tickets
// spread over all Tracks. Every Ticket verified change A; the Subscription
// found B. It returns the request, each observed Ticket at resourceVersion
// "first".
func benchTrack(b testing.TB, n, fan int) *fnv1.RunFunctionRequest {
	b.Helper()
	return benchTrackWindows(b, n, fan, "")
}

// benchTrackWindows is benchTrack with spec.windows of every Track windows,
// a YAML list.
func benchTrackWindows(b testing.TB, n, fan int, windows string) *fnv1.RunFunctionRequest {
	b.Helper()
	type tr struct {
		name     string
		level    int
		children []string
		stations []string
	}
	all := []*tr{{name: "guestbook"}}
	for i := 0; i < len(all); i++ {
		if all[i].level == 3 {
			continue
		}
		for j := 0; j < fan; j++ {
			c := &tr{name: fmt.Sprintf("%s-%d", all[i].name, j), level: all[i].level + 1}
			all[i].children = append(all[i].children, c.name)
			all = append(all, c)
		}
	}
	for i := 0; i < n; i++ {
		t := all[i%len(all)]
		t.stations = append(t.stations, fmt.Sprintf("s%d", len(t.stations)))
	}

	A, B := changeA, changeB
	observed := map[string]*fnv1.Resource{NameSubscription: subscriptionResource(b, B)}
	required := map[string]*fnv1.Resources{}
	var xr string
	var walk func(t *tr, prefix string)
	walk = func(t *tr, prefix string) {
		for _, s := range t.stations {
			ot := verifiedTicket(prefix+s, A, time.Hour)
			ot.uid, ot.resourceVersion = types.UID("uid-"+prefix+s), "first"
			// As the function composed it: with its release time.
			tk := ot.typed()
			tk.Annotations[v1alpha1.AnnotationReleasedAt] = "2026-11-25T09:00:00Z"
			observed[TicketName(prefix+s)] = &fnv1.Resource{Resource: asStruct(b, tk)}
		}
		for _, c := range t.children {
			for _, ct := range all {
				if ct.name == c {
					walk(ct, prefix+"fan."+c+".")
				}
			}
		}
	}
	walk(all[0], "")
	for i, t := range all {
		ss := make([]string, 0, len(t.stations)+1)
		for _, s := range t.stations {
			ss = append(ss, fmt.Sprintf("{name: %s, overlay: overlays/%s, branch: env/%s-%s, applications: [{name: %s-%s}]}", s, s, t.name, s, t.name, s))
		}
		if len(t.children) > 0 {
			ss = append(ss, "{name: fan, tracks: ["+strings.Join(t.children, ", ")+"]}")
		}
		doc := trackYAML(t.name, i == 0, ss...)
		if windows != "" {
			doc += "  windows: " + windows + "\n"
		}
		if i == 0 {
			xr = doc
			continue
		}
		required[RequirementTracks+"."+t.name] = &fnv1.Resources{Items: []*fnv1.Resource{{Resource: y(b, doc)}}}
	}
	req := &fnv1.RunFunctionRequest{
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: y(b, xr)}, Resources: observed},
		// Crossplane fetched the Track's operator controls: it has none,
		// the common case.
		RequiredResources: withControls(b, required),
	}
	settle(b, req)
	return req
}

// settle gives the Track of req the status the function composes for it,
// as Crossplane writes it: called again while nothing changes, the function
// reads its own status back.
func settle(b testing.TB, req *fnv1.RunFunctionRequest) {
	b.Helper()
	rsp, err := New(WithClock(func() time.Time { return now })).RunFunction(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	status := rsp.GetDesired().GetComposite().GetResource().GetFields()["status"]
	if status == nil {
		b.Fatal("the function composed no status")
	}
	req.Observed.Composite.Resource.Fields["status"] = status
	// The API server gave the Track a uid and a version.
	meta := req.Observed.Composite.Resource.Fields["metadata"].GetStructValue()
	meta.Fields["uid"], meta.Fields["resourceVersion"] = sv("uid-guestbook"), sv("first")
}

// cpuTime is the user and system CPU time of this process.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSizes are the Tracks the RunFunction benchmarks compose.
var benchSizes = []struct{ tickets, fan int }{{10, 1}, {50, 2}, {200, 3}}

// BenchmarkRunFunction is the function called again with the same observed
// state, as Crossplane calls it while nothing changes: what a process reads
// and encodes once, it keeps.
func BenchmarkRunFunction(b *testing.B) {
	for _, bc := range benchSizes {
		b.Run(fmt.Sprintf("tickets=%d", bc.tickets), func(b *testing.B) {
			req := benchTrack(b, bc.tickets, bc.fan)
			benchRunFunction(b, bc.tickets, false, req, func(int) {})
		})
	}
}

// BenchmarkRunFunctionNewVersions is the function called with every
// observed Ticket at a new resourceVersion each time: it reads every
// observed Ticket again.
func BenchmarkRunFunctionNewVersions(b *testing.B) {
	for _, bc := range benchSizes {
		b.Run(fmt.Sprintf("tickets=%d", bc.tickets), func(b *testing.B) {
			req := benchTrack(b, bc.tickets, bc.fan)
			// Each Ticket's resourceVersion, where the API server wrote it:
			// the one string value "first".
			versions := stringValues(req.GetObserved().GetResources(), "first")
			if len(versions) != bc.tickets {
				b.Fatalf("want %d resourceVersions, got %d", bc.tickets, len(versions))
			}
			f, calls := benchRunFunction(b, bc.tickets, false, req, func(i int) {
				v := &structpb.Value_StringValue{StringValue: strconv.Itoa(i)}
				for _, rv := range versions {
					rv.Kind = v
				}
			})
			// Every call read every Ticket anew, and kept it at its new
			// version only.
			if got := f.caches.observed.Len(); got != bc.tickets {
				b.Errorf("want %d observed Tickets cached, got %d", bc.tickets, got)
			}
			for name := range req.GetObserved().GetResources() {
				if path, ok := strings.CutPrefix(name, PrefixTicket); ok {
					if rt, _ := f.caches.observed.Get(types.UID("uid-" + path)); rt.resourceVersion != strconv.Itoa(calls-1) {
						b.Errorf("want Ticket %s cached at resourceVersion %d, got %q", path, calls-1, rt.resourceVersion)
					}
				}
			}
		})
	}
}

// stringValues are the values of the resources equal to the string s.
func stringValues(rs map[string]*fnv1.Resource, s string) []*structpb.Value {
	var out []*structpb.Value
	var walk func(v *structpb.Value)
	walk = func(v *structpb.Value) {
		switch {
		case v.GetStructValue() != nil:
			for _, f := range v.GetStructValue().GetFields() {
				walk(f)
			}
		case v.GetListValue() != nil:
			for _, e := range v.GetListValue().GetValues() {
				walk(e)
			}
		case v.GetStringValue() == s:
			out = append(out, v)
		}
	}
	for _, r := range rs {
		walk(structpb.NewStructValue(r.GetResource()))
	}
	return out
}

// BenchmarkRunFunctionFirstCall is the first call of a function process:
// nothing is cached.
func BenchmarkRunFunctionFirstCall(b *testing.B) {
	for _, bc := range benchSizes {
		b.Run(fmt.Sprintf("tickets=%d", bc.tickets), func(b *testing.B) {
			req := benchTrack(b, bc.tickets, bc.fan)
			benchRunFunction(b, bc.tickets, true, req, func(int) {})
		})
	}
}

// benchRunFunction calls a Function with req, after change(i) for call i,
// a new Function for each call if fresh. It returns the last Function and
// how many calls it made.
func benchRunFunction(b *testing.B, tickets int, fresh bool, req *fnv1.RunFunctionRequest, change func(i int)) (*Function, int) {
	b.Helper()
	f := New(WithClock(func() time.Time { return now }))
	rsp, err := f.RunFunction(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	// The Subscription and a Ticket per station, no problem found.
	if got := len(rsp.GetDesired().GetResources()); got != tickets+1 {
		b.Fatalf("want %d desired resources, got %d: %v", tickets+1, got, rsp.GetConditions())
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	calls := 1
	for b.Loop() {
		change(calls)
		if fresh {
			f = New(WithClock(func() time.Time { return now }))
		}
		if _, err := f.RunFunction(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	b.StopTimer()
	// CPU time per call, which a busy machine does not inflate as it does
	// ns/op (wall time).
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	return f, calls
}

// BenchmarkRunFunctionWorstWindows is the function called again for a Track
// of 40 Tracks (the root and its sections, 200 stations) that each have 20
// deny windows open all the time, each opening as the last ends: each
// window's search spends all its steps.
func BenchmarkRunFunctionWorstWindows(b *testing.B) {
	ws := make([]string, 0, maxWindows)
	for range maxWindows {
		ws = append(ws, `{kind: deny, schedule: "0 * * * *", duration: 1h, timeZone: Europe/Berlin}`)
	}
	req := benchTrackWindows(b, 200, 3, "["+strings.Join(ws, ", ")+"]")
	benchRunFunction(b, 200, false, req, func(int) {})
}

// BenchmarkRefuseFanOut is the function refusing the Track of issue 9: 20
// junction stations feeding 20 sections, two levels, 3.2 M stations expanded
// in full (2 GB and 33 s before MaxStops). Refusing it costs what composing
// MaxStops stations does.
func BenchmarkRefuseFanOut(b *testing.B) {
	fan := fanOut(20, 2)
	required := map[string]*fnv1.Resources{}
	for name, ss := range fan {
		if name != "" {
			required[RequirementTracks+"."+name] = &fnv1.Resources{Items: []*fnv1.Resource{{Resource: y(b, trackYAML(name, false, ss...))}}}
		}
	}
	req := &fnv1.RunFunctionRequest{
		Observed:          &fnv1.State{Composite: &fnv1.Resource{Resource: y(b, trackYAML("guestbook", true, fan[""]...))}},
		RequiredResources: withControls(b, required),
	}
	f := New(WithClock(func() time.Time { return now }))
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		rsp, err := f.RunFunction(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if c := rsp.GetConditions()[0]; c.GetReason() != ReasonTooManyStations {
			b.Fatalf("want Valid reason %s, got %s: %s", ReasonTooManyStations, c.GetReason(), c.GetMessage())
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
