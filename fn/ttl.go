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

// typeResponsive is the condition in which Crossplane reports its XR circuit
// breaker: False while it drops the composite's watch events.
const typeResponsive = "Responsive"

// breakerCooldown is how long Crossplane's XR circuit breaker stays open
// (its --circuit-breaker-cooldown default). A station delivering for longer,
// such as a canary analysis, is watched again by then: no need to poll it.
const breakerCooldown = 5 * time.Minute

// CacheFor is how long Crossplane may cache the function's result for the
// Track xr: until the next soak ends, and no longer than InFlightTTL while
// Crossplane's circuit breaker drops the Track's events (a new change from
// the Subscription would otherwise wait for the TTL) or a station has been
// delivering its change for less than breakerCooldown (the breaker may have
// opened on the very writes that delivery caused).
func CacheFor(xr *structpb.Struct, p *Progression, stations *structpb.Value, now time.Time) time.Duration {
	d := response.DefaultTTL
	if p.Requeue > 0 && p.Requeue < d {
		d = (p.Requeue + time.Second - 1).Truncate(time.Second)
	}
	delivering := p.InFlight && deliveringFor(stations, now) < breakerCooldown
	if (delivering || breakerOpen(xr)) && InFlightTTL < d {
		d = InFlightTTL
	}
	return d
}

// breakerOpen reports whether Crossplane says, in the Track's Responsive
// condition, that its XR circuit breaker is dropping the Track's events.
func breakerOpen(xr *structpb.Struct) bool {
	for _, c := range list(xr, "status", "conditions") {
		if s := c.GetStructValue(); str(s, "type") == typeResponsive {
			return str(s, "status") == "False"
		}
	}
	return false
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
