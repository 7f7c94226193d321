package kubectlk8sta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// TrackGroupVersionKind is the Track's, served by configuration-k8sta's XRD.
var TrackGroupVersionKind = schema.GroupVersionKind{Group: "k8sta.io", Version: "v1alpha1", Kind: "Track"}

// LegacyTrackGroupVersionKind is the claim kind of the legacy XRD
// (examples/legacy/xrd.yaml), for platform repositories that still write
// claims. Crossplane copies its XTrack's status to it, and function-k8sta
// names its Tickets and controls by the claim: kubectl k8sta reads it as a
// Track.
var LegacyTrackGroupVersionKind = schema.GroupVersionKind{Group: "legacy.k8sta.io", Version: "v1alpha1", Kind: "Track"}

// Bounds on what kubectl k8sta lists: as many Tickets as a Track tree has
// stations (function-k8sta's MaxStops), and as many controls as
// function-k8sta considers.
const (
	maxTickets       = 500
	maxSubscriptions = 10
	maxControls      = 1000
)

// Condition types and reasons of the Track that kubectl k8sta reads.
const (
	conditionPromoted = "Promoted"
	conditionValid    = "Valid"
	reasonSection     = "Section"
	reasonHalted      = "Halted"
)

// A Track is what kubectl k8sta reads of a Track.
type Track struct {
	Name      string
	Namespace string
	// Composite is the name of the composite resource its Tickets and
	// Subscription are composed for (their crossplane.io/composite label):
	// the Track's own name, a legacy claim's XTrack's; empty when not yet
	// known.
	Composite string
	// Promoted and Valid are the Track's conditions; nil when unset.
	Promoted *Condition
	Valid    *Condition
	// Stations are status.stations[], in expansion order.
	Stations []Station
	// SpecPins are the changes the Track's own spec pins, by station name
	// (stations of this Track only, not of its sections).
	SpecPins map[string]string
}

// A Condition is one of the Track's status conditions.
type Condition struct {
	Status  string
	Reason  string
	Message string
}

// A Station is one entry of the Track's status.stations[].
type Station struct {
	Path    string
	Change  string
	Phase   string
	Since   time.Time
	Message string
	Next    string
	HeldBy  string
	// HeldAt is the path of the junction whose control holds Next back,
	// when it is not the station's own.
	HeldAt  string
	Until   time.Time
	History []Verified
}

// A Verified is a change a station verified: an entry of its history.
type Verified struct {
	Change       string
	Commit       string
	Images       []v1alpha1.Image
	DiscoveredAt time.Time
	VerifiedAt   time.Time
}

// Section reports whether the Track is a section: one only a junction
// feeds, whose stations show in the status of the Track that feeds it.
func (t *Track) Section() bool {
	return t.Valid != nil && t.Valid.Reason == reasonSection
}

// Station returns the station at path, or nil.
func (t *Track) Station(path string) *Station {
	for i := range t.Stations {
		if t.Stations[i].Path == path {
			return &t.Stations[i]
		}
	}
	return nil
}

// covers reports whether path names a station of the Track or a junction
// whose sections hold stations (a Freeze of a junction covers them).
func (t *Track) covers(path string) bool {
	for _, s := range t.Stations {
		if s.Path == path || strings.HasPrefix(s.Path, path+".") && strings.Count(path, ".")%2 == 0 {
			return true
		}
	}
	return false
}

// approvedAt is the path an Approval must name to let in the change that
// waits at station s: its own, or, when a junction without Applications
// that says approval: Manual holds the change back, the junction's, which
// function-k8sta writes in status.stations[].heldAt.
func approvedAt(s *Station) string {
	if s.HeldAt != "" {
		return s.HeldAt
	}
	return s.Path
}

// junctionWait is what waits at junction path: the change it holds back
// from the stations of its sections, and what holds it, as the first of
// them says; only Path is set when it holds nothing back.
func (t *Track) junctionWait(path string) *Station {
	for i := range t.Stations {
		if s := &t.Stations[i]; s.HeldBy != "" && s.Next != "" && approvedAt(s) == path {
			return &Station{Path: path, Next: s.Next, HeldBy: s.HeldBy, HeldAt: s.HeldAt, Until: s.Until, Message: s.Message}
		}
	}
	return &Station{Path: path}
}

// maxListed is how many stations or changes an error lists.
const maxListed = 20

// stationPaths lists the Track's station paths for an error message.
func (t *Track) stationPaths() string {
	paths := make([]string, 0, len(t.Stations))
	for _, s := range t.Stations {
		paths = append(paths, s.Path)
	}
	return list(paths)
}

func list(items []string) string {
	return listOf(items[:min(len(items), maxListed)], len(items))
}

// listOf lists the first items of n, and says how many more there are.
func listOf(first []string, n int) string {
	if n > len(first) {
		return strings.Join(first, ", ") + fmt.Sprintf(" and %d more", n-len(first))
	}
	return strings.Join(first, ", ")
}

// maxScopeBytes bounds the stations of one Freeze an error lists: a Freeze
// may name 100 station paths of up to 4096 bytes each.
const maxScopeBytes = 256

// trackObject is the part of a Track kubectl k8sta decodes.
type trackObject struct {
	Spec struct {
		// ResourceRef is a claim's: its XTrack.
		ResourceRef struct {
			Name string `json:"name"`
		} `json:"resourceRef"`
		Stations []struct {
			Name string `json:"name"`
			Pin  string `json:"pin"`
		} `json:"stations"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type    string `json:"type"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"conditions"`
		Stations []struct {
			Path    string `json:"path"`
			Change  string `json:"change"`
			Phase   string `json:"phase"`
			Since   string `json:"since"`
			Message string `json:"message"`
			Next    string `json:"next"`
			HeldBy  string `json:"heldBy"`
			HeldAt  string `json:"heldAt"`
			Until   string `json:"until"`
			History []struct {
				Change       string           `json:"change"`
				Commit       string           `json:"commit"`
				Images       []v1alpha1.Image `json:"images"`
				DiscoveredAt string           `json:"discoveredAt"`
				VerifiedAt   string           `json:"verifiedAt"`
			} `json:"history"`
		} `json:"stations"`
	} `json:"status"`
}

// errTrackNotFound is returned for a Track that does not exist.
type errTrackNotFound struct{ name, namespace string }

func (e errTrackNotFound) Error() string {
	return fmt.Sprintf("Track %s does not exist in namespace %s (kubectl get tracks -n %s lists its Tracks; -n picks another namespace)", e.name, e.namespace, e.namespace)
}

// GetTrack reads the Track name in namespace: the Track, or else a legacy
// claim of that name. A kind the API server does not serve is one it holds
// no object of (it answers NotFound); a user who may not read legacy claims
// has none to control.
func GetTrack(ctx context.Context, c client.Reader, namespace, name string) (*Track, error) {
	for _, gvk := range []schema.GroupVersionKind{TrackGroupVersionKind, LegacyTrackGroupVersionKind} {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
		if kerrors.IsNotFound(err) || gvk == LegacyTrackGroupVersionKind && kerrors.IsForbidden(err) {
			continue
		}
		if err != nil {
			return nil, errors.Wrapf(err, "cannot get %s %s in namespace %s", gvk.GroupKind(), name, namespace)
		}
		return parseTrack(u)
	}
	return nil, errTrackNotFound{name: name, namespace: namespace}
}

func parseTrack(u *unstructured.Unstructured) (*Track, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode the Track")
	}
	o := trackObject{}
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, errors.Wrapf(err, "cannot decode Track %s", u.GetName())
	}
	t := &Track{Name: u.GetName(), Namespace: u.GetNamespace(), Composite: u.GetName(), SpecPins: map[string]string{}}
	if u.GroupVersionKind() == LegacyTrackGroupVersionKind {
		t.Composite = o.Spec.ResourceRef.Name
	}
	for _, s := range o.Spec.Stations {
		if s.Pin != "" {
			t.SpecPins[s.Name] = s.Pin
		}
	}
	for _, c := range o.Status.Conditions {
		cond := &Condition{Status: c.Status, Reason: c.Reason, Message: c.Message}
		switch c.Type {
		case conditionPromoted:
			t.Promoted = cond
		case conditionValid:
			t.Valid = cond
		}
	}
	t.Stations = make([]Station, 0, len(o.Status.Stations))
	for _, s := range o.Status.Stations {
		st := Station{Path: s.Path, Change: s.Change, Phase: s.Phase, Since: parseTime(s.Since), Message: s.Message,
			Next: s.Next, HeldBy: s.HeldBy, HeldAt: s.HeldAt, Until: parseTime(s.Until)}
		for _, h := range s.History {
			st.History = append(st.History, Verified{Change: h.Change, Commit: h.Commit, Images: h.Images,
				DiscoveredAt: parseTime(h.DiscoveredAt), VerifiedAt: parseTime(h.VerifiedAt)})
		}
		t.Stations = append(t.Stations, st)
	}
	return t, nil
}

// parseTime reads an RFC 3339 time; zero when absent or malformed (the
// output then leaves it out rather than failing on it).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// A ChangeInfo is what kubectl k8sta knows of a change besides its id.
type ChangeInfo struct {
	ID     string
	Commit string
	Images []v1alpha1.Image
}

// Label is how a change is shown: the tag of its first image (its digest
// when it has no tag), else its short commit, else its id.
func (c ChangeInfo) Label() string {
	if len(c.Images) > 0 {
		if i := c.Images[0]; i.Tag != "" {
			return i.Tag
		} else if i.Digest != "" {
			return "@" + shortDigest(i.Digest)
		}
	}
	if c.Commit != "" {
		return v1alpha1.ShortCommit(c.Commit)
	}
	return c.ID
}

func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= v1alpha1.ShortCommitLength {
		return d
	}
	return algo + ":" + hex[:v1alpha1.ShortCommitLength]
}

// Changes are the changes kubectl k8sta knows, by id: from the stations'
// histories, the Track's Tickets and its Subscription's newest change.
type Changes map[string]ChangeInfo

// Info returns what is known of change id.
func (c Changes) Info(id string) ChangeInfo {
	if i, ok := c[id]; ok {
		return i
	}
	return ChangeInfo{ID: id}
}

func (c Changes) learn(ch *v1alpha1.Change) {
	if ch == nil || ch.ID == "" {
		return
	}
	if _, ok := c[ch.ID]; !ok {
		c[ch.ID] = ChangeInfo{ID: ch.ID, Commit: ch.Commit, Images: ch.Images}
	}
}

// KnownChanges gathers what is known of the Track's changes. The stations'
// histories suffice for verified changes; a change a station is still
// delivering is on its Ticket, one waiting at the first station on the
// Subscription. Tickets and the Subscription are optional reading: a user
// who may read the Track but not them sees change ids instead of tags.
func KnownChanges(ctx context.Context, c client.Reader, t *Track) Changes {
	known := Changes{}
	for _, s := range t.Stations {
		for _, h := range s.History {
			known.learn(&v1alpha1.Change{ID: h.Change, Commit: h.Commit, Images: h.Images})
		}
	}
	if t.Composite == "" {
		return known
	}
	composed := client.MatchingLabels{"crossplane.io/composite": t.Composite}
	tickets := &v1alpha1.TicketList{}
	if err := c.List(ctx, tickets, client.InNamespace(t.Namespace), composed, client.Limit(maxTickets)); err == nil {
		for i := range tickets.Items {
			known.learn(&tickets.Items[i].Spec.ForProvider.Change)
		}
	}
	subs := &v1alpha1.SubscriptionList{}
	if err := c.List(ctx, subs, client.InNamespace(t.Namespace), composed, client.Limit(maxSubscriptions)); err == nil {
		for i := range subs.Items {
			known.learn(subs.Items[i].Status.AtProvider.Newest)
		}
	}
	return known
}
