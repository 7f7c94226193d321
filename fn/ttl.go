package fn

import (
	"time"

	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/types/known/structpb"
)

// BreakerOpenTTL is how soon Crossplane calls the function again while its
// XR circuit breaker drops the Track's watch events and a station delivers
// a change: the Ticket verifying it would otherwise wait for the breaker's
// next probe (every 30 s). With the breaker closed, the watches on what the
// Track composes wake it at once and nothing is polled.
const BreakerOpenTTL = time.Second

// BreakerOpenIdleTTL is BreakerOpenTTL for a Track with nothing on its way:
// only a new change from its Subscription can be missed, and a breaker
// stays open for minutes, during which a composition every second, for
// every such Track of a fleet, would cost the API server more than any
// promotion.
const BreakerOpenIdleTTL = 10 * time.Second

// typeResponsive is the condition in which Crossplane reports its XR circuit
// breaker: False while it drops the composite's watch events.
const typeResponsive = "Responsive"

// CacheFor is how long Crossplane may cache the function's result for the
// Track xr: until the next soak ends or a window that holds a change back
// opens or closes (the progression's Requeue), and, while Crossplane's
// circuit breaker drops the Track's events, no longer than BreakerOpenTTL
// if a station delivers a change, BreakerOpenIdleTTL otherwise.
func CacheFor(xr *structpb.Struct, p *Progression) time.Duration {
	d := response.DefaultTTL
	if p.Requeue > 0 && p.Requeue < d {
		d = (p.Requeue + time.Second - 1).Truncate(time.Second)
	}
	if !breakerOpen(xr) {
		return d
	}
	open := BreakerOpenIdleTTL
	if delivering(p) {
		open = BreakerOpenTTL
	}
	return min(d, open)
}

// delivering reports whether a station of p delivers a change it has not
// verified yet.
func delivering(p *Progression) bool {
	for _, st := range p.Stations {
		if st.Phase == PhaseDelivering {
			return true
		}
	}
	return false
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
