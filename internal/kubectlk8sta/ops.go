package kubectlk8sta

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/bounded"
)

func (s *session) status(ctx context.Context, name, output string) error {
	t, err := GetTrack(ctx, s.client, s.namespace, name)
	if err != nil {
		return err
	}
	known := KnownChanges(ctx, s.client, t)
	if output == outputJSON {
		return WriteJSON(s.opts.Out, Document(t, known))
	}
	return s.printer().WriteStatus(s.opts.Out, t, known)
}

// controlled reads a Track whose stations may be controlled: not a section,
// whose stations show (and are controlled) through the Track feeding it.
func (s *session) controlled(ctx context.Context, name string) (*Track, error) {
	t, err := GetTrack(ctx, s.client, s.namespace, name)
	if err != nil {
		return nil, err
	}
	if t.Section() {
		return nil, errors.Errorf("Track %s is a section: control its stations through the Track whose junction feeds it, by their paths there (junction.%s.station, as that Track's status shows them)", clean(name), clean(name))
	}
	return t, nil
}

// station returns the station at path or an error listing the Track's
// stations.
func (t *Track) station(path string) (*Station, error) {
	if st := t.Station(path); st != nil {
		return st, nil
	}
	return nil, t.noStation(path, "station")
}

func (t *Track) noStation(path, what string) error {
	if len(t.Stations) == 0 {
		why := ""
		if t.Valid != nil && t.Valid.Status != "True" {
			why = ": " + clean(t.Valid.Message)
		}
		return errors.Errorf("Track %s has no station %q: its status lists no stations yet (function-k8sta has not composed it%s)", clean(t.Name), clean(path), why)
	}
	return errors.Errorf("Track %s has no %s %q; its stations: %s", clean(t.Name), what, clean(path), clean(t.stationPaths()))
}

// named is a change as the output names it: its id and label. The id may
// come from the Track's status (its next or current change, its history),
// which whoever may write the status writes: it is cleaned like the label.
func named(known Changes, id string) string {
	if l := known.Info(id).Label(); l != id {
		return fmt.Sprintf("%s (%s)", clean(id), clean(l))
	}
	return clean(id)
}

// command is how the user runs kubectl k8sta verb on track.
func (s *session) command(verb, track string, args ...string) string {
	return "`kubectl k8sta " + strings.Join(append([]string{verb, track}, args...), " ") + " -n " + s.namespace + "`"
}

func (s *session) approve(ctx context.Context, name, path, change string) error {
	t, err := s.controlled(ctx, name)
	if err != nil {
		return err
	}
	// A junction without Applications that says approval: Manual holds a
	// change back from its sections until an Approval names its path.
	what, st := "station", t.Station(path)
	if st == nil {
		if !t.covers(path) {
			return t.noStation(path, "station or junction")
		}
		what, st = "junction", t.junctionWait(path)
	}
	switch {
	case change != "":
		if err := checkChangeID("--change", change); err != nil {
			return err
		}
	case st.Next == "" && what == "junction":
		return errors.Errorf("no change waits at junction %s of Track %s (no station of its sections says it holds one back): name the change to approve with --change", clean(path), clean(name))
	case st.Next == "":
		return errors.Errorf("no change waits to enter station %s of Track %s (its status.stations[].next is empty): name the change to approve with --change", clean(path), clean(name))
	default:
		change = st.Next
	}
	by, err := WhoAmI(ctx, s.client)
	if err != nil {
		return err
	}
	known := KnownChanges(ctx, s.client, t)
	c := Controls{Client: s.client}
	_, before, err := c.put(ctx, func() client.Object { return &v1alpha1.Approval{} }, s.namespace, name, path, func(o client.Object) {
		a := o.(*v1alpha1.Approval) //nolint:forcetypeassert // put makes Approvals here.
		a.Spec = v1alpha1.ApprovalSpec{Track: name, Station: path, Change: change, By: by}
	})
	if err != nil {
		return err
	}
	did := fmt.Sprintf("approved change %s for %s %s of Track %s by %s", named(known, change), what, path, name, clean(by))
	if b, ok := before.(*v1alpha1.Approval); ok && b.Spec.Change != change {
		did += fmt.Sprintf(" (replacing the approval of change %s)", named(known, b.Spec.Change))
	}
	var next string
	switch {
	case st.Next == change && st.HeldBy == heldByApproval && approvedAt(st) != path:
		at := approvedAt(st)
		next = fmt.Sprintf("it still waits for approval at junction %s, which holds it back: %s", clean(at), s.command("approve", name, clean(at)))
	case st.Next == change && st.HeldBy == heldByApproval:
		next = "the Track lets it in at once"
	case st.Next == change && st.HeldBy != "":
		next = "it still waits: " + s.printer().why(st)
	case st.Change == change:
		next = fmt.Sprintf("station %s already holds it, so nothing waits for this approval", path)
	default:
		next = fmt.Sprintf("it has not reached %s %s yet: it enters without waiting for approval when it does", what, path)
	}
	return s.say("%s; %s", did, next)
}

func (s *session) freeze(ctx context.Context, name string, paths []string, reason string) error {
	if len(reason) > v1alpha1.MaxControlReasonLength {
		return errors.Errorf("--reason is %d bytes long: a Freeze's reason may be at most %d", len(reason), v1alpha1.MaxControlReasonLength)
	}
	t, err := s.controlled(ctx, name)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if !t.covers(p) {
			return t.noStation(p, "station or junction")
		}
	}
	by, err := WhoAmI(ctx, s.client)
	if err != nil {
		return err
	}
	c := Controls{Client: s.client}
	scopes := paths
	if len(scopes) == 0 {
		scopes = []string{""}
	}
	// Every Freeze is named before any is written: nothing half-applied.
	for _, p := range scopes {
		if _, _, _, err := find(ctx, s.client, func() client.Object { return &v1alpha1.Freeze{} }, s.namespace, name, p); err != nil {
			return err
		}
	}
	for _, p := range scopes {
		fn, _, err := c.put(ctx, func() client.Object { return &v1alpha1.Freeze{} }, s.namespace, name, p, func(o client.Object) {
			f := o.(*v1alpha1.Freeze) //nolint:forcetypeassert // put makes Freezes here.
			f.Spec = v1alpha1.FreezeSpec{Track: name, Reason: reason, By: by}
			if p != "" {
				f.Spec.Stations = []string{p}
			}
		})
		if err != nil {
			return err
		}
		why := ""
		if reason != "" {
			why = fmt.Sprintf(", reason %q", clean(reason))
		}
		what, until := "any of its stations", s.command("unfreeze", name)
		if p != "" {
			what, until = "it", s.command("unfreeze", name, p)
			if t.Station(p) == nil {
				what = "its sections"
			}
		}
		if err := s.say("froze %s by %s (Freeze %s%s); no new change enters %s until %s, and a change already being delivered finishes",
			frozen(t, p), clean(by), fn, why, what, until); err != nil {
			return err
		}
	}
	return nil
}

// frozen names what a Freeze of path freezes.
func frozen(t *Track, path string) string {
	switch {
	case path == "":
		return "Track " + t.Name
	case t.Station(path) == nil:
		return "junction " + path + " of Track " + t.Name
	default:
		return where(t.Name, path)
	}
}

func (s *session) unfreeze(ctx context.Context, name string, paths []string) error {
	t, err := s.controlled(ctx, name)
	if err != nil {
		return err
	}
	scopes := paths
	if len(scopes) == 0 {
		scopes = []string{""}
	}
	// The Track's Freezes are read once: each station's own and those that
	// still hold it after come from that one List. Every Freeze is found
	// before any is deleted: nothing half-lifted.
	all, err := freezesOf(ctx, s.client, s.namespace, name)
	if err != nil {
		return err
	}
	found := make([]client.Object, len(scopes))
	for i, p := range scopes {
		if o, ok := own(all, name, p); ok {
			found[i] = o
			continue
		}
		// Not among the first maxControls, or none: find names the Freeze
		// freeze would make.
		o, fn, ok, err := find(ctx, s.client, func() client.Object { return &v1alpha1.Freeze{} }, s.namespace, name, p)
		if err != nil {
			return err
		}
		if !ok {
			if p != "" && !t.covers(p) {
				return t.noStation(p, "station or junction")
			}
			msg := fmt.Sprintf("%s has no Freeze %s that kubectl k8sta freeze made: nothing lifted", frozen(t, p), fn)
			if rest := covering(all, p); len(rest) > 0 {
				msg += "; " + stillFrozen(rest, p)
			}
			return errors.New(msg)
		}
		found[i] = o
	}
	c := Controls{Client: s.client}
	for _, o := range found {
		if err := c.remove(ctx, o); err != nil {
			return err
		}
	}
	if len(all) < maxControls {
		all = without(all, found)
	} else if all, err = freezesOf(ctx, s.client, s.namespace, name); err != nil {
		// One deleted lets function-k8sta consider a Freeze past its cut.
		return err
	}
	var known Changes // read once, when a lifted station has a change waiting
	for i, p := range scopes {
		next := "new changes enter its stations again"
		switch st, rest := t.Station(p), covering(all, p); {
		case len(rest) > 0:
			next = stillFrozen(rest, p)
		case st != nil && st.HeldBy == heldByFreeze && st.Next != "":
			if known == nil {
				known = KnownChanges(ctx, s.client, t)
			}
			next = fmt.Sprintf("change %s, which waits at it, enters it now", named(known, st.Next))
		case p != "":
			next = "new changes enter it again"
		}
		if err := s.say("lifted the freeze of %s (deleted Freeze %s); %s", frozen(t, p), found[i].GetName(), next); err != nil {
			return err
		}
	}
	return nil
}

// stillFrozen says which Freezes still hold path (the whole Track for "").
func stillFrozen(rest []v1alpha1.Freeze, path string) string {
	names := make([]string, 0, min(len(rest), maxListed))
	for _, f := range rest[:min(len(rest), maxListed)] {
		scope := "the whole Track"
		if len(f.Spec.Stations) > 0 {
			scope = bounded.Text(strings.Join(f.Spec.Stations, ", "), maxScopeBytes)
		}
		names = append(names, fmt.Sprintf("Freeze %s (%s, by %s)", f.Name, clean(scope), clean(f.Spec.By)))
	}
	if path == "" {
		return "these still freeze stations of the Track: " + listOf(names, len(rest))
	}
	return "it stays frozen by " + listOf(names, len(rest))
}

// verified returns the entry of the station's history for change, given by
// id or by the label (tag) of exactly one entry.
func (st *Station) verified(change string) (*Verified, bool) {
	var byLabel []*Verified
	for i := range st.History {
		h := &st.History[i]
		if h.Change == change {
			return h, true
		}
		if (ChangeInfo{ID: h.Change, Commit: h.Commit, Images: h.Images}).Label() == change {
			byLabel = append(byLabel, h)
		}
	}
	if len(byLabel) == 1 {
		return byLabel[0], true
	}
	return nil, false
}

func (s *session) neverVerified(st *Station, change string) error {
	if len(st.History) == 0 {
		return errors.Errorf("station %s never verified change %s; it has verified no change yet", clean(st.Path), clean(change))
	}
	return errors.Errorf("station %s never verified change %s; its history: %s", clean(st.Path), clean(change), s.historyList(st))
}

func (s *session) historyList(st *Station) string {
	p := s.printer()
	items := make([]string, 0, len(st.History))
	for _, h := range st.History {
		var about []string
		if l := (ChangeInfo{ID: h.Change, Commit: h.Commit, Images: h.Images}).Label(); l != h.Change {
			about = append(about, l)
		}
		if !h.VerifiedAt.IsZero() {
			about = append(about, "verified "+p.ago(h.VerifiedAt)+" ago")
		}
		item := h.Change
		if len(about) > 0 {
			item += " (" + strings.Join(about, ", ") + ")"
		}
		items = append(items, clean(item))
	}
	return list(items)
}

// toPin is station path of Track name, which a Pin with reason is to hold.
func (s *session) toPin(ctx context.Context, name, path, reason string) (*Track, *Station, error) {
	if len(reason) > v1alpha1.MaxControlReasonLength {
		return nil, nil, errors.Errorf("--reason is %d bytes long: a Pin's reason may be at most %d", len(reason), v1alpha1.MaxControlReasonLength)
	}
	t, err := s.controlled(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	st, err := t.station(path)
	if err != nil {
		return nil, nil, err
	}
	return t, st, nil
}

func (s *session) pin(ctx context.Context, name, path, change, reason string) error {
	t, st, err := s.toPin(ctx, name, path, reason)
	if err != nil {
		return err
	}
	switch {
	case change == "" && st.Change == "":
		return errors.Errorf("station %s of Track %s holds no change yet: there is nothing to pin it to", clean(path), clean(name))
	case change == "":
		change = st.Change
	case change != st.Change:
		if err := checkChangeID("--change", change); err != nil {
			return err
		}
		if _, ok := st.verified(change); !ok {
			return s.neverVerified(st, change)
		}
	}
	return s.putPin(ctx, t, st, change, reason, false)
}

func (s *session) rollback(ctx context.Context, name, path, to, reason string) error {
	t, st, err := s.toPin(ctx, name, path, reason)
	if err != nil {
		return err
	}
	var target *Verified
	if to != "" {
		h, ok := st.verified(to)
		if !ok {
			return s.neverVerified(st, to)
		}
		target = h
	} else {
		// The change verified before the one the station holds: history[1]
		// when it holds history[0], history[0] when it is delivering
		// (or failed) a newer one.
		for i := range st.History {
			if st.History[i].Change != st.Change {
				target = &st.History[i]
				break
			}
		}
		if target == nil {
			if len(st.History) == 0 {
				return errors.Errorf("station %s of Track %s has verified no change yet: there is nothing to roll back to", clean(path), clean(name))
			}
			return errors.Errorf("station %s of Track %s has verified no change but the one it holds (%s): there is nothing earlier to roll back to", clean(path), clean(name), clean(st.Change))
		}
	}
	if reason == "" && st.Change != "" && st.Change != target.Change {
		reason = "rollback from change " + st.Change
	}
	return s.putPin(ctx, t, st, target.Change, reason, true)
}

func (s *session) putPin(ctx context.Context, t *Track, st *Station, change, reason string, rollback bool) error {
	by, err := WhoAmI(ctx, s.client)
	if err != nil {
		return err
	}
	if err := s.pinWins(ctx, t, st.Path); err != nil {
		return err
	}
	known := KnownChanges(ctx, s.client, t)
	c := Controls{Client: s.client}
	pn, before, err := c.put(ctx, func() client.Object { return &v1alpha1.Pin{} }, s.namespace, t.Name, st.Path, func(o client.Object) {
		p := o.(*v1alpha1.Pin) //nolint:forcetypeassert // put makes Pins here.
		p.Spec = v1alpha1.PinSpec{Track: t.Name, Station: st.Path, Change: change, Reason: reason, By: by}
	})
	if err != nil {
		return err
	}
	moved := ""
	if b, ok := before.(*v1alpha1.Pin); ok && b.Spec.Change != change {
		moved = fmt.Sprintf(", moved from change %s", named(known, b.Spec.Change))
	}
	until := s.command("unpin", t.Name, st.Path)
	if rollback {
		when := ""
		if h, ok := st.verified(change); ok && !h.VerifiedAt.IsZero() {
			when = fmt.Sprintf(", verified there %s ago,", s.printer().ago(h.VerifiedAt))
		}
		next := "the Track delivers it to the station again"
		if st.Change == change {
			next = "the station already holds it"
		}
		return s.say("rolled station %s of Track %s back to change %s%s by %s (Pin %s%s); %s, and no new change enters %s or flows past it until %s",
			st.Path, t.Name, named(known, change), when, clean(by), pn, moved, next, st.Path, until)
	}
	next := "the station keeps it"
	if st.Change != change {
		next = "the Track delivers it to the station again"
	}
	return s.say("pinned station %s of Track %s to change %s by %s (Pin %s%s); %s, and nothing flows past %s until %s",
		st.Path, t.Name, named(known, change), clean(by), pn, moved, next, st.Path, until)
}

// pinWins refuses to pin station path of Track t when function-k8sta would
// hold it by another pin: the Track's spec.stations[].pin, else the first
// Pin by name of the Track's first maxControls Pins that names the station
// and a change id. Nothing is written then.
func (s *session) pinWins(ctx context.Context, t *Track, path string) error {
	if c, ok := t.SpecPins[path]; ok {
		return errors.Errorf("station %s of Track %s is pinned to change %s by the Track's spec, which wins over any Pin: nothing written; edit spec.stations[].pin of the Track in git to move or lift that pin",
			clean(path), clean(t.Name), clean(c))
	}
	_, pn, _, err := find(ctx, s.client, func() client.Object { return &v1alpha1.Pin{} }, s.namespace, t.Name, path)
	if err != nil {
		return err
	}
	pins, err := pinsOf(ctx, s.client, s.namespace, t.Name)
	if err != nil {
		return err
	}
	for _, p := range pinsAt(pins, path) {
		if p.Name < pn && v1alpha1.IsChangeID(p.Spec.Change) {
			return errors.Errorf("station %s of Track %s is pinned by Pin %s to change %s (by %s), which wins over Pin %s as it comes first by name: nothing written; lift it with `kubectl delete pin %s -n %s` first",
				clean(path), clean(t.Name), p.Name, clean(p.Spec.Change), clean(p.Spec.By), pn, p.Name, s.namespace)
		}
	}
	if len(pins) == maxControls && pins[len(pins)-1].Name < pn {
		return errors.Errorf("Track %s has %d Pins whose names come before %s: function-k8sta considers only the first %d by name and would ignore Pin %s; nothing written; delete the Pins of the Track no longer needed (kubectl get pins -n %s -l %s=%s)",
			clean(t.Name), maxControls, pn, maxControls, pn, s.namespace, LabelTrack, trackLabel(t.Name))
	}
	return nil
}

func (s *session) unpin(ctx context.Context, name, path string) error {
	t, err := s.controlled(ctx, name)
	if err != nil {
		return err
	}
	// The Track's Pins are read once: the station's own and those that
	// still hold it after come from that one List.
	pins, err := pinsOf(ctx, s.client, s.namespace, name)
	if err != nil {
		return err
	}
	o, found := own(pins, name, path)
	var pn string
	if found {
		pn = o.GetName()
	} else {
		// Not among the first maxControls, or none: find names the Pin pin
		// would make.
		var obj client.Object
		if obj, pn, found, err = find(ctx, s.client, func() client.Object { return &v1alpha1.Pin{} }, s.namespace, name, path); err != nil {
			return err
		}
		if found {
			o = obj.(*v1alpha1.Pin) //nolint:forcetypeassert // find gets Pins here.
		}
	}
	if !found && t.Station(path) == nil {
		return t.noStation(path, "station")
	}
	if found {
		if err := (Controls{Client: s.client}).remove(ctx, o); err != nil {
			return err
		}
	}
	rest := pinsAt(pins, path)
	if found {
		rest = pinsAt(without(pins, []client.Object{o}), path)
	}
	if found && len(pins) == maxControls {
		// One deleted lets function-k8sta consider a Pin past its cut.
		if pins, err = pinsOf(ctx, s.client, s.namespace, name); err != nil {
			return err
		}
		rest = pinsAt(pins, path)
	}
	specPin, pinnedBySpec := t.SpecPins[path]
	if !found {
		msg := fmt.Sprintf("station %s of Track %s has no Pin %s that kubectl k8sta pin or rollback made: nothing lifted", clean(path), clean(name), pn)
		if len(rest) > 0 {
			msg += "; " + stillPinned(rest)
		}
		if pinnedBySpec {
			msg += fmt.Sprintf("; the Track's spec pins it to change %s: edit spec.stations[].pin of the Track to lift that", clean(specPin))
		}
		return errors.New(msg)
	}
	next := "new changes enter it and flow past it again"
	switch {
	case len(rest) > 0:
		next = stillPinned(rest)
	case pinnedBySpec:
		next = fmt.Sprintf("the Track's spec still pins it to change %s: edit spec.stations[].pin of the Track to lift that", clean(specPin))
	}
	return s.say("unpinned station %s of Track %s (deleted Pin %s); %s", path, name, pn, next)
}

func stillPinned(rest []v1alpha1.Pin) string {
	names := make([]string, 0, min(len(rest), maxListed))
	for _, p := range rest[:min(len(rest), maxListed)] {
		names = append(names, fmt.Sprintf("Pin %s (change %s, by %s)", p.Name, clean(p.Spec.Change), clean(p.Spec.By)))
	}
	return "it stays pinned by " + listOf(names, len(rest))
}

// A HistoryDocument is what `history -o json` prints.
type HistoryDocument struct {
	Track     string        `json:"track"`
	Namespace string        `json:"namespace"`
	Station   string        `json:"station"`
	Change    string        `json:"change,omitempty"`
	History   []DocVerified `json:"history"`
}

// A DocVerified is a change the station verified.
type DocVerified struct {
	DocChange
	DiscoveredAt *time.Time `json:"discoveredAt,omitempty"`
	VerifiedAt   *time.Time `json:"verifiedAt,omitempty"`
}

func (s *session) history(ctx context.Context, name, path, output string) error {
	t, err := s.controlled(ctx, name)
	if err != nil {
		return err
	}
	st, err := t.station(path)
	if err != nil {
		return err
	}
	if output == outputJSON {
		d := HistoryDocument{Track: name, Namespace: s.namespace, Station: path, Change: st.Change, History: make([]DocVerified, 0, len(st.History))}
		for _, h := range st.History {
			i := ChangeInfo{ID: h.Change, Commit: h.Commit, Images: h.Images}
			d.History = append(d.History, DocVerified{DocChange: DocChange{ID: h.Change, Label: i.Label(), Commit: h.Commit, Images: h.Images},
				DiscoveredAt: docTime(h.DiscoveredAt), VerifiedAt: docTime(h.VerifiedAt)})
		}
		return WriteJSON(s.opts.Out, d)
	}
	if len(st.History) == 0 {
		return s.say("station %s of Track %s has verified no change yet", path, name)
	}
	p := s.printer()
	b := &strings.Builder{}
	fmt.Fprintf(b, "Changes station %s of Track %s verified, newest first:\n\n", path, name)
	rows := [][]cell{{{"CHANGE", colorNone}, {"ID", colorNone}, {"COMMIT", colorNone}, {"VERIFIED", colorNone}, {"", colorNone}}}
	for _, h := range st.History {
		i := ChangeInfo{ID: h.Change, Commit: h.Commit, Images: h.Images}
		verified := ""
		if !h.VerifiedAt.IsZero() {
			verified = p.ago(h.VerifiedAt) + " ago (" + h.VerifiedAt.Format(time.RFC3339) + ")"
		}
		note := ""
		if h.Change == st.Change {
			note = "current"
		}
		rows = append(rows, []cell{{clean(i.Label()), colorCyan}, {clean(h.Change), colorDim}, {clean(v1alpha1.ShortCommit(h.Commit)), colorNone}, {verified, colorNone}, {note, colorGreen}})
	}
	p.table(b, rows)
	fmt.Fprintf(b, "\nRoll back with %s [--to ID]\n", s.command("rollback", name, path))
	_, err = fmt.Fprint(s.opts.Out, b.String())
	return errors.Wrap(err, "cannot write the history")
}
