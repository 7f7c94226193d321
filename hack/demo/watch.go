package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// stationView is what the demo shows of one station.
type stationView struct {
	path    string
	tag     string // the change the station is given, by its image tag
	phase   string // the Track's Waiting, or its Ticket's phase for the change it is given (docs/DESIGN.md, "Phases")
	message string // why it is not Ready, from the Ticket's Ready condition
	done    bool   // Ready for the tag being watched
}

// watch prints each station's change and phase whenever one of them changes,
// until every station is Ready for -tag; on timeout it says where the Track
// stopped and fails.
func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the stack")
	ns := fs.String("namespace", "", "the Track's namespace")
	track := fs.String("track", "", "the Track")
	tag := fs.String("tag", "", "the image tag every station must be Ready for")
	timeout := fs.Duration("timeout", 15*time.Minute, "how long the promotion may take")
	trackGrace := fs.Duration("track-grace", 3*time.Minute, "how long to wait, once every station is Ready, for the Track's Ready condition; 0: not at all")
	haltAt := fs.String("halt-at", "", "the station where -tag must fail and halt the Track; the watch ends there")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *ns == "" || *track == "" || *tag == "" {
		return errors.New("watch: -kubeconfig, -namespace, -track and -tag are required")
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(*timeout)
	printed := map[string]string{}
	lastErr := ""
	var views []stationView
	var tr *unstructured.Unstructured
	var stationsDone time.Time
	printedTrackWait := false
	responsive := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		views, tr, err = observe(ctx, kube, *ns, *track, *tag)
		cancel()
		switch {
		case err != nil:
			// The Track is composed a moment after it is applied, and the
			// apiserver is busy on a small machine: say so once, keep trying.
			if err.Error() != lastErr {
				say("[%s] %v", elapsed(time.Since(start)), err)
				lastErr = err.Error()
			}
		default:
			lastErr = ""
			allDone := len(views) > 0
			for _, v := range views {
				line := fmt.Sprintf("%-26s %-8s %s", v.path, orDash(v.tag), v.phase)
				if v.phase == v1alpha1.PhaseFailed {
					line += ": " + v.message
				}
				if printed[v.path] != line {
					say("[%s] %s", elapsed(time.Since(start)), line)
					printed[v.path] = line
				}
				allDone = allDone && v.done
			}
			if *haltAt != "" {
				halted, err := haltedAt(views, tr, *haltAt, *tag)
				if err != nil {
					return err
				}
				if halted {
					say("[%s] Track %s/%s halted at %s: Promoted %s", elapsed(time.Since(start)), *ns, *track, *haltAt, conditionMessage(tr, "Promoted"))
					return nil
				}
				allDone = false
			}
			// Crossplane stops reacting to every watch event of an XR that
			// receives too many; the function then has the Track composed
			// every second while a station delivers and every 10 s when
			// idle. Say so, or a slower hop would be a mystery.
			if r := conditionStatus(tr, "Responsive"); r != "" && r != responsive {
				if r == "False" {
					say("[%s] Track %s/%s: Crossplane's watch circuit breaker is open (%s): the Track is composed every second while a station delivers and every 10 s otherwise, so a hop may wait about a second and a new change up to 10 s",
						elapsed(time.Since(start)), *ns, *track, conditionField(tr, "Responsive", "message"))
				} else if responsive == "False" {
					say("[%s] Track %s/%s: Crossplane's watch circuit breaker is closed again", elapsed(time.Since(start)), *ns, *track)
				}
				responsive = r
			}
			if allDone && stationsDone.IsZero() {
				stationsDone = time.Now()
				say("[%s] every station is Ready for %s", elapsed(time.Since(start)), *tag)
			}
			// The Track's own Ready condition is Crossplane's summary of its
			// Tickets and lags them by up to a composition poll; the demo
			// waits for it so that the trace it ends with agrees.
			if allDone {
				if *trackGrace == 0 {
					return nil
				}
				if conditionStatus(tr, "Ready") == "True" {
					say("[%s] Track %s/%s is Ready", elapsed(time.Since(start)), *ns, *track)
					return nil
				}
				if time.Since(stationsDone) > *trackGrace {
					say("warning: every Ticket is Ready for %s but Track %s/%s is not yet (%s)", *tag, *ns, *track, conditionMessage(tr, "Ready"))
					return nil
				}
				if !printedTrackWait {
					say("[%s] waiting for Crossplane to mark Track %s/%s Ready (up to %v)", elapsed(time.Since(start)), *ns, *track, *trackGrace)
					printedTrackWait = true
				}
			}
		}
		// Once every station is Ready only the Track's grace period counts.
		if stationsDone.IsZero() && time.Now().After(deadline) {
			stoppedAt(views, *tag)
			return fmt.Errorf("the promotion of %s did not complete in %v", *tag, *timeout)
		}
		time.Sleep(time.Second)
	}
}

// haltedAt tells whether tag failed at station and the Track says it halted
// there; it is an error for station to verify tag.
func haltedAt(views []stationView, tr *unstructured.Unstructured, station, tag string) (bool, error) {
	for _, v := range views {
		if v.path != station || v.tag != tag {
			continue
		}
		if v.done {
			return false, fmt.Errorf("%s verified %s: want it to fail its analysis there", station, tag)
		}
		return v.phase == v1alpha1.PhaseFailed && conditionField(tr, "Promoted", "reason") == "Halted", nil
	}
	return false, nil
}

// stoppedAt says which stations were not Ready, and why.
func stoppedAt(views []stationView, tag string) {
	if len(views) == 0 {
		fmt.Fprintf(os.Stderr, "!! demo: the Track reported no stations: is it composed? (kubectl describe track)\n")
		return
	}
	for _, v := range views {
		if v.done {
			continue
		}
		why := v.message
		switch {
		case v.phase == v1alpha1.PhaseVerified:
			why = tag + " has not reached it"
		case why == "":
			why = "no reason given"
		}
		fmt.Fprintf(os.Stderr, "!! demo: stopped at %s: holds %s, %s; %s\n", v.path, orDash(v.tag), v.phase, why)
	}
}

// observe reads the Track's stations (status.stations, written by the
// function, lists every station, even those no change has reached) and the
// Tickets that deliver to them.
func observe(ctx context.Context, kube dynamic.Interface, ns, track, tag string) ([]stationView, *unstructured.Unstructured, error) {
	tr, err := kube.Resource(trackGVR).Namespace(ns).Get(ctx, track, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot get Track %s/%s: %w", ns, track, err)
	}
	stations, _, _ := unstructured.NestedSlice(tr.Object, "status", "stations")
	if len(stations) == 0 {
		return nil, nil, fmt.Errorf("the Track %s/%s is waiting for Crossplane and function-k8sta to compose it (%s)", ns, track, conditionMessage(tr, "Synced"))
	}
	l, err := kube.Resource(ticketGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list Tickets in %s: %w", ns, err)
	}
	tickets := map[string]*unstructured.Unstructured{}
	for i := range l.Items {
		p, _, _ := unstructured.NestedString(l.Items[i].Object, "spec", "forProvider", "station")
		tickets[p] = &l.Items[i]
	}
	views := make([]stationView, 0, len(stations))
	for _, s := range stations {
		m, _ := s.(map[string]any)
		path, _ := m["path"].(string)
		v := stationView{path: path}
		t := tickets[path]
		if t == nil {
			v.phase, _ = m["phase"].(string)
			if v.phase == "" {
				v.phase = "Waiting"
			}
			v.message = "no change has reached this station"
			views = append(views, v)
			continue
		}
		v.tag = changeTag(t, "spec", "forProvider", "change")
		wantID, _, _ := unstructured.NestedString(t.Object, "spec", "forProvider", "change", "id")
		liveID, _, _ := unstructured.NestedString(t.Object, "status", "atProvider", "change", "id")
		phase, _, _ := unstructured.NestedString(t.Object, "status", "atProvider", "phase")
		ready := conditionStatus(t, "Ready") == "True"
		typed := &v1alpha1.Ticket{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(t.Object, typed); err != nil {
			return nil, nil, fmt.Errorf("cannot read Ticket %s/%s: %w", t.GetNamespace(), t.GetName(), err)
		}
		_, verified := typed.VerifiedFor(wantID)
		switch {
		case verified:
			v.phase = v1alpha1.PhaseVerified
		case phase == v1alpha1.PhaseFailed || phase == v1alpha1.PhaseBlocked:
			v.phase = phase
		case liveID != wantID || phase == "":
			// The phase still describes the change the station had before;
			// the Ticket's next reconcile starts rendering this one.
			v.phase = v1alpha1.PhaseRendering
		default:
			v.phase = phase
		}
		if !ready {
			v.message = conditionMessage(t, "Ready")
		}
		v.done = v.phase == v1alpha1.PhaseVerified && v.tag == tag
		views = append(views, v)
	}
	return views, tr, nil
}

// changeTag is the tag of a change's first image, or its id when it sets no image.
func changeTag(u *unstructured.Unstructured, fields ...string) string {
	imgs, _, _ := unstructured.NestedSlice(u.Object, append(fields, "images")...)
	if len(imgs) > 0 {
		if m, ok := imgs[0].(map[string]any); ok {
			if tag, _ := m["tag"].(string); tag != "" {
				return tag
			}
		}
	}
	id, _, _ := unstructured.NestedString(u.Object, append(fields, "id")...)
	return id
}

func condition(u *unstructured.Unstructured, typ string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

func conditionStatus(u *unstructured.Unstructured, typ string) string {
	s, _ := condition(u, typ)["status"].(string)
	return s
}

func conditionField(u *unstructured.Unstructured, typ, field string) string {
	v, _ := condition(u, typ)[field].(string)
	return v
}

func conditionMessage(u *unstructured.Unstructured, typ string) string {
	c := condition(u, typ)
	if c == nil {
		return "no " + typ + " condition yet"
	}
	msg, _ := c["message"].(string)
	reason, _ := c["reason"].(string)
	return strings.TrimSpace(strings.Join([]string{typ, fmt.Sprint(c["status"]), reason, msg}, " "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// holds checks that each of -stations is Ready for -tag, the change it held
// before: what a halt upstream must leave alone.
func holds(args []string) error {
	fs := flag.NewFlagSet("holds", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the stack")
	ns := fs.String("namespace", "", "the Track's namespace")
	track := fs.String("track", "", "the Track")
	tag := fs.String("tag", "", "the image tag the stations must still be Ready for")
	stations := fs.String("stations", "", "comma-separated station paths")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *ns == "" || *track == "" || *tag == "" || *stations == "" {
		return errors.New("holds: -kubeconfig, -namespace, -track, -tag and -stations are required")
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	views, _, err := observe(ctx, kube, *ns, *track, *tag)
	if err != nil {
		return err
	}
	byPath := map[string]stationView{}
	for _, v := range views {
		byPath[v.path] = v
	}
	for _, p := range strings.Split(*stations, ",") {
		v, ok := byPath[p]
		if !ok || !v.done {
			return fmt.Errorf("%s holds %s, %s: want it still Ready for %s", p, orDash(v.tag), orDash(v.phase), *tag)
		}
		say("%s still holds %s, %s", p, *tag, v1alpha1.PhaseVerified)
	}
	return nil
}
