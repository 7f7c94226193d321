//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A canary whose analysis fails at int halts the Track there. 1.1.0 passes
// dev; at int the quality endpoint reports a 50% error rate for it, so Argo
// Rollouts aborts both int Rollouts (their stable ReplicaSets keep running
// 1.0.0), real Argo CD reports both int Applications Degraded, and the int
// Ticket and the Track's Promoted condition say why in Argo Rollouts' own
// words: the Rollout and the failing metric. us and eu keep 1.0.0 and their
// rendered branch heads. Then 1.2.0, which passes, flows through to the end.
func TestCanaryFailingItsAnalysisHaltsTheTrack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old := w.push("1.0.0")
	w.install()
	byPath := w.stationsByPath()
	dev, intS := byPath["dev"], byPath["int"]
	later := []station{byPath["regions.guestbook-us.us"], byPath["regions.guestbook-eu.eu"]}
	w.waitAllReady("1.0.0")
	held := map[string]frozen{}
	for _, s := range later {
		held[s.path] = w.freeze(s)
	}

	bad := w.push("1.1.0")
	w.setQuality("int", bad, "fail")
	w.notifyRegistryPush("1.1.0")

	eventually(t, 8*time.Minute, "dev Ready for 1.1.0", func() (bool, string) {
		tk := w.tickets()["dev"]
		return readyFor(tk, "1.1.0"), "dev holds " + ticketTag(tk, "spec", "forProvider", "change")
	})
	w.checkDelivered(dev, w.image+"@"+bad)

	// int takes it, and its canaries fail their analysis.
	eventually(t, 8*time.Minute, "int's Applications Degraded at 1.1.0's rendered commit", func() (bool, string) {
		tk := w.tickets()["int"]
		commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
		if ticketTag(tk, "status", "atProvider", "change") != "1.1.0" || commit == "" {
			return false, "int holds " + ticketTag(tk, "status", "atProvider", "change")
		}
		var why []string
		for _, a := range intS.apps {
			sync, rev, health := w.appState(a)
			if sync != "Synced" || rev != commit || health != "Degraded" {
				why = append(why, fmt.Sprintf("%s: %s at %s, %s", a, sync, rev, health))
			}
		}
		return len(why) == 0, strings.Join(why, "; ")
	})
	var failedAt time.Time
	for _, a := range intS.apps {
		r := w.rollout(a)
		aborted, _, _ := unstructured.NestedBool(r.Object, "status", "abort")
		phase, _, _ := unstructured.NestedString(r.Object, "status", "phase")
		if !aborted || phase != "Degraded" {
			t.Errorf("Rollout %s/guestbook: abort %v, phase %s; want aborted, Degraded", a, aborted, phase)
		}
		eventually(t, time.Minute, a+": the stable ReplicaSet still runs 1.0.0", func() (bool, string) {
			return w.stableRuns(a, w.image+"@"+old)
		})
		at, ok := w.failedAnalysis(a)
		if !ok {
			t.Errorf("%s: no failed AnalysisRun", a)
		}
		if at.After(failedAt) {
			failedAt = at
		}
	}

	// The Ticket and the Track say why, in Argo Rollouts' words.
	because := func(msg string) bool {
		ok := strings.Contains(msg, `Metric "error-rate" assessed Failed`) && strings.Contains(msg, "RolloutAborted")
		for _, a := range intS.apps {
			ok = ok && strings.Contains(msg, a) && strings.Contains(msg, "Rollout "+a+"/guestbook")
		}
		return ok
	}
	eventually(t, 3*time.Minute, "the int Ticket Failed, naming its Applications, Rollouts and the metric", func() (bool, string) {
		tk := w.tickets()["int"]
		phase, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "phase")
		s, _, msg := condition(tk, "Ready")
		return phase == "Failed" && s == "False" && because(msg), fmt.Sprintf("phase %s, Ready %s: %s", phase, s, msg)
	})
	eventually(t, 3*time.Minute, "the Track's Promoted condition halted at int, saying why", func() (bool, string) {
		s, r, msg := condition(w.track(), "Promoted")
		return s == "False" && r == "Halted" && strings.HasPrefix(msg, "int: ") && because(msg), fmt.Sprintf("Promoted %s (%s): %s", s, r, msg)
	})
	t.Logf("MEASURED: analysis failed → the Track's Promoted condition names it: %v", time.Since(failedAt).Round(10*time.Millisecond))
	_, _, msg := condition(w.track(), "Promoted")
	t.Logf("Track guestbook: Promoted: %s", msg)

	// The stations after int keep their change and their branch heads.
	w.holdsStill(45*time.Second, held, later...)
	for _, s := range later {
		if mf := string(w.git.Files(t, w.repo, s.branch)["manifests.yaml"]); strings.Contains(mf, bad) {
			t.Errorf("%s: %s holds the failing image:\n%s", s.path, s.branch, mf)
		}
		for _, a := range s.apps {
			if ok, why := w.stableRuns(a, w.image+"@"+old); !ok {
				t.Errorf("%s: %s", s.path, why)
			}
		}
	}
	tr := w.track()
	ss, _, _ := unstructured.NestedSlice(tr.Object, "status", "stations")
	for _, x := range ss {
		m, _ := x.(map[string]any)
		p, _ := m["path"].(string)
		if h, ok := held[p]; ok && m["change"] != h.change {
			t.Errorf("Track status.stations: %s holds %v, want its old %s", p, m["change"], h.change)
		}
		if p == "int" && m["phase"] != "Failed" {
			t.Errorf("Track status.stations: int is %v, want Failed", m["phase"])
		}
	}

	// A passing change overtakes the failed one and reaches every station.
	good := w.push("1.2.0")
	w.notifyRegistryPush("1.2.0")
	w.waitAllReady("1.2.0")
	for _, s := range w.stations() {
		w.checkDelivered(s, w.image+"@"+good)
		for _, a := range s.apps {
			eventually(t, time.Minute, a+": the stable ReplicaSet runs 1.2.0", func() (bool, string) {
				return w.stableRuns(a, w.image+"@"+good)
			})
		}
	}
}
