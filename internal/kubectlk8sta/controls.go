package kubectlk8sta

import (
	"context"
	"fmt"
	"sort"
	"strings"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// LabelTrack names the Track a control belongs to, so that
// `kubectl get approvals,freezes,pins -l k8sta.io/track=guestbook` lists them.
const LabelTrack = "k8sta.io/track"

// checkChangeID refuses what is not a change id, naming the flag.
func checkChangeID(flag, id string) error {
	if !v1alpha1.IsChangeID(id) {
		return errors.Errorf("%s %q is not a change id: a change id is 12 hexadecimal digits, as `kubectl k8sta status` and `history` show", flag, clean(id))
	}
	return nil
}

// A Controls writes a Track's Approvals, Freezes and Pins.
type Controls struct {
	Client client.Client
}

// owner is the Track and station a control kubectl k8sta keeps belongs to.
// A Freeze of several stations is nobody's: kubectl k8sta keeps one per
// station, or one for the whole Track (path "").
func owner(o client.Object) (track, path string, ok bool) {
	switch c := o.(type) {
	case *v1alpha1.Approval:
		return c.Spec.Track, c.Spec.Station, true
	case *v1alpha1.Pin:
		return c.Spec.Track, c.Spec.Station, true
	case *v1alpha1.Freeze:
		switch len(c.Spec.Stations) {
		case 0:
			return c.Spec.Track, "", true
		case 1:
			return c.Spec.Track, c.Spec.Stations[0], true
		}
	}
	return "", "", false
}

// find returns the control of kind (newObj makes an empty one) that kubectl
// k8sta keeps for track and path: the one named ControlName, or the hashed
// name when the readable one belongs to another Track's or station's control.
// When none exists it returns the name a new one takes and found false.
func find(ctx context.Context, c client.Reader, newObj func() client.Object, namespace, track, path string) (obj client.Object, name string, found bool, err error) {
	names := []string{ControlName(track, path)}
	if h := hashedName(track, path); h != names[0] {
		names = append(names, h)
	}
	free := ""
	for _, n := range names {
		o := newObj()
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: n}, o)
		if kerrors.IsNotFound(err) {
			if free == "" {
				free = n
			}
			continue
		}
		if err != nil {
			return nil, "", false, errors.Wrapf(err, "cannot get %s %s", kind(o), n)
		}
		if t, p, ok := owner(o); ok && t == track && p == path {
			return o, n, true, nil
		}
	}
	if free == "" {
		return nil, "", false, errors.Errorf("cannot name the %s of %s: %s are taken by controls of other Tracks or stations", kind(newObj()), where(track, path), strings.Join(names, " and "))
	}
	return nil, free, false, nil
}

func kind(o client.Object) string {
	switch o.(type) {
	case *v1alpha1.Approval:
		return v1alpha1.ApprovalKind
	case *v1alpha1.Freeze:
		return v1alpha1.FreezeKind
	case *v1alpha1.Pin:
		return v1alpha1.PinKind
	}
	return fmt.Sprintf("%T", o)
}

func where(track, path string) string {
	if path == "" {
		return "Track " + track
	}
	return "station " + path + " of Track " + track
}

// put creates the control of kind for track and path, or updates the one
// that exists, setting what set sets. It returns the control's name and, of
// an existing one, what it was before.
func (c Controls) put(ctx context.Context, newObj func() client.Object, namespace, track, path string, set func(client.Object)) (name string, before client.Object, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o, n, found, err := find(ctx, c.Client, newObj, namespace, track, path)
		if err != nil {
			return err
		}
		name = n
		if !found {
			o = newObj()
			o.SetNamespace(namespace)
			o.SetName(n)
			o.SetLabels(map[string]string{LabelTrack: trackLabel(track)})
			set(o)
			return errors.Wrapf(c.Client.Create(ctx, o), "cannot create %s %s", kind(o), n)
		}
		before = o.DeepCopyObject().(client.Object) //nolint:forcetypeassert // A copy is of its original's type.
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelTrack] = trackLabel(track)
		o.SetLabels(labels)
		set(o)
		return c.Client.Update(ctx, o)
	})
	if kerrors.IsConflict(err) {
		return "", nil, errors.Wrapf(err, "cannot update %s %s: someone else keeps changing it; run the command again", kind(newObj()), name)
	}
	return name, before, errors.Wrapf(err, "cannot write %s %s", kind(newObj()), name)
}

// remove deletes a control find found, unless it changed since.
func (c Controls) remove(ctx context.Context, o client.Object) error {
	if err := c.Client.Delete(ctx, o, client.Preconditions{UID: ptr.To(o.GetUID()), ResourceVersion: ptr.To(o.GetResourceVersion())}); err != nil && !kerrors.IsNotFound(err) {
		return errors.Wrapf(err, "cannot delete %s %s", kind(o), o.GetName())
	}
	return nil
}

// listPage is how many controls one List asks for: however many a
// namespace holds, kubectl k8sta holds one page of them at a time besides
// those of the Track.
const listPage = 100

// ofTrack lists the objects of a kind (newList makes an empty list of it)
// in namespace page by page, in the apiserver's order (by name), and hands
// each page to keep, which keeps those of the Track and says how many it
// has kept: it stops at maxControls, the first by name, which
// function-k8sta considers. A page is decoded into a list of its own: the
// objects kept keep what they hold.
func ofTrack(ctx context.Context, c client.Reader, newList func() client.ObjectList, namespace string, keep func(client.ObjectList) int) error {
	next := ""
	for {
		l := newList()
		if err := c.List(ctx, l, client.InNamespace(namespace), client.Limit(listPage), client.Continue(next)); err != nil {
			return err
		}
		if next = l.GetContinue(); keep(l) >= maxControls || next == "" {
			return nil
		}
	}
}

// freezesOf lists the Track's Freezes, whoever made them, sorted by name:
// the first maxControls, which function-k8sta considers.
func freezesOf(ctx context.Context, c client.Reader, namespace, track string) ([]v1alpha1.Freeze, error) {
	var out []v1alpha1.Freeze
	err := ofTrack(ctx, c, func() client.ObjectList { return &v1alpha1.FreezeList{} }, namespace, func(l client.ObjectList) int {
		for _, f := range l.(*v1alpha1.FreezeList).Items { //nolint:forcetypeassert // newList makes FreezeLists.
			if f.Spec.Track == track && len(out) < maxControls {
				out = append(out, f)
			}
		}
		return len(out)
	})
	if err != nil {
		return nil, errors.Wrapf(err, "cannot list the Freezes of namespace %s", namespace)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pinsOf lists the Track's Pins, whoever made them, sorted by name: the
// first maxControls, which function-k8sta considers.
func pinsOf(ctx context.Context, c client.Reader, namespace, track string) ([]v1alpha1.Pin, error) {
	var out []v1alpha1.Pin
	err := ofTrack(ctx, c, func() client.ObjectList { return &v1alpha1.PinList{} }, namespace, func(l client.ObjectList) int {
		for _, p := range l.(*v1alpha1.PinList).Items { //nolint:forcetypeassert // newList makes PinLists.
			if p.Spec.Track == track && len(out) < maxControls {
				out = append(out, p)
			}
		}
		return len(out)
	})
	if err != nil {
		return nil, errors.Wrapf(err, "cannot list the Pins of namespace %s", namespace)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pinsAt are those of ps that pin station path.
func pinsAt(ps []v1alpha1.Pin, path string) []v1alpha1.Pin {
	var out []v1alpha1.Pin
	for _, p := range ps {
		if p.Spec.Station == path {
			out = append(out, p)
		}
	}
	return out
}

// own is the control of objs (the Track's, as freezesOf or pinsOf list
// them) that find would find for track and path: the one named ControlName,
// else the hashed name, that belongs to track and path.
func own[T any, P interface {
	*T
	client.Object
}](objs []T, track, path string) (P, bool) {
	for _, n := range []string{ControlName(track, path), hashedName(track, path)} {
		for i := range objs {
			o := P(&objs[i])
			if t, p, ok := owner(o); o.GetName() == n && ok && t == track && p == path {
				return o, true
			}
		}
	}
	return nil, false
}

// without are those of objs not named in gone.
func without[T any, P interface {
	*T
	client.Object
}](objs []T, gone []client.Object) []T {
	var out []T
	for i := range objs {
		kept := true
		for _, g := range gone {
			kept = kept && P(&objs[i]).GetName() != g.GetName()
		}
		if kept {
			out = append(out, objs[i])
		}
	}
	return out
}

// covering returns those of fs that freeze station path; all of them for
// path "".
func covering(fs []v1alpha1.Freeze, path string) []v1alpha1.Freeze {
	var out []v1alpha1.Freeze
	for _, f := range fs {
		if path == "" || freezes(f, path) {
			out = append(out, f)
		}
	}
	return out
}

// freezes reports whether f freezes station path: it freezes the whole
// Track, the station, or a junction the station is on a section of.
func freezes(f v1alpha1.Freeze, path string) bool {
	if len(f.Spec.Stations) == 0 {
		return true
	}
	for _, s := range f.Spec.Stations {
		if s == path || strings.HasPrefix(path, s+".") {
			return true
		}
	}
	return false
}
