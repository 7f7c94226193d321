package fn

import (
	"time"

	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// InFlightTTL is how soon Crossplane calls the function again while a
// station delivers a change it was given recently. Composed-resource watches
// wake the Track at once; this bounds the wait when Crossplane's XR circuit
// breaker drops those events, as it does for a while after a burst such as
// a Track's first promotion.
const InFlightTTL = time.Second

// breakerCooldown is how long Crossplane's XR circuit breaker stays open
// (its --circuit-breaker-cooldown default). A station delivering for longer,
// such as a canary analysis, is watched again by then: no need to poll it.
const breakerCooldown = 5 * time.Minute

// CacheFor is how long Crossplane may cache the function's result: until
// the next soak ends, and no longer than InFlightTTL while a station has
// been delivering its change for less than breakerCooldown.
func CacheFor(p *Progression, stations *structpb.Value, now time.Time) time.Duration {
	d := response.DefaultTTL
	if p.Requeue > 0 && p.Requeue < d {
		d = (p.Requeue + time.Second - 1).Truncate(time.Second)
	}
	if p.InFlight && deliveringFor(stations, now) < breakerCooldown && InFlightTTL < d {
		d = InFlightTTL
	}
	return d
}

// deliveringFor is how long the most recently started of the stations
// delivering a change has been at it.
func deliveringFor(stations *structpb.Value, now time.Time) time.Duration {
	shortest := time.Duration(-1)
	for _, v := range stations.GetListValue().GetValues() {
		s := v.GetStructValue()
		if str(s, "phase") != v1alpha1.PhaseProgressing {
			continue
		}
		since, err := time.Parse(time.RFC3339, str(s, "since"))
		if err != nil {
			return 0
		}
		if d := now.Sub(since); shortest < 0 || d < shortest {
			shortest = d
		}
	}
	return max(shortest, 0)
}
