package subscription

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// On a config monorepo a Track follows its paths (spec.forProvider.git.paths)
// and its stations' overlays only: a commit to another app's directory is
// no change for it, and leaves its status alone; a commit to the
// shared base is.
func TestSubscriptionFollowsOnlyItsPaths(t *testing.T) {
	f := newFixture(t)
	f.git.Commit(t, f.repo, "main", map[string][]byte{
		"apps/a/overlays/dev/kustomization.yaml": []byte("resources: [../../../../base]\n"),
		"apps/b/overlays/dev/kustomization.yaml": []byte("resources: [../../../../base]\n"),
	}, "apps a and b")
	f.push("1.2.0")
	key := f.subscription(func(p *v1alpha1.SubscriptionParameters) {
		p.Git = &v1alpha1.GitSubscription{Paths: []v1alpha1.RepoPath{"base/", "apps/a/"}}
		p.Overlays = []v1alpha1.StationOverlay{{Station: "dev", Overlay: "apps/a/overlays/dev"}}
	})
	eventually(t, "the first change", func() (bool, string) { return newest(t, key) != nil, "none" })
	first := newest(t, key)

	other := f.git.Commit(t, f.repo, "main", map[string][]byte{"apps/b/overlays/dev/replicas.yaml": []byte("replicas: 3\n")}, "app b: replicas")
	pollNow(t, key, "other-app")
	got := get(t, key).Status.AtProvider
	if got.Newest.ID != first.ID {
		t.Errorf("a commit to another app's directory changed the newest change: %s → %s (commit %s)", first.ID, got.Newest.ID, got.Newest.Commit)
	}
	if len(got.OverlayChanges) != 0 {
		t.Errorf("a commit to another app's directory became overlay changes: %+v", got.OverlayChanges)
	}
	if r := revision(got, f.git.URL(f.repo)); r != first.Commit {
		t.Errorf("source branch revision = %q, want %s, the head seen before the skipped commit %s: a commit that is not the Track's changes nothing in its status, whose every write wakes the Track", r, first.Commit, other)
	}

	overlay := f.git.Commit(t, f.repo, "main", map[string][]byte{
		"apps/a/overlays/dev/replicas.yaml": []byte("replicas: 2\n"),
		"apps/b/overlays/dev/replicas.yaml": []byte("replicas: 4\n"),
	}, "apps a and b: replicas")
	pollNow(t, key, "own-overlay")
	got = get(t, key).Status.AtProvider
	if got.Newest.ID != first.ID {
		t.Errorf("a commit to this Track's overlay and another app changed the newest change: %s → %s", first.ID, got.Newest.ID)
	}
	if diff := cmp.Diff([]v1alpha1.OverlayChange{{Commit: overlay, BaseCommit: first.Commit, Stations: []string{"dev"}}}, got.OverlayChanges,
		cmpopts.IgnoreFields(v1alpha1.OverlayChange{}, "DiscoveredAt")); diff != "" {
		t.Errorf("overlayChanges: -want +got:\n%s", diff)
	}

	base := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/configmap.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: guestbook}\ndata: {greeting: hi}\n")}, "base: greeting")
	pollNow(t, key, "base")
	if n := newest(t, key); n.Commit != base || n.ID == first.ID {
		t.Errorf("newest = %+v, want a new change on base commit %s", n, base)
	}
}

func revision(at v1alpha1.SubscriptionObservation, source string) string {
	for _, s := range at.Sources {
		if s.Source == source {
			return s.Revision
		}
	}
	return ""
}
