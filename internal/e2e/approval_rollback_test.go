//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A station with approval: Manual holds every change before it until a
// person approves that change with kubectl k8sta, and the change then flows
// on at once; a rollback pins a section's station to the change it verified
// before, and a newer change reaches every other station but does not
// overwrite it until it is unpinned.
func TestApprovalGatesAndRollbackPins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.manual = "int"
	byPath := w.stationsByPath()
	intS, us, eu := byPath["int"], byPath["regions.guestbook-us.us"], byPath["regions.guestbook-eu.eu"]

	first := w.push("1.0.0")
	w.install()
	id := w.waitsForApproval("int")
	out := w.k8sta("approve", "guestbook", "int", "-n", w.ns)
	if !strings.Contains(out, id) {
		t.Errorf("kubectl k8sta approve says %q, want it to name change %s", out, id)
	}
	w.waitAllReady("1.0.0")

	second := w.push("1.1.0")
	w.notifyRegistryPush("1.1.0")
	id = w.waitsForApproval("int")
	if dev := specChange(w.tickets()["dev"], "id"); dev != id {
		t.Errorf("int waits for change %s, want dev's %s", id, dev)
	}
	w.holdsStill(5*time.Second, map[string]frozen{intS.path: w.freeze(intS), us.path: w.freeze(us), eu.path: w.freeze(eu)}, intS, us, eu)
	approved := time.Now()
	t.Logf("Track Responsive (Crossplane's XR circuit breaker) at approve: %s", w.responsive())
	w.k8sta("approve", "guestbook", "int", "-n", w.ns)
	w.givenChange(intS, id, approved, "kubectl k8sta approve")
	w.waitAllReady("1.1.0")
	w.checkDelivered(us, w.image+"@"+second)

	previous := w.historyOf(us.path, 1)
	rolledBack := time.Now()
	t.Logf("Track Responsive (Crossplane's XR circuit breaker) at rollback: %s", w.responsive())
	out = w.k8sta("rollback", "guestbook", us.path, "-n", w.ns)
	t.Logf("kubectl k8sta rollback: %s", out)
	w.givenChange(us, previous, rolledBack, "kubectl k8sta rollback")
	eventually(t, 8*time.Minute, us.path+" rolled back to 1.0.0", func() (bool, string) {
		tk := w.tickets()[us.path]
		return readyFor(tk, "1.0.0"), "Ticket at " + ticketTag(tk, "spec", "forProvider", "change")
	})
	w.checkDelivered(us, w.image+"@"+first)
	pinned := w.freeze(us)

	third := w.push("1.2.0")
	w.notifyRegistryPush("1.2.0")
	w.waitsForApproval("int")
	w.k8sta("approve", "guestbook", "int", "-n", w.ns)
	eventually(t, 8*time.Minute, "eu at 1.2.0", func() (bool, string) {
		tk := w.tickets()[eu.path]
		return readyFor(tk, "1.2.0"), "eu's Ticket at " + ticketTag(tk, "spec", "forProvider", "change")
	})
	w.checkDelivered(eu, w.image+"@"+third)
	w.holdsStill(5*time.Second, map[string]frozen{us.path: pinned}, us)
	// The Track's status follows eu's Ticket when the function next runs:
	// up to its 10 s idle TTL later while Crossplane's circuit breaker is
	// open.
	eventually(t, 2*time.Minute, "Promoted Pinned, naming "+us.path+" and change "+pinned.change, func() (bool, string) {
		_, r, msg := condition(w.track(), "Promoted")
		return r == "Pinned" && strings.Contains(msg, us.path+": pinned to change "+pinned.change), r + ": " + msg
	})
	t.Logf("kubectl k8sta status:\n%s", w.k8sta("status", "guestbook", "-n", w.ns))

	w.k8sta("unpin", "guestbook", us.path, "-n", w.ns)
	eventually(t, 8*time.Minute, us.path+" at 1.2.0 once unpinned", func() (bool, string) {
		tk := w.tickets()[us.path]
		return readyFor(tk, "1.2.0"), "Ticket at " + ticketTag(tk, "spec", "forProvider", "change")
	})
}

// waitsForApproval waits until the Track says that a change waits for
// approval before the station at path, and returns that change's id.
func (w *world) waitsForApproval(path string) string {
	w.t.Helper()
	var next string
	eventually(w.t, 8*time.Minute, path+" waiting for approval", func() (bool, string) {
		tr := w.track()
		st := trackStation(tr, path)
		next, _ = st["next"].(string)
		_, r, msg := condition(tr, "Promoted")
		return st["heldBy"] == "Approval" && next != "" && r == "AwaitingApproval" &&
				strings.Contains(msg, path+": waits for approval of change "+next),
			fmt.Sprintf("station %v; Promoted %s: %s", st, r, msg)
	})
	return next
}

// givenChange waits until the station's Ticket is given change id, and
// logs how long that took since a command ran at since (to the 20 ms of
// the wait's polling, the command's own run included).
func (w *world) givenChange(s station, id string, since time.Time, command string) {
	w.t.Helper()
	eventually(w.t, 2*time.Minute, s.path+"'s Ticket given change "+id, func() (bool, string) {
		got := specChange(w.tickets()[s.path], "id")
		return got == id, "given " + got
	})
	w.t.Logf("MEASURED: %s → %s's Ticket given change %s: %v", command, s.path, id, time.Since(since))
}

// responsive is the Track's Responsive condition, in which Crossplane says
// whether its XR circuit breaker drops the Track's watch events.
func (w *world) responsive() string {
	s, r, msg := condition(w.track(), "Responsive")
	return fmt.Sprintf("%s (%s) %s", s, r, msg)
}

// historyOf is the id of entry i of the station's history in the Track's
// status, newest first, once the history has that entry and its newest is
// the change the station's Ticket verified: the Track's status follows its
// Tickets, up to 10 s later while Crossplane's circuit breaker is open.
func (w *world) historyOf(path string, i int) string {
	w.t.Helper()
	var id string
	eventually(w.t, 2*time.Minute, fmt.Sprintf("%s's history with %d entries, the newest its Ticket's change", path, i+1), func() (bool, string) {
		h, _ := trackStation(w.track(), path)["history"].([]any)
		if len(h) <= i {
			return false, fmt.Sprint(h)
		}
		newest, _ := h[0].(map[string]any)
		m, _ := h[i].(map[string]any)
		id, _ = m["change"].(string)
		return newest["change"] == specChange(w.tickets()[path], "id"), fmt.Sprint(h)
	})
	return id
}

// trackStation is the entry of the Track's status.stations for path.
func trackStation(tr *unstructured.Unstructured, path string) map[string]any {
	ss, _, _ := unstructured.NestedSlice(tr.Object, "status", "stations")
	for _, s := range ss {
		if m, _ := s.(map[string]any); m["path"] == path {
			return m
		}
	}
	return nil
}

// k8sta runs `kubectl k8sta` as a user runs it: kubectl finds the plugin
// binary make build wrote to bin/ on its PATH.
func (w *world) k8sta(args ...string) string {
	w.t.Helper()
	bin := filepath.Join(repoRoot(), "bin")
	if _, err := os.Stat(filepath.Join(bin, "kubectl-k8sta")); err != nil {
		w.t.Fatalf("no bin/kubectl-k8sta: run make build (%v)", err)
	}
	out, err := st.kubectlWithPath(bin, append([]string{"k8sta"}, args...)...)
	if err != nil {
		w.t.Fatalf("kubectl k8sta %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
