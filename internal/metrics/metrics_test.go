package metrics

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ticket is a Ticket of station station delivering change, discovered at
// t0, released at released ("" for no annotation), in phase phase, verified
// at verified (zero: not verified).
func ticket(uid, station, change, released, phase string, verified time.Time) *v1alpha1.Ticket {
	discovered := metav1.NewTime(t0)
	t := &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "guestbook-" + station, UID: types.UID(uid)}}
	t.Spec.ForProvider = v1alpha1.TicketParameters{Track: "guestbook", Station: station, Change: v1alpha1.Change{ID: change, DiscoveredAt: &discovered}}
	if released != "" {
		t.Annotations = map[string]string{v1alpha1.AnnotationReleasedAt: released}
	}
	t.Status.AtProvider.Phase = phase
	if !verified.IsZero() {
		v := metav1.NewTime(verified)
		t.Status.AtProvider.VerifiedAt = &v
	}
	return t
}

// series gathers r and returns each sample as "name{labels} value", sorted:
// a histogram as its count and sum.
func series(t *testing.T, r *prometheus.Registry) []string {
	t.Helper()
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				out = append(out, mf.GetName()+"_count"+l+" "+ftoa(float64(m.GetHistogram().GetSampleCount())),
					mf.GetName()+"_sum"+l+" "+ftoa(m.GetHistogram().GetSampleSum()))
			case dto.MetricType_COUNTER:
				out = append(out, mf.GetName()+l+" "+ftoa(m.GetCounter().GetValue()))
			case dto.MetricType_GAUGE:
				out = append(out, mf.GetName()+l+" "+ftoa(m.GetGauge().GetValue()))
			}
		}
	}
	sort.Strings(out)
	return out
}

func labels(m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	return "{" + strings.Join(ls, ",") + "}"
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func newRegistered(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	m := New(nil)
	r := prometheus.NewPedanticRegistry()
	if err := m.Register(r); err != nil {
		t.Fatal(err)
	}
	return m, r
}

// A reconcile repeats; a change's steps at a station are recorded once
// each: one hop, one verdict per result, one lead time.
func TestStepsRecordedOncePerChange(t *testing.T) {
	verified := t0.Add(90 * time.Minute)
	released := t0.Add(30 * time.Minute).Format(time.RFC3339)
	cases := map[string]struct {
		record func(m *Metrics)
		want   []string
	}{
		"VerifiedTwice": {
			record: func(m *Metrics) {
				for range 2 {
					m.Pushed(ticket("a", "int", "c1", released, v1alpha1.PhaseRendering, time.Time{}), t0.Add(time.Hour))
					m.Verdict(ticket("a", "int", "c1", released, v1alpha1.PhaseVerified, verified))
				}
			},
			want: []string{
				"k8sta_hop_seconds_count{namespace=team-a,station=int,track=guestbook} 1",
				"k8sta_hop_seconds_sum{namespace=team-a,station=int,track=guestbook} 1800",
				"k8sta_lead_time_seconds_count{namespace=team-a,station=int,track=guestbook} 1",
				"k8sta_lead_time_seconds_sum{namespace=team-a,station=int,track=guestbook} 5400",
				"k8sta_promotions_total{namespace=team-a,result=verified,station=int,track=guestbook} 1",
			},
		},
		"FailedThenVerified": {
			record: func(m *Metrics) {
				m.Verdict(ticket("a", "int", "c1", "", v1alpha1.PhaseFailed, time.Time{}))
				m.Verdict(ticket("a", "int", "c1", "", v1alpha1.PhaseFailed, time.Time{}))
				m.Verdict(ticket("a", "int", "c1", "", v1alpha1.PhaseVerified, verified))
			},
			want: []string{
				"k8sta_lead_time_seconds_count{namespace=team-a,station=int,track=guestbook} 1",
				"k8sta_lead_time_seconds_sum{namespace=team-a,station=int,track=guestbook} 5400",
				"k8sta_promotions_total{namespace=team-a,result=failed,station=int,track=guestbook} 1",
				"k8sta_promotions_total{namespace=team-a,result=verified,station=int,track=guestbook} 1",
			},
		},
		"NextChangeCountsAgain": {
			record: func(m *Metrics) {
				m.Verdict(ticket("a", "int", "c1", "", v1alpha1.PhaseBlocked, time.Time{}))
				m.Verdict(ticket("a", "int", "c2", "", v1alpha1.PhaseBlocked, time.Time{}))
			},
			want: []string{
				"k8sta_promotions_total{namespace=team-a,result=blocked,station=int,track=guestbook} 2",
			},
		},
		"NoVerdictWhileOnItsWay": {
			record: func(m *Metrics) {
				for _, p := range []string{"", v1alpha1.PhaseRendering, v1alpha1.PhaseSyncing, v1alpha1.PhaseProgressing} {
					m.Verdict(ticket("a", "int", "c1", "", p, time.Time{}))
				}
			},
		},
		"NoHopWithoutAReleaseBeforeThePush": {
			record: func(m *Metrics) {
				for _, r := range []string{"", "yesterday", strings.Repeat("9", 100), t0.Add(2 * time.Hour).Format(time.RFC3339)} {
					m.Pushed(ticket("a", "int", "c1", r, v1alpha1.PhaseRendering, time.Time{}), t0.Add(time.Hour))
				}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m, r := newRegistered(t)
			tc.record(m)
			if diff := cmp.Diff(tc.want, series(t, r)); diff != "" {
				t.Errorf("series: -want, +got:\n%s", diff)
			}
		})
	}
}

// A station's series go with its last Ticket: Crossplane may replace a
// station's Ticket (a new name), and the new one's series must survive the
// old one's deletion.
func TestForgetDeletesAStationsSeriesWithItsLastTicket(t *testing.T) {
	m, r := newRegistered(t)
	verified := t0.Add(time.Hour)
	old := ticket("old", "int", "c1", "", v1alpha1.PhaseVerified, verified)
	replacement := ticket("new", "int", "c2", "", v1alpha1.PhaseVerified, verified)
	other := ticket("other", "dev", "c2", "", v1alpha1.PhaseVerified, verified)
	for _, tk := range []*v1alpha1.Ticket{old, replacement, other} {
		m.Verdict(tk)
	}

	m.Forget(old)
	want := []string{
		"k8sta_lead_time_seconds_count{namespace=team-a,station=dev,track=guestbook} 1",
		"k8sta_lead_time_seconds_count{namespace=team-a,station=int,track=guestbook} 2",
		"k8sta_lead_time_seconds_sum{namespace=team-a,station=dev,track=guestbook} 3600",
		"k8sta_lead_time_seconds_sum{namespace=team-a,station=int,track=guestbook} 7200",
		"k8sta_promotions_total{namespace=team-a,result=verified,station=dev,track=guestbook} 1",
		"k8sta_promotions_total{namespace=team-a,result=verified,station=int,track=guestbook} 2",
	}
	if diff := cmp.Diff(want, series(t, r)); diff != "" {
		t.Errorf("after the old Ticket went: -want, +got:\n%s", diff)
	}

	m.Forget(replacement)
	want = []string{
		"k8sta_lead_time_seconds_count{namespace=team-a,station=dev,track=guestbook} 1",
		"k8sta_lead_time_seconds_sum{namespace=team-a,station=dev,track=guestbook} 3600",
		"k8sta_promotions_total{namespace=team-a,result=verified,station=dev,track=guestbook} 1",
	}
	if diff := cmp.Diff(want, series(t, r)); diff != "" {
		t.Errorf("after the station's last Ticket went: -want, +got:\n%s", diff)
	}
	if len(m.seen) != 1 || len(m.owners) != 1 {
		t.Errorf("kept %d Tickets and %d stations, want 1 and 1", len(m.seen), len(m.owners))
	}
}

func TestWebhookStatusCodeIsBounded(t *testing.T) {
	m, r := newRegistered(t)
	for _, code := range []int{200, 401, 0, 99, 600, 1 << 20} {
		m.WebhookRequest("github", code)
	}
	want := []string{
		"k8sta_webhook_requests_total{code=200,sender=github} 1",
		"k8sta_webhook_requests_total{code=401,sender=github} 1",
		"k8sta_webhook_requests_total{code=other,sender=github} 4",
	}
	if diff := cmp.Diff(want, series(t, r)); diff != "" {
		t.Errorf("series: -want, +got:\n%s", diff)
	}
}

// A nil *Metrics (a controller set up without metrics) records nothing and
// does not panic.
func TestNilMetricsRecordNothing(_ *testing.T) {
	var m *Metrics
	tk := ticket("a", "int", "c1", t0.Format(time.RFC3339), v1alpha1.PhaseVerified, t0)
	m.Pushed(tk, t0)
	m.Verdict(tk)
	m.Forget(tk)
	m.Render("rendered", time.Second)
	m.GitRequest("fetch", "success", time.Second)
	m.RegistryRequest("tags", "success")
	m.WebhookRequest("github", 200)
}

func TestLongStationPathsAreCutAndKeptApart(t *testing.T) {
	long := strings.Repeat("regions.guestbook-us.", 10)
	cases := map[string]struct {
		reason string
		track  string
		path   string
		want   Station
	}{
		"Short": {
			reason: "A Track's and station's names as they are.",
			track:  "guestbook", path: "regions.guestbook-us.us",
			want: Station{Namespace: "team-a", Track: "guestbook", Station: "regions.guestbook-us.us"},
		},
		"AtTheBound": {
			reason: "128 bytes fit.",
			track:  "guestbook", path: strings.Repeat("a", 128),
			want: Station{Namespace: "team-a", Track: "guestbook", Station: strings.Repeat("a", 128)},
		},
		"LongPathUS": {
			reason: "A path past 128 bytes is cut to 119 and ends with '~' and 8 hex digits of its SHA-256 (sha256sum of the path).",
			track:  "guestbook", path: long + "us",
			want: Station{Namespace: "team-a", Track: "guestbook", Station: (long + "us")[:119] + "~885ce401"},
		},
		"LongPathEU": {
			reason: "A path sharing those 119 bytes keeps its own series.",
			track:  "guestbook", path: long + "eu",
			want: Station{Namespace: "team-a", Track: "guestbook", Station: (long + "eu")[:119] + "~a5b68f14"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tk := ticket("u", tc.path, "0123456789ab", "", v1alpha1.PhaseVerified, time.Time{})
			tk.Spec.ForProvider.Track = tc.track
			if diff := cmp.Diff(tc.want, StationOf(tk)); diff != "" {
				t.Errorf("%s\nStationOf(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// cacheOf stands in for the manager's cache, holding tickets: the race it
// helps test (a Ticket's delete event before its reconcile ends) cannot be
// provoked on demand against a real one.
type cacheOf []*v1alpha1.Ticket

func (c cacheOf) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	l := list.(*v1alpha1.TicketList)
	for _, t := range c {
		l.Items = append(l.Items, *t)
	}
	return nil
}

// A reconcile still at work when its Ticket's delete event came records
// after Forget: the next scrape, which lists the Tickets that exist, forgets
// it and its station's series; a Ticket recorded after that list was read
// is kept.
func TestScrapeForgetsTicketsRecordedAfterTheyWent(t *testing.T) {
	verified := t0.Add(time.Hour)
	live := ticket("live", "dev", "c1", "", v1alpha1.PhaseVerified, verified)
	gone := ticket("gone", "int", "c1", "", v1alpha1.PhaseVerified, verified)
	m := New(cacheOf{live})
	r := prometheus.NewPedanticRegistry()
	if err := m.Register(r); err != nil {
		t.Fatal(err)
	}
	m.Verdict(live)
	m.Forget(gone)  // its delete event
	m.Verdict(gone) // its last reconcile, still at work

	want := []string{
		"k8sta_lead_time_seconds_count{namespace=team-a,station=dev,track=guestbook} 1",
		"k8sta_lead_time_seconds_sum{namespace=team-a,station=dev,track=guestbook} 3600",
		"k8sta_promotions_total{namespace=team-a,result=verified,station=dev,track=guestbook} 1",
		"k8sta_tickets{namespace=team-a,phase=Verified} 1",
	}
	series(t, r) // the scrape that sweeps; what it shows of int races the sweep
	if diff := cmp.Diff(want, series(t, r)); diff != "" {
		t.Errorf("after a scrape: -want, +got:\n%s", diff)
	}
	if len(m.seen) != 1 || len(m.owners) != 1 {
		t.Errorf("kept %d Tickets and %d stations, want 1 and 1", len(m.seen), len(m.owners))
	}

	// Recorded while a sweep lists: not yet in its list, not forgotten.
	newer := ticket("newer", "qa", "c1", "", v1alpha1.PhaseVerified, verified)
	sweep := m.sweep()
	m.Verdict(newer)
	sweep(map[types.UID]bool{live.UID: true})
	if _, ok := m.seen[newer.UID]; !ok {
		t.Error("a sweep forgot a Ticket recorded after its list was read")
	}
}
