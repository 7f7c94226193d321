package subscription

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A Subscription selects the newest image its policy allows from a real
// registry, records tag and digest, and renders it from the source branch's
// head; a newly pushed tag becomes a new change as soon as it is woken.
func TestSubscriptionFollowsNewImages(t *testing.T) {
	f := newFixture(t)
	f.push("1.0.0")
	d120 := f.push("1.2.0")
	f.push("2.0.0")
	f.push("1.3.0-rc.1")
	f.push("latest")
	key := f.subscription(nil)
	head := f.git.Head(t, f.repo, "main")

	eventually(t, "the first change", func() (bool, string) {
		n := newest(t, key)
		return n != nil, "none"
	})
	first := newest(t, key)
	want := []v1alpha1.Image{{Repository: f.image(), Tag: "1.2.0", Digest: d120}}
	if diff := cmp.Diff(want, first.Images); diff != "" {
		t.Errorf("images: -want +got:\n%s", diff)
	}
	if first.Commit != head || first.ID != v1alpha1.ChangeID(head, want) || first.DiscoveredAt == nil {
		t.Errorf("newest = %+v, want commit %s and the ID of commit and images", first, head)
	}

	d130 := f.push("1.3.0")
	poke(key)
	eventually(t, "a change with 1.3.0", func() (bool, string) {
		n := newest(t, key)
		return n.Images[0].Tag == "1.3.0", n.Images[0].Tag
	})
	n := newest(t, key)
	if n.Images[0].Digest != d130 || n.Commit != head || n.ID == first.ID {
		t.Errorf("newest = %+v, want 1.3.0@%s on %s with a new ID", n, d130, head)
	}
}
