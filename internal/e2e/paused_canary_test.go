//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A canary that pauses with no duration at dev holds the Track there: Argo
// CD reports dev's Application Suspended, the dev Ticket waits (never
// Failed, never Verified) and says which Rollout is paused at which step,
// the Track's Promoted condition says so too, and int keeps its change.
// Promoting the Rollout as `kubectl argo rollouts promote` does (a status
// patch clearing its pause conditions) lets the change move on, and it
// reaches every station.
func TestPausedCanaryHoldsTheTrackUntilPromoted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// dev's canary stops after its first step until someone promotes it.
	w.git.Commit(t, w.repo, "main", map[string][]byte{
		"overlays/dev/kustomization.yaml": []byte(`resources:
- ../../base
labels:
- pairs: {station: dev}
patches:
- target: {kind: Rollout, name: guestbook}
  patch: |-
    - op: replace
      path: /spec/strategy/canary/steps
      value: [{setWeight: 34}, {pause: {}}]
`),
	}, "dev: a manual gate after the first canary step")
	w.installWith("1.0.0")
	byPath := w.stationsByPath()
	dev, intS := byPath["dev"], byPath["int"]
	held := map[string]frozen{intS.path: w.freeze(intS)}

	w.push("1.1.0")
	w.notifyRegistryPush("1.1.0")
	devApp := dev.apps[0]
	paused := func(msg string) bool {
		return strings.Contains(msg, "Rollout "+devApp+"/guestbook is paused at step 2 of 2")
	}
	eventually(t, 8*time.Minute, "dev Suspended at 1.1.0, its Ticket waiting and saying why", func() (bool, string) {
		tk := w.tickets()["dev"]
		commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
		sync, rev, health := w.appState(devApp)
		phase, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "phase")
		s, _, msg := condition(tk, "Ready")
		ok := ticketTag(tk, "status", "atProvider", "change") == "1.1.0" && commit != "" &&
			sync == "Synced" && rev == commit && health == "Suspended" &&
			phase == "Progressing" && s == "False" && paused(msg)
		return ok, fmt.Sprintf("%s: %s at %s, %s; Ticket %s, Ready %s: %s", devApp, sync, rev, health, phase, s, msg)
	})
	eventually(t, 3*time.Minute, "the Track's Promoted condition says dev waits for its paused Rollout", func() (bool, string) {
		s, r, msg := condition(w.track(), "Promoted")
		return s == "False" && strings.HasPrefix(msg, "dev: ") && paused(msg), fmt.Sprintf("Promoted %s (%s): %s", s, r, msg)
	})
	// Waiting is not failing, and nothing moves on.
	w.holdsStill(20*time.Second, held, intS)
	tk := w.tickets()["dev"]
	if phase, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "phase"); phase != "Progressing" {
		t.Errorf("dev Ticket: phase %s while its Rollout is paused, want Progressing", phase)
	}
	if v, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "verifiedAt"); v != "" {
		t.Errorf("dev Ticket: verified at %s while its Rollout is paused", v)
	}

	oldInt := held[intS.path].head
	w.promote(devApp)
	promoted := time.Now()
	var devReady, intPushed time.Time
	eventually(t, 5*time.Minute, "dev Ready for 1.1.0 and int pushed", func() (bool, string) {
		tks := w.tickets()
		if devReady.IsZero() && readyFor(tks["dev"], "1.1.0") {
			devReady = time.Now()
		}
		if intPushed.IsZero() && w.git.Head(t, w.repo, intS.branch) != oldInt {
			intPushed = time.Now()
		}
		return !devReady.IsZero() && !intPushed.IsZero(), "dev " + ticketTag(tks["dev"], "status", "atProvider", "change")
	})
	t.Logf("MEASURED: Rollout promoted → dev Ticket Ready: %v; → int pushed: %v", devReady.Sub(promoted), intPushed.Sub(promoted))
	w.waitAllReady("1.1.0")
}
