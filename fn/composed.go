package fn

import (
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Composed resources, as DESIGN.md names them.
const (
	NameSubscription = "subscription"
	PrefixTicket     = "ticket-"

	apiVersionProvider = "provider.k8sta.io/v1alpha1"
	kindTicket         = "Ticket"
	kindSubscription   = "Subscription"
)

// TicketName is the composed-resource name of the Ticket at path.
func TicketName(path string) string { return PrefixTicket + path }

// An ObservedTicket is what the function reads back from a composed Ticket.
type ObservedTicket struct {
	// Change is spec.forProvider.change: what the Ticket was last asked to
	// deliver.
	Change *v1alpha1.Change
	// LiveID is status.atProvider.change.id: what is live at the station.
	LiveID     string
	Phase      string
	VerifiedAt *metav1.Time
	// Ready is the Ready condition's status, reason and message.
	Ready        string
	ReadyReason  string
	ReadyMessage string
	ReadySince   *metav1.Time
	// Held is true when an entry of status.atProvider.applications has a
	// message: that Application says why it holds the Ticket back (a paused
	// Rollout, a failure).
	Held bool
}

// IsReady reports whether the Ticket's Ready condition is True.
func (t *ObservedTicket) IsReady() bool { return t != nil && t.Ready == "True" }

// ParseTicket reads an observed Ticket.
func ParseTicket(r *structpb.Struct) *ObservedTicket { return parseTicket(r, nil) }

// parseTicket reads an observed Ticket, decoding each change id once.
func parseTicket(r *structpb.Struct, changes map[string]*v1alpha1.Change) *ObservedTicket {
	st := obj(r, "status")
	ap := obj(st, "atProvider")
	t := &ObservedTicket{
		Change:     decodeChangeCached(obj(r, "spec", "forProvider", "change"), changes),
		LiveID:     str(ap, "change", "id"),
		Phase:      str(ap, "phase"),
		VerifiedAt: timestamp(ap, "verifiedAt"),
	}
	for _, a := range list(ap, "applications") {
		if str(a.GetStructValue(), "message") != "" {
			t.Held = true
			break
		}
	}
	if c := condition(r, "Ready"); c != nil {
		t.Ready, t.ReadyReason, t.ReadyMessage = str(c, "status"), str(c, "reason"), str(c, "message")
		t.ReadySince = timestamp(c, "lastTransitionTime")
	}
	return t
}

// An ObservedSubscription is what the function reads back from the composed
// Subscription.
type ObservedSubscription struct {
	Newest         *v1alpha1.Change
	OverlayChanges []v1alpha1.OverlayChange
}

// ParseSubscription reads the observed Subscription.
func ParseSubscription(r *structpb.Struct) *ObservedSubscription {
	s := &ObservedSubscription{Newest: decodeChange(obj(r, "status", "atProvider", "newest"))}
	for _, v := range list(r, "status", "atProvider", "overlayChanges") {
		oc := v.GetStructValue()
		s.OverlayChanges = append(s.OverlayChanges, v1alpha1.OverlayChange{
			Commit:       str(oc, "commit"),
			BaseCommit:   str(oc, "baseCommit"),
			Stations:     strs(oc, "stations"),
			DiscoveredAt: timestamp(oc, "discoveredAt"),
		})
	}
	return s
}

// Observed is the observed state the progression works from.
type Observed struct {
	Tickets      map[string]*ObservedTicket // by station path
	Subscription *ObservedSubscription      // nil if none
}

// ParseObserved reads the observed composed resources.
func ParseObserved(ocs map[string]*fnv1.Resource) Observed {
	o := Observed{Tickets: make(map[string]*ObservedTicket, len(ocs))}
	changes := map[string]*v1alpha1.Change{}
	for name, r := range ocs {
		switch {
		case name == NameSubscription:
			o.Subscription = ParseSubscription(r.GetResource())
		case strings.HasPrefix(name, PrefixTicket):
			o.Tickets[strings.TrimPrefix(name, PrefixTicket)] = parseTicket(r.GetResource(), changes)
		}
	}
	return o
}

// decodeChangeCached decodes a change, or returns the one decoded before
// with the same id: an id is a hash of the commit and images.
func decodeChangeCached(s *structpb.Struct, changes map[string]*v1alpha1.Change) *v1alpha1.Change {
	if changes == nil {
		return decodeChange(s)
	}
	id := str(s, "id")
	if c, ok := changes[id]; ok {
		return c
	}
	c := decodeChange(s)
	changes[id] = c
	return c
}

// readiness of an observed composed resource: ready when its Ready condition
// is True.
func readiness(r *structpb.Struct) fnv1.Ready {
	if str(condition(r, "Ready"), "status") == "True" {
		return fnv1.Ready_READY_TRUE
	}
	return fnv1.Ready_READY_FALSE
}

func providerConfigRef(t *Track) *structpb.Value {
	return structv(map[string]*structpb.Value{"kind": sv(t.ProviderConfigRef.Kind), "name": sv(t.ProviderConfigRef.Name)})
}

func repo(t *Track) *structpb.Value {
	return structv(map[string]*structpb.Value{"url": sv(t.Repo.URL), "sourceBranch": sv(t.Repo.SourceBranch)})
}

func managed(kind, namespace string, forProvider map[string]*structpb.Value, pcr *structpb.Value) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"apiVersion": sv(apiVersionProvider),
		"kind":       sv(kind),
		"metadata":   structv(map[string]*structpb.Value{"namespace": sv(namespace)}),
		"spec": structv(map[string]*structpb.Value{
			"forProvider":       structv(forProvider),
			"providerConfigRef": pcr,
		}),
	}}
}

// A Composer builds the desired composed resources of one Track. It encodes
// what many Tickets share (a change, a Track's repository) once: a 200-station
// Track would otherwise spend most of its time building equal values. The
// values it returns share those parts and must not be modified.
type Composer struct {
	namespace string
	changes   map[string]*structpb.Value
	tracks    map[*Track][3]*structpb.Value
	static    [3]*structpb.Value // apiVersion, kind Ticket, metadata
	slab      slab
}

// NewComposer returns a Composer of resources in namespace.
func NewComposer(namespace string) *Composer {
	c := &Composer{namespace: namespace, changes: map[string]*structpb.Value{}, tracks: map[*Track][3]*structpb.Value{}}
	c.static = [3]*structpb.Value{sv(apiVersionProvider), sv(kindTicket), structv(map[string]*structpb.Value{"namespace": sv(namespace)})}
	return c
}

// A slab allocates the protobuf values of many Tickets in a few large
// blocks rather than one by one.
type slab struct {
	vals    []structpb.Value
	strs    []structpb.Value_StringValue
	structs []structpb.Value_StructValue
	objs    []structpb.Struct
}

const slabSize = 256

func (a *slab) value() *structpb.Value {
	if len(a.vals) == 0 {
		a.vals = make([]structpb.Value, slabSize)
	}
	v := &a.vals[0]
	a.vals = a.vals[1:]
	return v
}

func (a *slab) str(s string) *structpb.Value {
	if len(a.strs) == 0 {
		a.strs = make([]structpb.Value_StringValue, slabSize)
	}
	w := &a.strs[0]
	a.strs = a.strs[1:]
	w.StringValue = s
	v := a.value()
	v.Kind = w
	return v
}

func (a *slab) object(f map[string]*structpb.Value) *structpb.Struct {
	if len(a.objs) == 0 {
		a.objs = make([]structpb.Struct, slabSize)
	}
	o := &a.objs[0]
	a.objs = a.objs[1:]
	o.Fields = f
	return o
}

func (a *slab) obj(f map[string]*structpb.Value) *structpb.Value {
	if len(a.structs) == 0 {
		a.structs = make([]structpb.Value_StructValue, slabSize)
	}
	w := &a.structs[0]
	a.structs = a.structs[1:]
	w.StructValue = a.object(f)
	v := a.value()
	v.Kind = w
	return v
}

func (c *Composer) change(ch *v1alpha1.Change) *structpb.Value {
	v, ok := c.changes[ch.ID]
	if !ok {
		v = encodeChange(ch)
		c.changes[ch.ID] = v
	}
	return v
}

// track is the name, repo and providerConfigRef of t.
func (c *Composer) track(t *Track) [3]*structpb.Value {
	v, ok := c.tracks[t]
	if !ok {
		v = [3]*structpb.Value{sv(t.Name), repo(t), providerConfigRef(t)}
		c.tracks[t] = v
	}
	return v
}

// Ticket is the Ticket that delivers change ch to station s.
func (c *Composer) Ticket(s *Stop, ch *v1alpha1.Change) *structpb.Struct {
	a := &c.slab
	apps := make([]*structpb.Value, len(s.Station.Applications))
	for i, app := range s.Station.Applications {
		apps[i] = a.obj(map[string]*structpb.Value{"name": a.str(app.Name), "namespace": a.str(app.Namespace)})
	}
	t := c.track(s.Track)
	return a.object(map[string]*structpb.Value{
		"apiVersion": c.static[0],
		"kind":       c.static[1],
		"metadata":   c.static[2],
		"spec": a.obj(map[string]*structpb.Value{
			"forProvider": a.obj(map[string]*structpb.Value{
				"track":        t[0],
				"station":      a.str(s.Path),
				"change":       c.change(ch),
				"repo":         t[1],
				"overlay":      a.str(s.Station.Overlay),
				"branch":       a.str(s.Station.Branch),
				"applications": listv(apps),
			}),
			"providerConfigRef": t[2],
		}),
	})
}

// DesiredTicket is the Ticket that delivers change c to station s.
func DesiredTicket(namespace string, s *Stop, c *v1alpha1.Change) *structpb.Struct {
	return NewComposer(namespace).Ticket(s, c)
}

// DesiredSubscription is the Subscription of root, told every station's
// overlay so that overlay-only commits reach their stations alone.
func DesiredSubscription(namespace string, root *Track, stops []*Stop) *structpb.Struct {
	fp := map[string]*structpb.Value{
		"repo": repo(root),
	}
	if v := root.Subscriptions.GetFields()["images"]; v != nil {
		fp["images"] = v
	}
	if root.Subscriptions.GetFields()["git"].GetStructValue() != nil {
		git := map[string]*structpb.Value{}
		if len(root.GitPaths) > 0 {
			paths := make([]*structpb.Value, len(root.GitPaths))
			for i, p := range root.GitPaths {
				paths[i] = sv(p)
			}
			git["paths"] = listv(paths)
		}
		fp["git"] = structv(git)
	}
	overlays := make([]*structpb.Value, 0, len(stops))
	for _, s := range stops {
		if s.Station.Overlay != "" {
			overlays = append(overlays, structv(map[string]*structpb.Value{"station": sv(s.Path), "overlay": sv(s.Station.Overlay)}))
		}
	}
	if len(overlays) > 0 {
		fp["overlays"] = listv(overlays)
	}
	return managed(kindSubscription, namespace, fp, providerConfigRef(root))
}

// PassThrough is an observed composed resource as desired, unchanged: what
// the function returns for everything when it cannot work out anything
// better, so that nothing already composed is dropped.
func PassThrough(r *structpb.Struct) *fnv1.Resource {
	f := map[string]*structpb.Value{}
	for _, k := range []string{"apiVersion", "kind", "spec"} {
		if v := r.GetFields()[k]; v != nil {
			f[k] = v
		}
	}
	if ns := str(r, "metadata", "namespace"); ns != "" {
		f["metadata"] = structv(map[string]*structpb.Value{"namespace": sv(ns)})
	}
	return &fnv1.Resource{Resource: &structpb.Struct{Fields: f}, Ready: readiness(r)}
}
