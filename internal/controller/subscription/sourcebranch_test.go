package subscription

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/render"
)

// Source-branch commits are sorted by what they touch: a base commit is a
// new change for station 1, an overlay-only commit goes to its stations
// alone, and K8sTA's own commits are never mistaken for a human's.
func TestSubscriptionClassifiesSourceBranchCommits(t *testing.T) {
	f := newFixture(t)
	f.push("1.2.0")
	key := f.subscription(nil)
	eventually(t, "the first change", func() (bool, string) { return newest(t, key) != nil, "none" })
	first := newest(t, key)

	overlay := f.git.Commit(t, f.repo, "main", map[string][]byte{"overlays/prod/note.txt": []byte("prod only\n")}, "prod: note")
	pollNow(t, key, "overlay")
	got := get(t, key).Status.AtProvider
	if got.Newest.ID != first.ID {
		t.Errorf("an overlay-only commit changed the newest change: %s → %s", first.ID, got.Newest.ID)
	}
	if diff := cmp.Diff([]v1alpha1.OverlayChange{{Commit: overlay, BaseCommit: first.Commit, Stations: []string{"prod"}}}, got.OverlayChanges,
		cmpopts.IgnoreFields(v1alpha1.OverlayChange{}, "DiscoveredAt")); diff != "" {
		t.Errorf("overlayChanges: -want +got:\n%s", diff)
	}

	own := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/extra.yaml": []byte("# by k8sta\n")},
		render.CommitMessage(render.Record{Station: "dev", Change: v1alpha1.Change{ID: "abc", Commit: overlay}}))
	pollNow(t, key, "own")
	if n := newest(t, key); n.ID != first.ID {
		t.Errorf("K8sTA's own commit %s became a change: %+v", own, n)
	}

	base := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/configmap.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: guestbook}\ndata: {greeting: hi}\n")}, "base: greeting")
	pollNow(t, key, "base")
	n := newest(t, key)
	if n.Commit != base || n.ID == first.ID {
		t.Errorf("newest = %+v, want a new change on base commit %s", n, base)
	}
	if diff := cmp.Diff(first.Images, n.Images); diff != "" {
		t.Errorf("a base commit changed the images: -before +after:\n%s", diff)
	}
}
