package ticket

import (
	"context"
	"fmt"
	"sync"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// The composite resources that compose Tickets: the Track (a namespaced XR)
// and the legacy XTrack (a cluster-scoped XR whose claim, kind Track in
// legacy.k8sta.io, names it for a namespace).
const (
	groupTrack       = "k8sta.io"
	groupLegacyTrack = "legacy.k8sta.io"
	kindTrack        = "Track"
	kindXTrack       = "XTrack"
)

// Bounds on the junctions walked to find the section a Ticket names: as deep
// as the function expands them, and never more Tracks read than a Track
// could name at that depth in practice.
const (
	maxJunctionDepth = 8
	maxSectionReads  = 64
)

// errNotComposed marks a Ticket that no live Track composed.
var errNotComposed = errors.New("not composed by its Track")

// composedByTrack checks that t was composed by the Track it names: its
// controller reference (which Crossplane sets on every composed resource)
// names a Track XR that exists now, with that UID, and that Track is the one
// spec.forProvider.track names or feeds it through its junctions. A Ticket
// anyone wrote by hand would otherwise skip every station before it. The XR
// is read live, never from an informer's cache, so a forged reference to a
// deleted and re-created Track does not pass.
//
// This is not proof against a principal who may write Tickets and read
// Tracks: owner references are writable and UIDs readable. Crossplane's own
// record of what an XR composed (spec.crossplane.resourceRefs, or
// spec.resourceRefs for a legacy XR) is in the XR's spec, which the Track's
// team edits, so nothing a Ticket writer cannot also write exists to check.
// The guarantee rests on RBAC: nobody but Crossplane writes Tickets (the
// shipped tenant roles do not grant it). This check guards against mistakes
// and against principals who may create Tickets but cannot read Tracks.
//
// Once a Ticket passed with its controller the Track it names itself (not
// a section fed through junctions), that is remembered for this Ticket
// (uid), spec (generation) and controller (uid): it cannot stop being true
// but by the Track's deletion, which deletes the Ticket too, and a read of
// the Track at every reconcile of every Ticket (each Application event) is
// the provider's most frequent API request.
func composedByTrack(ctx context.Context, kube client.Reader, t *v1alpha1.Ticket) error {
	return defaultComposers.composedByTrack(ctx, kube, t)
}

// composers remembers the Tickets composedByTrack found composed by the
// Track they name.
type composers struct {
	mu   sync.Mutex
	seen map[composerKey]struct{}
}

type composerKey struct {
	ticket, controller types.UID
	generation         int64
}

// maxComposersRemembered bounds composers: past it, it starts afresh (and
// reads each Track once more).
const maxComposersRemembered = 1 << 16

var defaultComposers = &composers{seen: map[composerKey]struct{}{}}

func (c *composers) composedByTrack(ctx context.Context, kube client.Reader, t *v1alpha1.Ticket) error {
	ref := metav1.GetControllerOf(t)
	if ref == nil || t.GetUID() == "" {
		_, err := checkComposed(ctx, kube, t)
		return err
	}
	key := composerKey{ticket: t.GetUID(), controller: ref.UID, generation: t.GetGeneration()}
	c.mu.Lock()
	_, ok := c.seen[key]
	c.mu.Unlock()
	if ok {
		return nil
	}
	direct, err := checkComposed(ctx, kube, t)
	if err != nil || !direct {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= maxComposersRemembered {
		c.seen = map[composerKey]struct{}{}
	}
	c.seen[key] = struct{}{}
	return nil
}

// checkComposed is composedByTrack's check, read live; direct reports that
// the controller is the Track t names itself.
func checkComposed(ctx context.Context, kube client.Reader, t *v1alpha1.Ticket) (direct bool, err error) {
	track := t.Spec.ForProvider.Track
	fix := fmt.Sprintf("K8sTA acts only on Tickets that Track %s/%s composes: change the Track, not its Tickets", t.Namespace, track)
	ref := metav1.GetControllerOf(t)
	if ref == nil {
		return false, errors.Wrapf(errNotComposed, "Ticket %s/%s has no controlling Track (metadata.ownerReferences): %s", t.Namespace, t.Name, fix)
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, errors.Wrapf(errNotComposed, "Ticket %s/%s is controlled by %s %s, not a Track: %s", t.Namespace, t.Name, ref.Kind, ref.Name, fix)
	}
	xr := &unstructured.Unstructured{}
	xr.SetGroupVersionKind(gv.WithKind(ref.Kind))
	key := types.NamespacedName{Name: ref.Name}
	switch {
	case gv.Group == groupTrack && ref.Kind == kindTrack:
		key.Namespace = t.Namespace
	case gv.Group == groupLegacyTrack && ref.Kind == kindXTrack:
	default:
		return false, errors.Wrapf(errNotComposed, "Ticket %s/%s is controlled by %s %s, not a Track: %s", t.Namespace, t.Name, ref.Kind, ref.Name, fix)
	}
	if err := kube.Get(ctx, key, xr); err != nil {
		if kerrors.IsNotFound(err) {
			return false, errors.Wrapf(errNotComposed, "Ticket %s/%s is controlled by %s %s, which does not exist: %s", t.Namespace, t.Name, ref.Kind, ref.Name, fix)
		}
		return false, errors.Wrapf(err, "cannot get %s %s, the controller of Ticket %s/%s", ref.Kind, ref.Name, t.Namespace, t.Name)
	}
	if xr.GetUID() != ref.UID {
		return false, errors.Wrapf(errNotComposed, "Ticket %s/%s is controlled by %s %s with uid %s, but that %s has uid %s: %s", t.Namespace, t.Name, ref.Kind, ref.Name, ref.UID, ref.Kind, xr.GetUID(), fix)
	}

	// The Track's identity: its own for a Track, its claim's for an XTrack
	// (never a label, which anyone who can edit the XR can set).
	name, sections := xr.GetName(), schema.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: kindTrack}
	if ref.Kind == kindXTrack {
		claim, _, _ := unstructured.NestedStringMap(xr.Object, "spec", "claimRef")
		if claim["namespace"] != t.Namespace || claim["name"] == "" {
			return false, errors.Wrapf(errNotComposed, "Ticket %s/%s is controlled by XTrack %s, whose claim (spec.claimRef) is not in namespace %s: %s", t.Namespace, t.Name, xr.GetName(), t.Namespace, fix)
		}
		name = claim["name"]
	}
	if name == track {
		return true, nil
	}
	ok, err := feeds(ctx, kube, xr, sections, t.Namespace, track)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, errors.Wrapf(errNotComposed, "Ticket %s/%s names track %s but is composed by Track %s, whose junctions (spec.stations[].tracks) do not lead to %s: %s", t.Namespace, t.Name, track, name, track, fix)
	}
	return false, nil
}

// feeds tells whether root's junctions lead to the section Track named
// section in namespace, walking at most maxJunctionDepth levels and reading
// at most maxSectionReads Tracks of kind gvk.
func feeds(ctx context.Context, kube client.Reader, root *unstructured.Unstructured, gvk schema.GroupVersionKind, namespace, section string) (bool, error) {
	seen := map[string]bool{}
	level := junctionTracks(root)
	reads := 0
	for depth := 0; depth < maxJunctionDepth && len(level) > 0; depth++ {
		var next []string
		for _, n := range level {
			if n == section {
				return true, nil
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			if reads == maxSectionReads {
				return false, nil
			}
			reads++
			sec := &unstructured.Unstructured{}
			sec.SetGroupVersionKind(gvk)
			if err := kube.Get(ctx, types.NamespacedName{Namespace: namespace, Name: n}, sec); err != nil {
				if kerrors.IsNotFound(err) {
					continue
				}
				return false, errors.Wrapf(err, "cannot get Track %s/%s", namespace, n)
			}
			next = append(next, junctionTracks(sec)...)
		}
		level = next
	}
	return false, nil
}

// junctionTracks returns the Tracks t's junction stations feed.
func junctionTracks(t *unstructured.Unstructured) []string {
	stations, _, _ := unstructured.NestedSlice(t.Object, "spec", "stations")
	var out []string
	for _, s := range stations {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		ts, _, _ := unstructured.NestedStringSlice(m, "tracks")
		out = append(out, ts...)
	}
	return out
}
