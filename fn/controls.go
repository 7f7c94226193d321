package fn

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/typedpb"
	"github.com/k8sta/k8sta/internal/bounded"
)

// The requirements of a Track's operator controls: every Approval, Freeze
// and Pin of the Track's namespace. Crossplane watches what a function
// requires, so creating, changing or deleting one wakes the Track at once.
// They are asked for by kind, not by name: their names are the plugin's
// convention, not a contract, and a label selector would let whoever can
// label one hide it.
const (
	RequirementApprovals = "approvals"
	RequirementFreezes   = "freezes"
	RequirementPins      = "pins"
)

// MaxControls is how many objects of each kind the function considers for
// one Track, the first by name. One function serves every Track of a
// control plane: the limit bounds what one Track's controls cost it.
const MaxControls = 1000

// maxUnknownNamed is how many controls naming a station the Track does not
// have one warning names; it counts the rest.
const maxUnknownNamed = 5

// Controls are the operator controls of a Track: who froze what, which
// changes were approved where, and which stations are pinned.
type Controls struct {
	// Approvals are the approved change ids of each station path.
	Approvals map[string]map[string]bool
	// Freezes are the Freezes, sorted by name.
	Freezes []Freeze
	// Pins are the Pins of each station path, the first by name.
	Pins map[string]*Pin
}

// A Freeze is a Freeze of the Track.
type Freeze struct {
	Name, By, Reason string
	// Stations are the frozen paths; none is the whole Track.
	Stations []string
}

// A Pin is the pin of a station, from its spec or from a Pin object.
type Pin struct {
	Change string
	// Object is the name of the Pin; empty for the station's spec.pin.
	Object, By, Reason string
}

// What the function reads of the controls; the decoder skips the rest.
var (
	approvalRead = typedpb.Select(func(a *v1alpha1.Approval) []any { return []any{&a.Name, &a.Spec} })
	freezeRead   = typedpb.Select(func(f *v1alpha1.Freeze) []any { return []any{&f.Name, &f.Spec} })
	pinRead      = typedpb.Select(func(p *v1alpha1.Pin) []any { return []any{&p.Name, &p.Spec} })
)

// controlKinds are the kinds of the controls, each with its requirement.
var controlKinds = [...]struct{ key, kind string }{
	{RequirementApprovals, "Approval"}, {RequirementFreezes, "Freeze"}, {RequirementPins, "Pin"},
}

// controlAPIVersion is the apiVersion of the controls.
var controlAPIVersion = v1alpha1.SchemeGroupVersion.String()

// requireControls adds to rq the requirements of every control of
// namespace, by kind, and reads what Crossplane fetched for them: the
// controls of Track track. pending is true while Crossplane has not fetched
// them all yet. warnings say what was left out.
func requireControls(req *fnv1.RunFunctionRequest, rq *fnv1.Requirements, track, namespace string) (c Controls, pending bool, warnings []string) {
	fetched := req.GetRequiredResources()
	var d *typedpb.Decoder
	for _, k := range controlKinds {
		rq.Resources[k.key] = &fnv1.ResourceSelector{
			ApiVersion: controlAPIVersion, Kind: k.kind, Namespace: &namespace,
			Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{}}},
		}
		rs, ok := fetched[k.key]
		if !ok {
			pending = true
			continue
		}
		items, more := ofTrack(rs.GetItems(), track, namespace)
		if more > 0 {
			warnings = append(warnings, fmt.Sprintf(
				"Track %s has %d %ss, more than %d: the function considers the first %d by name and ignores %d; delete those no longer needed",
				track, MaxControls+more, k.kind, MaxControls, MaxControls, more))
		}
		if len(items) > 0 && d == nil {
			d = typedpb.NewDecoder()
		}
		for _, r := range items {
			switch k.kind {
			case "Approval":
				var a v1alpha1.Approval
				d.Selected(r, &a, approvalRead)
				c.approve(a.Spec.Station, a.Spec.Change)
			case "Freeze":
				var f v1alpha1.Freeze
				d.Selected(r, &f, freezeRead)
				c.Freezes = append(c.Freezes, Freeze{Name: f.Name, By: f.Spec.By, Reason: f.Spec.Reason, Stations: f.Spec.Stations})
			case "Pin":
				var p v1alpha1.Pin
				d.Selected(r, &p, pinRead)
				c.pin(&p)
			}
		}
	}
	return c, pending, warnings
}

// ofTrack are the objects of items in namespace whose spec.track is
// track, sorted by name, at most MaxControls; more is how many more there
// are. Crossplane fetches only the namespace's objects; a control of
// another namespace must never hold or release this Track, whatever
// fetched it.
func ofTrack(items []*fnv1.Resource, track, namespace string) (out []*structpb.Struct, more int) {
	for _, r := range items {
		if s := r.GetResource(); str(s, "spec", "track") == track && str(s, "metadata", "namespace") == namespace {
			out = append(out, s)
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b *structpb.Struct) int {
			return strings.Compare(str(a, "metadata", "name"), str(b, "metadata", "name"))
		})
	}
	if len(out) > MaxControls {
		return out[:MaxControls], len(out) - MaxControls
	}
	return out, 0
}

func (c *Controls) approve(path, change string) {
	if !v1alpha1.IsChangeID(change) {
		return
	}
	if c.Approvals == nil {
		c.Approvals = map[string]map[string]bool{}
	}
	if c.Approvals[path] == nil {
		c.Approvals[path] = map[string]bool{}
	}
	c.Approvals[path][change] = true
}

// pin keeps p unless a Pin earlier by name pins its station.
func (c *Controls) pin(p *v1alpha1.Pin) {
	if !v1alpha1.IsChangeID(p.Spec.Change) {
		return
	}
	if c.Pins == nil {
		c.Pins = map[string]*Pin{}
	}
	if _, ok := c.Pins[p.Spec.Station]; !ok {
		c.Pins[p.Spec.Station] = &Pin{Change: p.Spec.Change, Object: p.Name, By: p.Spec.By, Reason: p.Spec.Reason}
	}
}

// Approved reports whether an Approval lets change id enter the station at
// path.
func (c *Controls) Approved(path, id string) bool { return c.Approvals[path][id] }

// index is each path the Freezes name with the first Freeze, by name, that
// names it; "" for the whole Track. The Freezes are sorted by name: the
// first that names a path is the first by name.
func (c *Controls) index() map[string]*Freeze {
	idx := map[string]*Freeze{}
	add := func(path string, f *Freeze) {
		if _, ok := idx[path]; !ok {
			idx[path] = f
		}
	}
	for i := range c.Freezes {
		f := &c.Freezes[i]
		if len(f.Stations) == 0 {
			add("", f)
		}
		for _, s := range f.Stations {
			if s != "" {
				add(s, f)
			}
		}
	}
	return idx
}

// junctionsOf are the paths a Freeze may name to cover the station at
// path besides path itself: each prefix of path that ends before a '.', the
// junctions (and their sections) it is in, the longest first.
func junctionsOf(path string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for end := strings.LastIndexByte(path, '.'); end >= 0; end = strings.LastIndexByte(path[:end], '.') {
			if !yield(path[:end]) {
				return
			}
		}
	}
}

// pinOf is the pin of station s: its spec.pin, else the Pin of its path.
func (c *Controls) pinOf(s *Stop) *Pin {
	if s.Station.Pin != "" {
		return &Pin{Change: s.Station.Pin}
	}
	return c.Pins[s.Path]
}

// Unknown is a warning naming the Pins and Freezes that name a station
// expansion x does not have: they hold nothing, which their authors would
// not expect. Empty when there are none.
func (c *Controls) Unknown(track string, x *Expansion) string {
	if len(c.Pins) == 0 && len(c.Freezes) == 0 {
		return ""
	}
	// paths are the stations' paths, covered the paths a Freeze covers
	// stations through: each prefix of a station's path at a '.'.
	paths := make(map[string]bool, len(x.Stops))
	for _, s := range x.Stops {
		paths[s.Path] = true
	}
	covered := make(map[string]bool, len(x.Stops))
	for _, s := range x.Stops {
		for j := range junctionsOf(s.Path) {
			covered[j] = true
		}
	}
	// Every unknown station is counted, but only the first maxUnknownNamed
	// are put in words: a tenant's thousand Freezes of a hundred stations
	// each cost a count, not a hundred thousand messages.
	var named []string
	n := 0
	add := func(kind, name, station string) {
		if n < maxUnknownNamed {
			named = append(named, fmt.Sprintf("%s %s names station %s", kind, name, bounded.Text(station, 256)))
		}
		n++
	}
	for _, f := range c.Freezes {
		for _, s := range f.Stations {
			if !paths[s] && !covered[s] {
				add("Freeze", f.Name, s)
			}
		}
	}
	pins := make([]*Pin, 0, len(c.Pins))
	stations := make(map[*Pin]string, len(c.Pins))
	for path, p := range c.Pins {
		if !paths[path] {
			pins = append(pins, p)
			stations[p] = path
		}
	}
	sort.Slice(pins, func(i, j int) bool { return pins[i].Object < pins[j].Object })
	for _, p := range pins {
		add("Pin", p.Object, stations[p])
	}
	if n == 0 {
		return ""
	}
	if n > len(named) {
		named = append(named, fmt.Sprintf("and %d more", n-len(named)))
	}
	return fmt.Sprintf("%s, which Track %s does not have, and hold nothing: name a station as status.stations[].path shows it, or a junction",
		strings.Join(named, "; "), track)
}
