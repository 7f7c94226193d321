//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A failing rollout halts the Track. int's overlay runs every Deployment
// labelled tier=worker with one replica, and no kubelet runs here, so such
// a Deployment never becomes available. A base commit that makes the
// guestbook a worker and changes its pod template passes dev (no replicas
// there) and reaches int, where the real kube-controller-manager gives up
// after progressDeadlineSeconds and real Argo CD turns both int
// Applications Degraded. The int Ticket reports each Application, the
// Track's Promoted condition names int and the Applications and is not
// True, and us and eu keep their old change: no new change in their
// Tickets, no new commit on their rendered branches.
func TestFailingRolloutHaltsTheTrack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Before the Track exists: part of the first change everywhere, and
	// harmless while no Deployment is a worker.
	w.git.Commit(t, w.repo, "main", map[string][]byte{
		"overlays/int/kustomization.yaml": []byte(`resources:
- ../../base
labels:
- pairs: {station: int}
patches:
- target: {kind: Deployment, labelSelector: tier=worker}
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 1
`),
	}, "int: run workers with one replica")
	w.push("1.0.0")
	w.install()
	byPath := w.stationsByPath()
	dev, intS := byPath["dev"], byPath["int"]
	later := []station{byPath["regions.guestbook-us.us"], byPath["regions.guestbook-eu.eu"]}
	w.waitAllReady("1.0.0")
	held := map[string]frozen{}
	for _, s := range later {
		held[s.path] = w.freeze(s)
	}
	oldInt := w.freeze(intS)

	base := w.git.Commit(t, w.repo, "main", map[string][]byte{
		"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
  labels: {tier: worker}
spec:
  replicas: 0
  progressDeadlineSeconds: 15
  selector: {matchLabels: {app: guestbook}}
  template:
    metadata: {labels: {app: guestbook}}
    spec:
      containers:
      - name: guestbook
        image: ` + w.image + `:0.0.0
        env: [{name: GUESTBOOK_MODE, value: worker}]
`),
	}, "base: the guestbook is a worker")
	sent := w.notifyGitPush(base)

	// dev verifies the change: it is healthy where nothing has to run.
	eventually(t, 8*time.Minute, "dev Ready for the base commit", func() (bool, string) {
		tk := w.tickets()["dev"]
		return readyForCommit(tk, base, "1.0.0"), "dev holds " + specChange(tk, "commit")
	})
	w.checkDelivered(dev, "GUESTBOOK_MODE", "replicas: 0")

	// int takes it, and its rollout fails.
	eventually(t, 8*time.Minute, "int's Applications Degraded at the base commit", func() (bool, string) {
		tk := w.tickets()["int"]
		commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
		if specChange(tk, "commit") != base || liveChange(tk, "commit") != base || commit == "" {
			return false, "int holds " + specChange(tk, "commit") + ", live " + liveChange(tk, "commit")
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
	t.Logf("MEASURED: git push webhook → int Degraded: %v", time.Since(sent))
	m := string(w.git.Files(t, w.repo, intS.branch)["manifests.yaml"])
	if !strings.Contains(m, "replicas: 1") || !strings.Contains(m, "GUESTBOOK_MODE") {
		t.Errorf("int: %s does not hold the worker with one replica:\n%s", intS.branch, m)
	}
	// The real kube-controller-manager gave up on each rollout.
	for _, a := range intS.apps {
		d, err := st.kube.Resource(deploymentGVR).Namespace(a).Get(context.Background(), "guestbook", metav1.GetOptions{})
		must(t, err)
		if s, r, msg := condition(d, "Progressing"); s != "False" || r != "ProgressDeadlineExceeded" {
			t.Errorf("Deployment %s/guestbook: Progressing %s (%s: %s), want False (ProgressDeadlineExceeded)", a, s, r, msg)
		}
	}

	// The Ticket reports it, naming each Application.
	eventually(t, 3*time.Minute, "the int Ticket Failed, naming its Applications", func() (bool, string) {
		tk := w.tickets()["int"]
		phase, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "phase")
		s, _, msg := condition(tk, "Ready")
		ok := phase == "Failed" && s == "False"
		for _, a := range intS.apps {
			ok = ok && strings.Contains(msg, a) && strings.Contains(msg, "Degraded")
		}
		return ok, fmt.Sprintf("phase %s, Ready %s: %s", phase, s, msg)
	})

	// The Track halts at int, and says so.
	eventually(t, 3*time.Minute, "the Track's Promoted condition halted at int", func() (bool, string) {
		s, r, msg := condition(w.track(), "Promoted")
		ok := s == "False" && r == "Halted" && strings.HasPrefix(msg, "int: ") && strings.Contains(msg, "halted")
		for _, a := range intS.apps {
			ok = ok && strings.Contains(msg, a)
		}
		return ok, fmt.Sprintf("Promoted %s (%s): %s", s, r, msg)
	})
	_, _, msg := condition(w.track(), "Promoted")
	t.Logf("Track guestbook: Promoted: %s", msg)

	// The stations after int keep their old change, and int stays halted.
	w.holdsStill(75*time.Second, held, later...)
	tks := w.tickets()
	for _, s := range later {
		if !readyFor(tks[s.path], "1.0.0") || specChange(tks[s.path], "commit") == base {
			t.Errorf("%s: not Ready for its old change: holds %s", s.path, specChange(tks[s.path], "commit"))
		}
		if mf := string(w.git.Files(t, w.repo, s.branch)["manifests.yaml"]); strings.Contains(mf, "GUESTBOOK_MODE") {
			t.Errorf("%s: %s holds the failing change:\n%s", s.path, s.branch, mf)
		}
	}
	if head := w.git.Head(t, w.repo, intS.branch); head == oldInt.head {
		t.Errorf("int: rendered branch %s never moved from %s", intS.branch, head)
	}
	if s, r, _ := condition(w.track(), "Promoted"); s != "False" || r != "Halted" {
		t.Errorf("Track: Promoted %s (%s) after the observation window, want False (Halted)", s, r)
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
}
