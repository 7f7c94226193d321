package fn

import (
	"reflect"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/lru"
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

// A readHistory is the stations' histories as read from a Track's status
// at one resourceVersion of the Track, which the API server changes with
// every write.
type readHistory struct {
	resourceVersion string
	stations        map[string][]VerifiedChange
}

// historyOf is each station's history as the status of the Track xr says,
// from cache (when not nil) if it read it at xr's resourceVersion, or read
// with entries, the cache of entries read (may be nil). While nothing
// changes, Crossplane calls the function again and again with the same
// Track; its history is read once. What it returns may be shared with other
// calls: nothing may modify it.
func historyOf(xr *structpb.Struct, cache *lru.Cache[types.UID, readHistory], entries *lru.Cache[historyKey, VerifiedChange]) map[string][]VerifiedChange {
	uid, rv := types.UID(str(xr, "metadata", "uid")), str(xr, "metadata", "resourceVersion")
	if cache == nil || uid == "" || rv == "" {
		return parseHistory(list(xr, "status", "stations"), entries)
	}
	if h, ok := cache.Get(uid); ok && h.resourceVersion == rv {
		return h.stations
	}
	h := parseHistory(list(xr, "status", "stations"), entries)
	size := len(uid) + len(rv) + historyMapSize
	for path, vs := range h {
		size += len(path) + historyMapSize
		for i := range vs {
			size += verifiedSize(&vs[i])
		}
	}
	cache.Add(uid, readHistory{resourceVersion: rv, stations: h}, size+cache.Overhead())
	return h
}

// historyMapSize is about what a map entry holds besides its key's bytes.
const historyMapSize = 64

// verifiedSize is about how many bytes v holds.
func verifiedSize(v *VerifiedChange) int {
	size := historyEntrySize + len(v.Change.ID) + len(v.Change.Commit)
	for _, i := range v.Change.Images {
		size += imageSize + len(i.Repository) + len(i.Tag) + len(i.Digest)
	}
	return size
}

// A historyKey is what identifies a history entry in the cache of entries
// read; its commit and images are compared with the cached entry's.
type historyKey struct{ id, verifiedAt, discoveredAt string }

// parseHistory reads each station's history from prev, the observed
// status.stations, and a change of the history can be pinned and composed
// into a Ticket. An entry is kept only if it is a change, its id the hash
// of its commit and images: that drops an entry left inconsistent (by a
// hand edit, a restored backup, or a format this function no longer
// writes), not a forged one, since ChangeID is a public hash anyone can
// compute. What keeps a tenant from forging an entry is that tenants
// cannot write a Track's status: the shipped roles
// (cluster/rbac/tenant-roles.yaml) grant tracks, not tracks/status. At most
// MaxHistory entries per station and MaxStops stations are read.
//
// It reads each entry from cache (when not nil) if it holds an entry of the
// same content, and adds those it reads: a Track's history is read back at
// every call, and checking an entry's id costs a hash.
func parseHistory(prev []*structpb.Value, cache *lru.Cache[historyKey, VerifiedChange]) map[string][]VerifiedChange {
	prev = prev[:min(len(prev), MaxStops)]
	stations, entries := 0, 0
	for _, v := range prev {
		if n := len(list(v.GetStructValue(), "history")); n > 0 {
			stations++
			entries += min(n, MaxHistory)
		}
	}
	if stations == 0 {
		return nil
	}
	// One array holds every station's entries.
	all := make([]VerifiedChange, 0, entries)
	out := make(map[string][]VerifiedChange, stations)
	for _, v := range prev {
		s := v.GetStructValue()
		first := len(all)
		for j, e := range list(s, "history") {
			if j == MaxHistory {
				break
			}
			if vc, ok := readVerified(e.GetStructValue(), cache); ok {
				all = append(all, vc)
			}
		}
		if first < len(all) || len(list(s, "history")) > 0 {
			out[str(s, "path")] = all[first:len(all):len(all)]
		}
	}
	return out
}

// readVerified reads history entry e, from cache if it holds it.
func readVerified(e *structpb.Struct, cache *lru.Cache[historyKey, VerifiedChange]) (VerifiedChange, bool) {
	if cache == nil {
		return parseVerified(e)
	}
	k := historyKey{id: str(e, "change"), verifiedAt: str(e, "verifiedAt"), discoveredAt: str(e, "discoveredAt")}
	if vc, ok := cache.Get(k); ok && sameChange(&vc.Change, e) {
		return vc, true
	}
	vc, ok := parseVerified(e)
	if ok {
		cache.Add(k, vc, len(k.id)+len(k.verifiedAt)+len(k.discoveredAt)+verifiedSize(&vc)+cache.Overhead())
	}
	return vc, ok
}

// The sizes of what a cached history entry holds besides its strings.
var (
	historyEntrySize = int(reflect.TypeFor[VerifiedChange]().Size() + reflect.TypeFor[metav1.Time]().Size())
	imageSize        = int(reflect.TypeFor[v1alpha1.Image]().Size())
)

// sameChange reports whether history entry e is change c: the same commit
// and images, in the same order.
func sameChange(c *v1alpha1.Change, e *structpb.Struct) bool {
	images := list(e, "images")
	if str(e, "commit") != c.Commit || len(images) != len(c.Images) {
		return false
	}
	for i, v := range images {
		is, ci := v.GetStructValue(), &c.Images[i]
		if str(is, "repository") != ci.Repository || str(is, "tag") != ci.Tag || str(is, "digest") != ci.Digest {
			return false
		}
	}
	return true
}

func parseVerified(e *structpb.Struct) (VerifiedChange, bool) {
	c := v1alpha1.Change{ID: str(e, "change"), Commit: str(e, "commit")}
	if !v1alpha1.IsChangeID(c.ID) || !v1alpha1.IsCommitSHA(c.Commit) {
		return VerifiedChange{}, false
	}
	images := list(e, "images")
	if len(images) > v1alpha1.MaxChangeImages {
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

// sameHistory reports whether prev, a station's observed history, is h as
// written: a history read back and not changed since. Each entry's id,
// commit and images are compared: lengths and the newest ids alone would
// take back an entry parseHistory dropped (change A with another commit,
// left inconsistent in the Track's status) once the station verifies A
// itself. Their times are what parseHistory read.
func sameHistory(prev []*structpb.Value, h []VerifiedChange) bool {
	if len(prev) != len(h) {
		return false
	}
	for i := range h {
		e := prev[i].GetStructValue()
		if str(e, "change") != h[i].Change.ID || !sameChange(&h[i].Change, e) {
			return false
		}
	}
	return true
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
