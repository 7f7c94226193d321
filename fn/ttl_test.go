package fn

import (
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/response"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestCacheFor(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	station := func(phase string, since time.Duration) *structpb.Value {
		return structv(map[string]*structpb.Value{"path": sv("dev"), "phase": sv(phase), "since": timev(now.Add(-since))})
	}
	cases := map[string]struct {
		reason   string
		xr       string
		p        *Progression
		stations []*structpb.Value
		want     time.Duration
	}{
		"Idle": {
			reason:   "With nothing delivering or soaking, Crossplane's default TTL.",
			p:        &Progression{},
			stations: []*structpb.Value{station("Verified", time.Hour)},
			want:     response.DefaultTTL,
		},
		"SoakEnds": {
			reason:   "A pending soak brings the function back when it ends, rounded up to the second.",
			p:        &Progression{Requeue: 2500 * time.Millisecond},
			stations: []*structpb.Value{station(PhaseSoaking, time.Minute)},
			want:     3 * time.Second,
		},
		"DeliveringRecently": {
			reason:   "A station given its change a minute ago is polled every InFlightTTL, in case the breaker dropped its Ticket's events.",
			p:        &Progression{InFlight: true, Requeue: 30 * time.Second},
			stations: []*structpb.Value{station("Verified", time.Hour), station("Progressing", time.Minute)},
			want:     InFlightTTL,
		},
		"DeliveringLong": {
			reason:   "A station delivering for longer than the breaker's cooldown is left to the watches.",
			p:        &Progression{InFlight: true},
			stations: []*structpb.Value{station("Progressing", 10*time.Minute)},
			want:     response.DefaultTTL,
		},
		"NewestDeliveryCounts": {
			reason:   "One long delivery does not hide a station that has just been given a change.",
			p:        &Progression{InFlight: true},
			stations: []*structpb.Value{station("Progressing", 10*time.Minute), station("Progressing", time.Second)},
			want:     InFlightTTL,
		},
		"BreakerOpen": {
			reason:   "While Crossplane's breaker drops the Track's events, an idle Track is polled every InFlightTTL too: a new change must not wait for the TTL.",
			xr:       `{"status": {"conditions": [{"type": "Responsive", "status": "False", "reason": "WatchCircuitOpen"}]}}`,
			p:        &Progression{},
			stations: []*structpb.Value{station("Verified", time.Minute)},
			want:     InFlightTTL,
		},
		"BreakerClosed": {
			reason:   "A closed breaker lets the watches do the work.",
			xr:       `{"status": {"conditions": [{"type": "Responsive", "status": "True", "reason": "WatchCircuitClosed"}]}}`,
			p:        &Progression{},
			stations: []*structpb.Value{station("Verified", time.Minute)},
			want:     response.DefaultTTL,
		},
		"NoSince": {
			reason:   "A station without a readable since is taken as just started.",
			p:        &Progression{InFlight: true},
			stations: []*structpb.Value{structv(map[string]*structpb.Value{"phase": sv("Progressing")})},
			want:     InFlightTTL,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := &structpb.Struct{}
			if tc.xr != "" {
				if err := protojson.Unmarshal([]byte(tc.xr), xr); err != nil {
					t.Fatal(err)
				}
			}
			got := CacheFor(xr, tc.p, listv(tc.stations), now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nCacheFor(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
