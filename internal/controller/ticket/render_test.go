package ticket

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/render"
)

// A Ticket renders its overlay at the change's commit with the change's
// images, pushes it to the rendered branch, and asks Argo CD to sync exactly
// that commit.
func TestTicketRendersPushesAndSyncsTheRenderedCommit(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	c := change(f.source, "1.2.3")
	tk := f.ticket("guestbook-dev", c, "guestbook-dev")

	var op map[string]any
	eventually(t, "an operation on guestbook-dev", func() (bool, string) {
		op, _, _ = unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
		return op != nil, "no operation yet"
	})

	head := f.git.Head(t, f.repo, "env/dev")
	want := map[string]any{
		"initiatedBy": map[string]any{"username": "k8sta", "automated": true},
		"info":        []any{map[string]any{"name": "k8sta.io/ticket", "value": "guestbook-dev/" + c.ID}},
		"sync":        map[string]any{"revision": head, "syncOptions": []any{"CreateNamespace=true"}},
	}
	if diff := cmp.Diff(want, op); diff != "" {
		t.Errorf("operation: -want +got:\n%s", diff)
	}
	if got := f.app("guestbook-dev").GetAnnotations()["argocd.argoproj.io/refresh"]; got != "hard" {
		t.Errorf("refresh annotation = %q, want hard", got)
	}

	files := f.git.Files(t, f.repo, "env/dev")
	if !strings.Contains(string(files["manifests.yaml"]), "image: ghcr.io/acme/guestbook:1.2.3") {
		t.Errorf("manifests.yaml does not set the change's image:\n%s", files["manifests.yaml"])
	}
	rec, err := render.ParseRecord(files[render.RecordPath])
	must(t, err)
	if diff := cmp.Diff(render.Record{
		Track: f.track(), Station: "dev", Overlay: "overlays/dev",
		Change: v1alpha1.Change{ID: c.ID, Commit: f.source, Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.3"}}},
	}, rec); diff != "" {
		t.Errorf("%s: -want +got:\n%s", render.RecordPath, diff)
	}
	if msg := f.git.Log(t, f.repo, "env/dev")[0]; !render.IsOwnCommit(msg) {
		t.Errorf("rendered commit is not marked as K8sTA's own: %q", msg)
	}

	eventually(t, "status.atProvider.renderedCommit", func() (bool, string) {
		got := getTicket(t, client.ObjectKeyFromObject(tk)).Status.AtProvider
		return got.RenderedCommit == head && got.Change != nil && got.Change.ID == c.ID, got.RenderedCommit
	})
}
