package fn

import (
	"time"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Releases are, by station path, when the change each station is given was
// released to it, as its Ticket's k8sta.io/released-at annotation says
// (RFC 3339): when the station before it (the nearest one upstream with a
// Ticket, through junctions) verified the change, or, at the first station,
// when the change was discovered. The provider measures a hop from it to
// the push (k8sta_hop_seconds).
//
// A time once given stays: the station before may move on to a newer
// change while this one still delivers, and then no longer says when it
// verified this one; the Ticket's own annotation, for the same change, does.
// A Ticket's metadata that changed at every composition would be written at
// every composition. A change the station before never verified (an
// overlay-only change, a pinned one) has no release time.
func Releases(x *Expansion, o Observed, p *Progression) map[string]string {
	before := map[string]*Stop{}
	feeders(x.Line, nil, before)
	out := make(map[string]string, len(p.Stations))
	for _, st := range p.Stations {
		if st.Change == nil {
			continue
		}
		if at := released(before[st.Stop.Path], st.Stop, st.Change, o); at != "" {
			out[st.Stop.Path] = at
		}
	}
	return out
}

// released is when change ch was released to station s, fed by station
// feeder (nil: s is the first), as the annotation spells it; "" if unknown.
func released(feeder, s *Stop, ch *v1alpha1.Change, o Observed) string {
	if t := o.Tickets[s.Path]; asked(t) != nil && asked(t).ID == ch.ID {
		if at := t.Annotations[v1alpha1.AnnotationReleasedAt]; isTimestamp(at) {
			return at
		}
	}
	if feeder == nil {
		if ch.DiscoveredAt == nil {
			return ""
		}
		return ch.DiscoveredAt.UTC().Format(time.RFC3339)
	}
	since, ok := o.Tickets[feeder.Path].VerifiedFor(ch.ID)
	if !ok || since.IsZero() {
		return ""
	}
	return since.UTC().Format(time.RFC3339)
}

// feeders records, by path, the station with a Ticket that feeds each
// station of line l: prev for the first, then each station with a Ticket
// before it; a junction's sections are fed as the station after it is.
func feeders(l Line, prev *Stop, out map[string]*Stop) {
	for _, s := range l {
		out[s.Path] = prev
		if s.HasTicket() {
			prev = s
		}
		for _, sec := range s.Sections {
			feeders(sec, prev, out)
		}
	}
}

// isTimestamp reports whether s is an RFC 3339 time, as the function writes
// them: what it copies from an observed object into what it composes must
// be what it would have written itself, not whatever (and however much) the
// object held.
func isTimestamp(s string) bool {
	if s == "" || len(s) > len(time.RFC3339Nano) {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
