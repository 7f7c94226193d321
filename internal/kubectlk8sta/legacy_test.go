package kubectlk8sta

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// TestLegacyClaim: a platform repository that still writes claims has its
// Track as a claim of the legacy XRD (legacy.k8sta.io), whose status
// Crossplane copies from its XTrack and whose Tickets carry the XTrack's
// name in their crossplane.io/composite label. kubectl k8sta shows and
// controls it by the claim's name as it does a Track: status prints what it
// prints for the same Track (dev's v1.2.4 is known only from its Ticket),
// and approve writes the Approval function-k8sta reads for the claim.
func TestLegacyClaim(t *testing.T) {
	ctx := context.Background()
	admin := as(t, "k8sta-test-admin")
	ns := namespace(t)
	linear(t, ns)
	want, err := run(t, "alice", "status", "guestbook", "-n", ns)
	if err != nil {
		t.Fatalf("status of the Track: %v", err)
	}
	wantJSON, err := run(t, "alice", "status", "guestbook", "-n", ns, "-o", "json")
	if err != nil {
		t.Fatalf("status -o json of the Track: %v", err)
	}

	// The same Track as a claim bound to XTrack guestbook-x7k2p, whose
	// Ticket dev is.
	track := &unstructured.Unstructured{}
	track.SetGroupVersionKind(TrackGroupVersionKind)
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, track); err != nil {
		t.Fatal(err)
	}
	if err := admin.Delete(ctx, track); err != nil {
		t.Fatal(err)
	}
	const xr = "guestbook-x7k2p"
	claim := &unstructured.Unstructured{Object: map[string]any{"spec": track.Object["spec"]}}
	claim.SetGroupVersionKind(LegacyTrackGroupVersionKind)
	claim.SetNamespace(ns)
	claim.SetName("guestbook")
	if err := unstructured.SetNestedMap(claim.Object, map[string]any{"apiVersion": "legacy.k8sta.io/v1alpha1", "kind": "XTrack", "name": xr}, "spec", "resourceRef"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, claim); err != nil {
		t.Fatalf("cannot create the claim: %v", err)
	}
	claim.Object["status"] = track.Object["status"]
	if err := admin.Status().Update(ctx, claim); err != nil {
		t.Fatalf("cannot write the claim's status: %v", err)
	}
	tk := &v1alpha1.Ticket{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: ControlName("guestbook", "dev")}, tk); err != nil {
		t.Fatal(err)
	}
	tk.Labels["crossplane.io/composite"] = xr
	if err := admin.Update(ctx, tk); err != nil {
		t.Fatal(err)
	}

	got, err := run(t, "alice", "status", "guestbook", "-n", ns)
	if err != nil {
		t.Fatalf("status of the claim: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status of the claim: -Track's +claim's:\n%s", diff)
	}
	gotJSON, err := run(t, "alice", "status", "guestbook", "-n", ns, "-o", "json")
	if err != nil {
		t.Fatalf("status -o json of the claim: %v", err)
	}
	if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
		t.Errorf("status -o json of the claim: -Track's +claim's:\n%s", diff)
	}

	if _, err := run(t, "alice", "approve", "guestbook", "prod", "-n", ns); err != nil {
		t.Fatalf("approve prod of the claim: %v", err)
	}
	wantControls := []control{{Kind: "Approval", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c3, By: "alice"}}
	if diff := cmp.Diff(wantControls, controlsIn(t, ns)); diff != "" {
		t.Errorf("controls after approve: -want +got:\n%s", diff)
	}
}
