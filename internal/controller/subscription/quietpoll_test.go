package subscription

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A poll that finds what the last one found leaves what the Subscription
// observed alone, poll times included: every Subscription status write
// wakes the Track that composes it.
func TestPollThatFindsNothingNewChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.push("1.2.0")
	key := f.subscription(nil)
	eventually(t, "the first change", func() (bool, string) {
		return newest(t, key) != nil, "none"
	})
	before := get(t, key).Status.AtProvider
	// The next poll must happen in a later second than the first: poll
	// times are stored to the second.
	var last time.Time
	for _, s := range before.Sources {
		if s.LastPolled != nil && s.LastPolled.After(last) {
			last = s.LastPolled.Time
		}
	}
	eventually(t, "the clock past the first poll's second", func() (bool, string) {
		return time.Now().Truncate(time.Second).After(last), time.Now().String()
	})

	pollNow(t, key, "again")
	if diff := cmp.Diff(before, get(t, key).Status.AtProvider); diff != "" {
		t.Errorf("status.atProvider after a poll that found nothing new: -before +after:\n%s", diff)
	}
}
