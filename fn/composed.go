package fn

import (
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/fn/internal/typedpb"
)

// Composed resources, as DESIGN.md names them.
const (
	NameSubscription = "subscription"
	PrefixTicket     = "ticket-"
)

// TicketName is the composed-resource name of the Ticket at path.
func TicketName(path string) string { return PrefixTicket + path }

// Observed is the observed state the progression works from.
type Observed struct {
	Tickets      map[string]*v1alpha1.Ticket // by station path
	Subscription *v1alpha1.Subscription      // nil if none
}

// ParseObserved reads the observed composed resources.
func ParseObserved(ocs map[string]*fnv1.Resource) Observed {
	o := Observed{Tickets: make(map[string]*v1alpha1.Ticket, len(ocs))}
	// The function reads nothing of their metadata.
	d := typedpb.NewDecoder((*metav1.ObjectMeta)(nil))
	tickets := make([]v1alpha1.Ticket, 0, len(ocs))
	for name, r := range ocs {
		switch {
		case name == NameSubscription:
			o.Subscription = &v1alpha1.Subscription{}
			d.Struct(r.GetResource(), o.Subscription)
		case strings.HasPrefix(name, PrefixTicket):
			tickets = append(tickets, v1alpha1.Ticket{})
			t := &tickets[len(tickets)-1]
			d.Struct(r.GetResource(), t)
			o.Tickets[strings.TrimPrefix(name, PrefixTicket)] = t
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
// objects, and encodes them sharing what many Tickets share (a change, a
// Track's repository): a 200-station Track would otherwise spend most of its
// time building equal values. The values it returns share those parts and
// must not be modified.
type Composer struct {
	namespace string
	enc       *typedpb.Encoder
	ticket    v1alpha1.Ticket // reused: what is encoded is copied
}

// NewComposer returns a Composer of resources in namespace.
func NewComposer(namespace string) *Composer {
	return &Composer{namespace: namespace, enc: typedpb.NewEncoder()}
}

// Ticket is the Ticket that delivers change ch to station s.
func (c *Composer) Ticket(s *Stop, ch *v1alpha1.Change) (*structpb.Struct, error) {
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
	return c.enc.Struct(&c.ticket)
}

// Subscription is the Subscription of root, told every station's overlay so
// that overlay-only commits reach their stations alone. Root's
// spec.subscriptions is the Subscription's spec.forProvider without track,
// repo and overlays.
func (c *Composer) Subscription(root *Track, stops []*Stop) (*structpb.Struct, error) {
	var fp v1alpha1.SubscriptionParameters
	typedpb.NewDecoder().Struct(root.Subscriptions, &fp)
	fp.Track, fp.Repo, fp.Overlays = root.Name, root.Repo, nil
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
	return c.enc.Struct(&v1alpha1.Subscription{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.SubscriptionKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace},
		Spec: v1alpha1.SubscriptionSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: &root.ProviderConfigRef},
			ForProvider:         fp,
		},
	})
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
