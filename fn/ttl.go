package fn

import (
	"time"

	"github.com/crossplane/function-sdk-go/response"
	"google.golang.org/protobuf/types/known/structpb"
)

// BreakerOpenTTL is how soon Crossplane calls the function again while its
// XR circuit breaker drops the Track's watch events: a Ticket verifying its
// change, or a new change from the Subscription, would otherwise wait for
// the breaker's next probe. With the breaker closed, the watches on what
// the Track composes wake it at once and nothing is polled.
const BreakerOpenTTL = time.Second

// typeResponsive is the condition in which Crossplane reports its XR circuit
// breaker: False while it drops the composite's watch events.
const typeResponsive = "Responsive"

// CacheFor is how long Crossplane may cache the function's result for the
// Track xr: until the next soak ends, and no longer than BreakerOpenTTL
// while Crossplane's circuit breaker drops the Track's events.
func CacheFor(xr *structpb.Struct, p *Progression) time.Duration {
	d := response.DefaultTTL
	if p.Requeue > 0 && p.Requeue < d {
		d = (p.Requeue + time.Second - 1).Truncate(time.Second)
	}
	if breakerOpen(xr) && BreakerOpenTTL < d {
		d = BreakerOpenTTL
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
