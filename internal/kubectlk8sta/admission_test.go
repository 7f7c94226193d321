package kubectlk8sta

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// TestAdmissionPolicyNamesWhoDecided runs cluster/admission/controls.yaml
// (applied by TestMain) in the real apiserver: an Approval, Freeze or Pin
// whose spec.by is not the user the apiserver authenticated is refused on
// create and on an update of its spec; an update of its labels alone is not.
func TestAdmissionPolicyNamesWhoDecided(t *testing.T) {
	ns := namespace(t)
	kinds := map[string]func(name, by string) client.Object{
		"Approval": func(name, by string) client.Object {
			return &v1alpha1.Approval{ObjectMeta: objectMeta(ns, name), Spec: v1alpha1.ApprovalSpec{Track: "guestbook", Station: "prod", Change: c3, By: by}}
		},
		"Freeze": func(name, by string) client.Object {
			return &v1alpha1.Freeze{ObjectMeta: objectMeta(ns, name), Spec: v1alpha1.FreezeSpec{Track: "guestbook", By: by}}
		},
		"Pin": func(name, by string) client.Object {
			return &v1alpha1.Pin{ObjectMeta: objectMeta(ns, name), Spec: v1alpha1.PinSpec{Track: "guestbook", Station: "prod", Change: c2, By: by}}
		},
	}
	// setBy and setReason change an object's spec.by, and another field of
	// its spec.
	setBy := func(o client.Object, by string) {
		switch c := o.(type) {
		case *v1alpha1.Approval:
			c.Spec.By = by
		case *v1alpha1.Freeze:
			c.Spec.By = by
		case *v1alpha1.Pin:
			c.Spec.By = by
		}
	}
	changeSpec := func(o client.Object) {
		switch c := o.(type) {
		case *v1alpha1.Approval:
			c.Spec.Change = c4
		case *v1alpha1.Freeze:
			c.Spec.Reason = "incident"
		case *v1alpha1.Pin:
			c.Spec.Reason = "incident"
		}
	}
	ctx := context.Background()
	alice, bob := as(t, "alice"), as(t, "bob")
	for kind, obj := range kinds {
		t.Run(kind, func(t *testing.T) {
			name := strings.ToLower(kind)
			cases := []struct {
				what    string
				do      func() error
				wantErr string
			}{
				{"CreateNamingAnother", func() error { return alice.Create(ctx, obj(name, "bob")) },
					"spec.by must be alice, the user the API server authenticated, not bob: set it to your user name (kubectl k8sta does)"},
				{"CreateNamingNobody", func() error { return alice.Create(ctx, obj(name, "")) },
					"spec.by must be alice, the user the API server authenticated, not empty: set it to your user name (kubectl k8sta does)"},
				{"CreateNamingSelf", func() error { return alice.Create(ctx, obj(name, "alice")) }, ""},
				{"UpdateSpecLeavingAnother", func() error {
					o := obj(name, "")
					if err := bob.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
						return err
					}
					changeSpec(o)
					return bob.Update(ctx, o)
				}, "spec.by must be bob, the user the API server authenticated, not alice: set it to your user name (kubectl k8sta does)"},
				{"UpdateLabelsOnly", func() error {
					o := obj(name, "")
					if err := bob.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
						return err
					}
					o.SetLabels(map[string]string{"team": "a"})
					return bob.Update(ctx, o)
				}, ""},
				{"UpdateSpecNamingSelf", func() error {
					o := obj(name, "")
					if err := bob.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
						return err
					}
					changeSpec(o)
					setBy(o, "bob")
					return bob.Update(ctx, o)
				}, ""},
			}
			// In order: each update acts on what the create left.
			for _, tc := range cases {
				err := tc.do()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s: want no error, got %v", tc.what, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s: want an error containing %q, got %v", tc.what, tc.wantErr, err)
				}
			}
		})
	}
}

// TestApproverRole binds cluster/rbac/approver-role.yaml to a group in a
// namespace and runs kubectl k8sta as one of its members on the real
// apiserver: she may read the Track and approve, and is refused freezing,
// pinning and editing the Track.
func TestApproverRole(t *testing.T) {
	ns := namespace(t)
	linear(t, ns)
	ctx := context.Background()
	admin := as(t, "k8sta-test-admin")
	role := &rbacv1.ClusterRole{}
	b := mustRead(t, filepath.Join("..", "..", "cluster", "rbac", "approver-role.yaml"))
	if err := yaml.Unmarshal(b, role); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(ctx, role) })
	if err := admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: objectMeta(ns, "guestbook-approvers"),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "release-managers"}},
	}); err != nil {
		t.Fatal(err)
	}
	carol := []string{"release-managers"}

	// The apiserver's authorizer learns of the binding from its cache.
	kubeenv.Eventually(t, "the approver role to be in force", func() (bool, string) {
		err := as(t, "carol", carol...).Get(ctx, client.ObjectKey{Namespace: ns, Name: "nothing"}, &v1alpha1.Approval{})
		return kerrors.IsNotFound(err), errString(err)
	})
	out, err := runWith(t, Options{}, "carol", carol, "approve", "guestbook", "prod", "-n", ns)
	if err != nil {
		t.Fatalf("approve as an approver: %v", err)
	}
	if want := "approved change 3c3c3c3c3c3c (v1.2.3) for station prod of Track guestbook by carol; the Track lets it in at once\n"; out != want {
		t.Errorf("approve as an approver: want %q, got %q", want, out)
	}
	want := []control{{Kind: "Approval", Name: "guestbook-prod", Labels: labels("guestbook"), Track: "guestbook", Station: "prod", Change: c3, By: "carol"}}
	if diff := cmp.Diff(want, controlsIn(t, ns)); diff != "" {
		t.Errorf("controls after approve: -want +got:\n%s", diff)
	}

	// She reads the Track, not its Tickets: dev's change, known only from
	// its Ticket, shows by id.
	if out, err := runWith(t, Options{}, "carol", carol, "status", "guestbook", "-n", ns); err != nil || !strings.Contains(out, "dev      4d4d4d4d4d4d  4d4d4d4d4d4d  Delivering") {
		t.Errorf("status as an approver: want dev's change by id, got %v:\n%s", err, out)
	}

	for _, args := range [][]string{{"freeze", "guestbook"}, {"pin", "guestbook", "prod"}, {"rollback", "guestbook", "prod"}} {
		_, err := runWith(t, Options{}, "carol", carol, append(args, "-n", ns)...)
		if err == nil || !strings.Contains(err.Error(), `is forbidden: User "carol" cannot get resource`) {
			t.Errorf("%s as an approver: want forbidden, got %v", args[0], err)
		}
	}
	track := &unstructured.Unstructured{}
	track.SetGroupVersionKind(TrackGroupVersionKind)
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, track); err != nil {
		t.Fatal(err)
	}
	track.SetLabels(map[string]string{"edited": "by-carol"})
	if err := as(t, "carol", carol...).Update(ctx, track); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("an approver edits the Track: want forbidden, got %v", err)
	}
	if diff := cmp.Diff(want, controlsIn(t, ns)); diff != "" {
		t.Errorf("controls after refused commands: -want +got:\n%s", diff)
	}
}
