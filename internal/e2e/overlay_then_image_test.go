//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// An overlay-only commit stays at its station when the next image comes:
// after a commit to overlays/int alone, a new image moves dev → int → us
// and eu as usual, int renders it from its overlay commit (its overlay
// change kept), and dev, us and eu render it from the base commit, without
// int's overlay.
func TestOverlayCommitSurvivesTheNextImage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.installWith("1.0.0")
	base := specChange(w.tickets()["dev"], "commit")

	overlay := w.git.Commit(t, w.repo, "main", map[string][]byte{
		"overlays/int/kustomization.yaml": []byte(`resources:
- ../../base
labels:
- pairs: {station: int}
patches:
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: guestbook
    data:
      tier: integration
`),
	}, "int: name the tier")
	w.notifyGitPush(overlay)
	eventually(t, 8*time.Minute, "int Ready for the overlays/int commit", func() (bool, string) {
		tk := w.tickets()["int"]
		return readyForCommit(tk, overlay, "1.0.0"), "int holds " + specChange(tk, "commit") + ", live " + liveChange(tk, "commit")
	})

	w.push("1.1.0")
	sent := w.notifyRegistryPush("1.1.0")
	eventually(t, 8*time.Minute, "every station Ready for 1.1.0", func() (bool, string) {
		return w.allReady("1.1.0")
	})
	t.Logf("MEASURED: webhook → every station Ready for 1.1.0: %v", time.Since(sent))
	tks := w.tickets()
	for _, s := range w.stations() {
		want := base
		if s.path == "int" {
			want = overlay
		}
		if !readyForCommit(tks[s.path], want, "1.1.0") {
			t.Errorf("%s: renders 1.1.0 from %s, want %s", s.path, liveChange(tks[s.path], "commit"), want)
		}
		if s.path == "int" {
			w.checkDelivered(s, "tier: integration", w.image+"@"+ticketImage(tks[s.path], "digest"))
			continue
		}
		w.checkDelivered(s, w.image+"@"+ticketImage(tks[s.path], "digest"))
		if m := string(w.git.Files(t, w.repo, s.branch)["manifests.yaml"]); strings.Contains(m, "tier: integration") {
			t.Errorf("%s: %s holds int's overlay:\n%s", s.path, s.branch, m)
		}
	}
}
