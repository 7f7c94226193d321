//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A source-branch commit to the base, announced by GitHub's push webhook,
// progresses like an image: dev → int → us and eu, each station taken only
// after the one before it verified the change, every Application Synced to
// its rendered commit and Healthy, every rendered branch holding the
// change. A later commit to overlays/eu alone reaches eu alone: dev, int
// and us keep their change and their rendered branches do not move.
func TestSourceCommitPromotesThroughTheTrack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.installWith("1.0.0")
	stations := w.stations()
	byPath := w.stationsByPath()

	// A commit to the base: every station must render it.
	base := w.git.Commit(t, w.repo, "main", map[string][]byte{
		"base/configmap.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata:\n  greeting: hola\n"),
	}, "base: greet in Spanish")
	sent := w.notifyGitPush(base)

	// The station before each one, in the Track's order.
	prev := map[string]string{"int": "dev", "regions.guestbook-us.us": "int", "regions.guestbook-eu.eu": "int"}
	verified := map[string]bool{}
	var ready time.Time
	eventually(t, 8*time.Minute, "every station Ready for the base commit", func() (bool, string) {
		tks := w.tickets()
		var waiting []string
		for _, s := range stations {
			tk := tks[s.path]
			// A station is given the change only once the one before it
			// verified it.
			if p, ok := prev[s.path]; ok && specChange(tk, "commit") == base && !verified[p] && !readyForCommit(tks[p], base, "1.0.0") {
				t.Fatalf("%s was given the base commit before %s verified it: %s holds %s (%s)",
					s.path, p, p, specChange(tks[p], "commit"), liveChange(tks[p], "commit"))
			}
			if readyForCommit(tk, base, "1.0.0") {
				verified[s.path] = true
			} else {
				waiting = append(waiting, s.path)
			}
		}
		return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
	})
	ready = time.Now()
	t.Logf("MEASURED: git push webhook → every station Ready for the base commit: %v", ready.Sub(sent))

	held := map[string]frozen{}
	for _, s := range stations {
		// The base commit keeps the images the stations had.
		if tag := ticketTag(w.tickets()[s.path], "status", "atProvider", "change"); tag != "1.0.0" {
			t.Errorf("%s: the base commit's change sets image tag %q, want the current 1.0.0", s.path, tag)
		}
		w.checkDelivered(s, "greeting: hola", w.image+"@")
		held[s.path] = w.freeze(s)
	}
	if t.Failed() {
		t.FailNow()
	}

	// A commit to overlays/eu alone.
	eu := byPath["regions.guestbook-eu.eu"]
	overlay := w.git.Commit(t, w.repo, "main", map[string][]byte{
		"overlays/eu/kustomization.yaml": []byte(`resources:
- ../../base
labels:
- pairs: {station: eu}
patches:
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: guestbook
    data:
      region: europe
`),
	}, "eu: name the region")
	sent = w.notifyGitPush(overlay)
	eventually(t, 8*time.Minute, "eu Ready for the overlays/eu commit", func() (bool, string) {
		tk := w.tickets()[eu.path]
		return readyForCommit(tk, overlay, "1.0.0"), "eu holds " + specChange(tk, "commit") + ", live " + liveChange(tk, "commit")
	})
	t.Logf("MEASURED: git push webhook → eu Ready for its overlay commit: %v", time.Since(sent))
	w.checkDelivered(eu, "region: europe", "greeting: hola", w.image+"@")

	// The Subscription classified the commit as eu's alone, and kept the
	// base commit as the newest change for station 1.
	sub := w.subscription()
	if c, _, _ := unstructured.NestedString(sub.Object, "status", "atProvider", "newest", "commit"); c != base {
		t.Errorf("Subscription: newest change renders %s, want the base commit %s", c, base)
	}
	ocs, _, _ := unstructured.NestedSlice(sub.Object, "status", "atProvider", "overlayChanges")
	found := false
	for _, o := range ocs {
		m, _ := o.(map[string]any)
		if m["commit"] != overlay {
			continue
		}
		found = true
		st, _, _ := unstructured.NestedStringSlice(m, "stations")
		if !slices.Equal(st, []string{eu.path}) || m["baseCommit"] != base {
			t.Errorf("Subscription: overlay change %v, want stations [%s] on base %s", m, eu.path, base)
		}
	}
	if !found {
		t.Errorf("Subscription: no overlay change for %s in %v", overlay, ocs)
	}

	// dev, int and us keep the base commit's change, and their rendered
	// branches stay where they were, through at least two more polls of the
	// source branch.
	var others []station
	for _, s := range stations {
		if s.path != eu.path {
			others = append(others, s)
		}
	}
	w.holdsStill(75*time.Second, held, others...)
	tks := w.tickets()
	for _, s := range others {
		if !readyForCommit(tks[s.path], base, "1.0.0") {
			t.Errorf("%s: no longer Ready for the base commit: holds %s", s.path, specChange(tks[s.path], "commit"))
		}
		if m := string(w.git.Files(t, w.repo, s.branch)["manifests.yaml"]); strings.Contains(m, "region: europe") {
			t.Errorf("%s: %s holds eu's overlay:\n%s", s.path, s.branch, m)
		}
	}
	// The Track reports every station on its own change.
	eventually(t, 3*time.Minute, "the Track's status.stations", func() (bool, string) {
		tr, err := st.kube.Resource(trackGVR).Namespace(w.ns).Get(context.Background(), "guestbook", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ss, _, _ := unstructured.NestedSlice(tr.Object, "status", "stations")
		var wrong []string
		for _, x := range ss {
			m, _ := x.(map[string]any)
			p, _ := m["path"].(string)
			want := held[p].change
			if p == eu.path {
				want = specChange(tks[p], "id")
			}
			if m["change"] != want {
				wrong = append(wrong, fmt.Sprintf("%s holds %v, want %s", p, m["change"], want))
			}
		}
		if len(ss) != len(stations) {
			wrong = append(wrong, fmt.Sprintf("%d stations, want %d", len(ss), len(stations)))
		}
		return len(wrong) == 0, strings.Join(wrong, "; ")
	})
}
