package fn

import (
	"reflect"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/lru"
	"github.com/k8sta/k8sta/fn/internal/typedpb"
)

// Composed resources, as DESIGN.md names them.
const (
	NameSubscription = "subscription"
	PrefixTicket     = "ticket-"
)

// TicketName is the composed-resource name of the Ticket at path.
func TicketName(path string) string { return PrefixTicket + path }

// Observed is the observed state the progression works from. Its Tickets
// may be shared with other calls: nothing may modify them.
type Observed struct {
	Tickets      map[string]*v1alpha1.Ticket // by station path
	Subscription *v1alpha1.Subscription      // nil if none
	// Controls are the Track's operator controls, History each station's
	// verified changes as the Track's status last said (controls.go,
	// history.go).
	Controls Controls
	History  map[string][]VerifiedChange // by station path
}

// What the function reads of an observed Ticket and Subscription; the
// decoder skips the rest.
var (
	ticketRead = typedpb.Select(func(t *v1alpha1.Ticket) []any {
		return []any{
			&t.Spec.ForProvider.Change,
			&t.Status.Conditions,
			&t.Status.AtProvider.Change,
			&t.Status.AtProvider.Phase,
			&t.Status.AtProvider.VerifiedAt,
			&t.Status.AtProvider.Applications,
			&t.Status.AtProvider.BlockedOn,
			&t.Annotations,
		}
	})
	subscriptionRead = typedpb.Select(func(s *v1alpha1.Subscription) []any {
		return []any{&s.Status.AtProvider.Newest, &s.Status.AtProvider.OverlayChanges}
	})
)

// objectIdentity is what identifies the version of an object.
var objectIdentity = typedpb.Select(func(t *v1alpha1.Ticket) []any { return []any{&t.UID, &t.ResourceVersion} })

// parseObserved reads the observed composed resources, each Ticket from
// cache if it holds the Ticket at its resourceVersion (when not nil). Of
// each Ticket and the Subscription it reads only the fields progression and
// readiness need.
func parseObserved(ocs map[string]*fnv1.Resource, cache *lru.Cache[types.UID, readTicket]) Observed {
	o := Observed{Tickets: make(map[string]*v1alpha1.Ticket, len(ocs))}
	d := typedpb.NewDecoder()
	var id v1alpha1.Ticket
	for name, r := range ocs {
		switch {
		case name == NameSubscription:
			o.Subscription = &v1alpha1.Subscription{}
			d.Selected(r.GetResource(), o.Subscription, subscriptionRead)
		case strings.HasPrefix(name, PrefixTicket):
			path := strings.TrimPrefix(name, PrefixTicket)
			if cache != nil {
				id.UID, id.ResourceVersion = "", ""
				d.Selected(r.GetResource(), &id, objectIdentity)
			}
			if id.UID == "" || id.ResourceVersion == "" {
				t := &v1alpha1.Ticket{}
				d.Selected(r.GetResource(), t, ticketRead)
				o.Tickets[path] = t
				continue
			}
			if rt, ok := cache.Get(id.UID); ok && rt.resourceVersion == id.ResourceVersion {
				o.Tickets[path] = rt.ticket
				continue
			}
			t := &v1alpha1.Ticket{}
			held := d.Selected(r.GetResource(), t, ticketRead)
			cache.Add(id.UID, readTicket{resourceVersion: id.ResourceVersion, ticket: t}, ticketSize+held+len(id.UID)+len(id.ResourceVersion)+cache.Overhead())
			o.Tickets[path] = t
		}
	}
	return o
}

// asked is the change Ticket t was last asked to deliver; nil for none.
func asked(t *v1alpha1.Ticket) *v1alpha1.Change {
	if t == nil || t.Spec.ForProvider.Change.ID == "" {
		return nil
	}
	return &t.Spec.ForProvider.Change
}

// heldBack reports whether an Application of Ticket t says why it holds the
// Ticket back (a paused Rollout, a failure).
func heldBack(t *v1alpha1.Ticket) bool {
	for _, a := range t.Status.AtProvider.Applications {
		if a.Message != "" {
			return true
		}
	}
	return false
}

// readiness of an observed composed resource: ready when its Ready condition
// is True.
func readiness(r *structpb.Struct) fnv1.Ready {
	if str(condition(r, string(xpv2.TypeReady)), "status") == string(metav1.ConditionTrue) {
		return fnv1.Ready_READY_TRUE
	}
	return fnv1.Ready_READY_FALSE
}

// A Composer builds the desired composed resources of one Track as typed
// objects, and encodes once what many Tickets share (their apiVersion and
// kind, a change, a Track's repository): a 200-station Track would
// otherwise spend most of its time building equal values. The values it
// returns share those parts and must not be modified.
type Composer struct {
	namespace string
	track     string // the root Track's name, which Tickets are named after
	enc       *typedpb.Encoder
	ticket    v1alpha1.Ticket // reused: what is encoded is copied
	known     [6]typedpb.Known
	static    *staticParts
	changes   map[string]encodedChange // by ID
	tracks    map[*Track]*trackParts
	cache     *lru.Cache[composedID, encodedObject]
	key       []byte
	// Released are the stations' release times (see Releases).
	Released map[string]string
}

// An encoded is a value and how many bytes it holds.
type encoded struct {
	value *structpb.Value
	held  int
}

// The parts of a Ticket that are the same for all Tickets of the Track.
type staticParts struct{ apiVersion, kind encoded }

// The parts of a Ticket that are the same for all stations of one Track.
type trackParts struct{ name, repo, providerConfigRef encoded }

// An encodedChange is a change and what it encodes to.
type encodedChange struct {
	change *v1alpha1.Change
	encoded
}

// newComposer returns a Composer of the resources of Track track (the root
// Track) in namespace that returns what cache (when not nil) holds for a resource of
// the same content rather than encoding it again, and adds what it encodes.
func newComposer(namespace, track string, cache *lru.Cache[composedID, encodedObject]) *Composer {
	c := &Composer{namespace: namespace, track: track, enc: typedpb.NewEncoder(), cache: cache,
		changes: map[string]encodedChange{}, tracks: map[*Track]*trackParts{}}
	if cache != nil {
		c.key = *keyBuffers.Get().(*[]byte) //nolint:forcetypeassert // The pool holds *[]byte.
	}
	return c
}

// keyBuffers hold the keys of the objects composed, reused between calls: a
// Ticket's key is some 300 bytes, a Subscription's some 25 per station.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// release gives back what the Composer reuses between calls; it must not be
// used after.
func (c *Composer) release() {
	if c.cache != nil {
		b := c.key[:0]
		keyBuffers.Put(&b)
		c.key = nil
	}
}

// Ticket is the Ticket that delivers change ch to station s, named by
// TicketObjectName, in the hashed form when apart (ClashingTickets).
// Crossplane keeps the name of a Ticket that exists already.
func (c *Composer) Ticket(s *Stop, ch *v1alpha1.Change, apart bool) (*structpb.Struct, error) {
	c.ticket = v1alpha1.Ticket{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.TicketKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace},
		Spec: v1alpha1.TicketSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &s.Track.ProviderConfigRef},
			ForProvider: v1alpha1.TicketParameters{
				Track:        s.Track.Name,
				Station:      s.Path,
				Change:       *ch,
				Repo:         s.Track.Repo,
				Overlay:      s.Station.Overlay,
				Branch:       s.Station.Branch,
				Applications: s.Station.Applications,
			},
		},
	}
	// The name is keyed by what it is made of, the root Track's name, the
	// path (the content's station) and apart, and built only when the
	// Ticket is encoded: it costs a hash that a Ticket found composed as it
	// was need not pay.
	id := composedID{namespace: c.namespace, track: s.Track.Name, station: s.Path}
	released := c.Released[s.Path]
	if t, ok := c.cached(id, &c.ticket, c.track, apart, released); ok {
		return t, nil
	}
	c.ticket.Name = ticketObjectName(c.track, s.Path, apart)
	if released != "" {
		c.ticket.Annotations = map[string]string{v1alpha1.AnnotationReleasedAt: released}
	}
	if c.static == nil {
		c.static = &staticParts{}
		if err := c.encode(&c.static.apiVersion, &c.ticket.APIVersion); err != nil {
			return nil, err
		}
		if err := c.encode(&c.static.kind, &c.ticket.Kind); err != nil {
			return nil, err
		}
	}
	change, err := c.change(ch)
	if err != nil {
		return nil, err
	}
	fp := &c.ticket.Spec.ForProvider
	tp, ok := c.tracks[s.Track]
	if !ok {
		tp = &trackParts{}
		if err := c.encode(&tp.name, &fp.Track); err != nil {
			return nil, err
		}
		if err := c.encode(&tp.repo, &fp.Repo); err != nil {
			return nil, err
		}
		if err := c.encode(&tp.providerConfigRef, c.ticket.Spec.ProviderConfigReference); err != nil {
			return nil, err
		}
		c.tracks[s.Track] = tp
	}
	st := c.static
	c.known = [...]typedpb.Known{
		{Field: &c.ticket.APIVersion, Value: st.apiVersion.value},
		{Field: &c.ticket.Kind, Value: st.kind.value},
		{Field: &c.ticket.Spec.ProviderConfigReference, Value: tp.providerConfigRef.value},
		{Field: &fp.Track, Value: tp.name.value},
		{Field: &fp.Change, Value: change.value},
		{Field: &fp.Repo, Value: tp.repo.value},
	}
	t, err := c.enc.StructWith(&c.ticket, c.known[:])
	if err != nil {
		return nil, err
	}
	c.keep(id, t, c.enc.Held()+st.apiVersion.held+st.kind.held+tp.name.held+tp.repo.held+tp.providerConfigRef.held+change.held)
	return t, nil
}

// encode encodes what p points to into e.
func (c *Composer) encode(e *encoded, p any) error {
	v, err := c.enc.Value(p)
	if err != nil {
		return err
	}
	*e = encoded{value: v, held: c.enc.Held()}
	return nil
}

// cached is what the cache holds for object id if it has the content of
// the struct v points to, named after track, apart or not, annotated as
// released at released (a Ticket's release time; "" for none). It leaves
// the content's key in c.key.
func (c *Composer) cached(id composedID, v any, track string, apart bool, released string) (*structpb.Struct, bool) {
	if c.cache == nil {
		return nil, false
	}
	// v's key delimits itself, and apart's byte ends track (neither a
	// Track's name nor a time holds a 0 or a 1 byte): released is the rest.
	flag := byte(0)
	if apart {
		flag = 1
	}
	c.key = append(append(append(typedpb.AppendKey(c.key[:0], v), track...), flag), released...)
	e, ok := c.cache.Get(id)
	if !ok || e.key != string(c.key) {
		return nil, false
	}
	return e.object, true
}

// keep adds s, the encoding of object id, whose content's key is in c.key,
// which holds held bytes, to the cache, in place of what it held for id.
func (c *Composer) keep(id composedID, s *structpb.Struct, held int) {
	if c.cache != nil {
		c.cache.Add(id, encodedObject{key: string(c.key), object: s},
			len(id.namespace)+len(id.track)+len(id.station)+len(c.key)+held+c.cache.Overhead())
	}
}

// change is ch encoded, once for all of a call's changes equal to it: the
// stations of a Track mostly hold the same few changes, each decoded from
// its own Ticket.
func (c *Composer) change(ch *v1alpha1.Change) (encodedChange, error) {
	if e, ok := c.changes[ch.ID]; ok && (e.change == ch || reflect.DeepEqual(e.change, ch)) {
		return e, nil
	}
	v, err := c.enc.Value(ch)
	if err != nil {
		return encodedChange{}, err
	}
	e := encodedChange{change: ch, encoded: encoded{value: v, held: c.enc.Held()}}
	c.changes[ch.ID] = e
	return e, nil
}

// Subscription is the Subscription of root, told every station's overlay so
// that overlay-only commits reach their stations alone. Root's
// spec.subscriptions is the Subscription's spec.forProvider without
// repo and overlays.
func (c *Composer) Subscription(root *Track, stops []*Stop) (*structpb.Struct, error) {
	var fp v1alpha1.SubscriptionParameters
	typedpb.NewDecoder().Struct(root.Subscriptions, &fp)
	fp.Repo, fp.Overlays = root.Repo, nil
	if fp.Git != nil {
		fp.Git.Paths = nil
		for _, p := range root.GitPaths {
			fp.Git.Paths = append(fp.Git.Paths, v1alpha1.RepoPath(p))
		}
	}
	for _, s := range stops {
		if s.Station.Overlay != "" {
			fp.Overlays = append(fp.Overlays, v1alpha1.StationOverlay{Station: s.Path, Overlay: s.Station.Overlay})
		}
	}
	sub := &v1alpha1.Subscription{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.SubscriptionKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &root.ProviderConfigRef},
			ForProvider:         fp,
		},
	}
	id := composedID{namespace: c.namespace, track: root.Name}
	if s, ok := c.cached(id, sub, "", false, ""); ok {
		return s, nil
	}
	s, err := c.enc.Struct(sub)
	if err != nil {
		return nil, err
	}
	c.keep(id, s, c.enc.Held())
	return s, nil
}

// PassThrough is an observed composed resource as desired, unchanged: what
// the function returns for everything when it cannot work out anything
// better, so that nothing already composed is dropped. It keeps what a
// function may desire of any object: its apiVersion, kind, namespace and
// spec.
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
