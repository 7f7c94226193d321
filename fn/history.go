package fn

import (
	"regexp"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Bounds of the changes each station's status.stations[].history keeps:
// MaxHistory per station, and MaxHistoryEntries for the whole Track, so
// that a Track of MaxStops stations keeps fewer per station, but never
// fewer than MinHistory, the change a station holds and the one before it,
// which a rollback goes back to.
const (
	MaxHistory        = 10
	MinHistory        = 2
	MaxHistoryEntries = 2000
)

// historyLimit is how many changes each station of a Track with that many
// stations keeps.
func historyLimit(stations int) int {
	if stations <= 0 {
		return MaxHistory
	}
	return max(MinHistory, min(MaxHistory, MaxHistoryEntries/stations))
}

// commitSHA is a full commit SHA, as a change names it.
var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// maxImagesOfChange is how many images a change has at most, as the
// Ticket's CRD says.
const maxImagesOfChange = 20

// ParseHistory reads each station's history from prev, the observed
// status.stations. The function wrote it, but anyone who may write the
// Track's status can too, and a change of the history can be pinned and
// composed into a Ticket: an entry is kept only if it is a change, its id
// the hash of its commit and images; at most MaxHistory per station and
// MaxStops stations are read.
func ParseHistory(prev []*structpb.Value) map[string][]VerifiedChange {
	if len(prev) == 0 {
		return nil
	}
	out := make(map[string][]VerifiedChange, min(len(prev), MaxStops))
	for i, v := range prev {
		if i == MaxStops {
			break
		}
		s := v.GetStructValue()
		entries := list(s, "history")
		if len(entries) == 0 {
			continue
		}
		h := make([]VerifiedChange, 0, min(len(entries), MaxHistory))
		for _, e := range entries {
			if len(h) == MaxHistory {
				break
			}
			if vc, ok := parseVerified(e.GetStructValue()); ok {
				h = append(h, vc)
			}
		}
		out[str(s, "path")] = h
	}
	return out
}

func parseVerified(e *structpb.Struct) (VerifiedChange, bool) {
	c := v1alpha1.Change{ID: str(e, "change"), Commit: str(e, "commit")}
	if !changeID.MatchString(c.ID) || !commitSHA.MatchString(c.Commit) {
		return VerifiedChange{}, false
	}
	images := list(e, "images")
	if len(images) > maxImagesOfChange {
		return VerifiedChange{}, false
	}
	for _, i := range images {
		is := i.GetStructValue()
		c.Images = append(c.Images, v1alpha1.Image{Repository: str(is, "repository"), Tag: str(is, "tag"), Digest: str(is, "digest")})
	}
	if v1alpha1.ChangeID(c.Commit, c.Images) != c.ID {
		return VerifiedChange{}, false
	}
	if t, ok := parseTime(str(e, "discoveredAt")); ok {
		mt := metav1.NewTime(t)
		c.DiscoveredAt = &mt
	}
	at, _ := parseTime(str(e, "verifiedAt"))
	return VerifiedChange{Change: c, VerifiedAt: at}, true
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// record is history h with change c, verified at, first: an earlier entry
// of c moves up, so each change is listed once, at its latest
// verification. It keeps limit entries, and never drops the entry of
// change pin (empty for none), which a rollback holds the station at. h is
// not modified.
func record(h []VerifiedChange, c *v1alpha1.Change, at time.Time, pin string, limit int) []VerifiedChange {
	if len(h) > 0 && h[0].Change.ID == c.ID {
		return trim(h, pin, limit)
	}
	out := make([]VerifiedChange, 0, min(len(h)+1, limit))
	out = append(out, VerifiedChange{Change: *c, VerifiedAt: at})
	for _, v := range h {
		if v.Change.ID != c.ID {
			out = append(out, v)
		}
	}
	return trim(out, pin, limit)
}

// trim is h cut to limit entries, the entry of change pin kept last if it
// would be cut.
func trim(h []VerifiedChange, pin string, limit int) []VerifiedChange {
	if len(h) <= limit {
		return h
	}
	if pin != "" {
		for i := limit; i < len(h); i++ {
			if h[i].Change.ID == pin {
				out := make([]VerifiedChange, 0, limit)
				out = append(out, h[:limit-1]...)
				return append(out, h[i])
			}
		}
	}
	return h[:limit:limit]
}

// historyValue is h as status.stations[].history shows it.
func historyValue(h []VerifiedChange) *structpb.Value {
	out := make([]*structpb.Value, 0, len(h))
	for _, v := range h {
		images := make([]*structpb.Value, 0, len(v.Change.Images))
		for _, i := range v.Change.Images {
			f := map[string]*structpb.Value{"repository": sv(i.Repository)}
			if i.Tag != "" {
				f["tag"] = sv(i.Tag)
			}
			if i.Digest != "" {
				f["digest"] = sv(i.Digest)
			}
			images = append(images, structv(f))
		}
		f := map[string]*structpb.Value{"change": sv(v.Change.ID), "commit": sv(v.Change.Commit)}
		if len(images) > 0 {
			f["images"] = listv(images)
		}
		if d := v.Change.DiscoveredAt; d != nil {
			f["discoveredAt"] = timev(d.Time)
		}
		if !v.VerifiedAt.IsZero() {
			f["verifiedAt"] = timev(v.VerifiedAt)
		}
		out = append(out, structv(f))
	}
	return listv(out)
}
