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
	cases := map[string]struct {
		reason string
		xr     string
		p      *Progression
		want   time.Duration
	}{
		"Idle": {
			reason: "With nothing soaking, Crossplane's default TTL.",
			p:      &Progression{},
			want:   response.DefaultTTL,
		},
		"Delivering": {
			reason: "A station delivering its change is left to the watches on its Ticket: nothing polls it.",
			p:      &Progression{Holds: []Hold{{Path: "dev", Reason: ReasonDelivering}}},
			want:   response.DefaultTTL,
		},
		"SoakEnds": {
			reason: "A pending soak brings the function back when it ends, rounded up to the second.",
			p:      &Progression{Requeue: 2500 * time.Millisecond},
			want:   3 * time.Second,
		},
		"BreakerOpenDelivering": {
			reason: "While Crossplane's breaker drops the Track's events and a station delivers, the Track is composed every BreakerOpenTTL: the station's verification must not wait for the breaker's next probe.",
			xr:     `{"status": {"conditions": [{"type": "Responsive", "status": "False", "reason": "WatchCircuitOpen"}]}}`,
			p:      &Progression{Stations: []StationState{{Phase: "Verified"}, {Phase: "Delivering"}}},
			want:   BreakerOpenTTL,
		},
		"BreakerOpenIdle": {
			reason: "An open breaker on a Track with nothing on its way: every BreakerOpenIdleTTL, for a new change from its Subscription.",
			xr:     `{"status": {"conditions": [{"type": "Responsive", "status": "False", "reason": "WatchCircuitOpen"}]}}`,
			p:      &Progression{Stations: []StationState{{Phase: "Verified"}, {Phase: "Verified"}}},
			want:   BreakerOpenIdleTTL,
		},
		"BreakerOpenSoakSooner": {
			reason: "The shorter of the two wins.",
			xr:     `{"status": {"conditions": [{"type": "Responsive", "status": "False", "reason": "WatchCircuitOpen"}]}}`,
			p:      &Progression{Requeue: 3 * time.Second},
			want:   3 * time.Second,
		},
		"BreakerClosed": {
			reason: "A closed breaker lets the watches do the work.",
			xr:     `{"status": {"conditions": [{"type": "Responsive", "status": "True", "reason": "WatchCircuitClosed"}]}}`,
			p:      &Progression{},
			want:   response.DefaultTTL,
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
			got := CacheFor(xr, tc.p)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nCacheFor(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
