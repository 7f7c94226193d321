package ticket

import (
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
)

// An Application that did not authorize the Track, or that deploys another
// repository or branch, is never patched, and nothing is rendered: the
// Ticket says which Application and what to set.
func TestTicketNeverPatchesAnApplicationItMayNotSync(t *testing.T) {
	cases := map[string]struct {
		mutate func(f *fixture) func(*unstructured.Unstructured)
		want   []string // APP stands for the Application's namespace/name
		// problem is status.atProvider.blockedOn.problem, blocked on
		// applications[0]; {APP} is the Application, {TRACK} the Track and
		// {URL} the repository.
		problem string
	}{
		"NoAnnotation": {
			mutate: func(*fixture) func(*unstructured.Unstructured) {
				return func(u *unstructured.Unstructured) { u.SetAnnotations(nil) }
			},
			want:    []string{"APP", argocd.AuthorizedTracksAnnotation},
			problem: "Application {APP} does not authorize track {TRACK}: add {TRACK} to its annotation k8sta.io/authorized-tracks",
		},
		"AnotherTrack": {
			mutate: func(*fixture) func(*unstructured.Unstructured) {
				return func(u *unstructured.Unstructured) {
					u.SetAnnotations(map[string]string{argocd.AuthorizedTracksAnnotation: "team-x/guestbook"})
				}
			},
			want:    []string{"APP", argocd.AuthorizedTracksAnnotation},
			problem: "Application {APP} does not authorize track {TRACK}: add {TRACK} to its annotation k8sta.io/authorized-tracks",
		},
		"AnotherRepository": {
			mutate: func(*fixture) func(*unstructured.Unstructured) {
				return func(u *unstructured.Unstructured) {
					_ = unstructured.SetNestedField(u.Object, "https://git.example.com/acme/other.git", "spec", "source", "repoURL")
				}
			},
			want:    []string{"APP", "repoURL"},
			problem: "Application {APP} tracks https://git.example.com/acme/other.git at env/dev: set spec.source.repoURL to {URL} and spec.source.targetRevision to env/dev",
		},
		"AnotherBranch": {
			mutate: func(*fixture) func(*unstructured.Unstructured) {
				return func(u *unstructured.Unstructured) {
					_ = unstructured.SetNestedField(u.Object, "env/prod", "spec", "source", "targetRevision")
				}
			},
			want:    []string{"APP", "targetRevision", "env/dev"},
			problem: "Application {APP} tracks {URL} at env/prod: set spec.source.targetRevision to env/dev",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			before := f.application("guestbook-dev", "env/dev", tc.mutate(f))
			tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
			key := client.ObjectKeyFromObject(tk)

			eventually(t, "phase Blocked", func() (bool, string) {
				tk := getTicket(t, key)
				return tk.Status.AtProvider.Phase == v1alpha1.PhaseBlocked, tk.Status.AtProvider.Phase
			})
			c := condition(getTicket(t, key), xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse {
				t.Errorf("Ready = %s, want False", c.Status)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "APP", f.argoNS+"/guestbook-dev")
				if !strings.Contains(c.Message, w) {
					t.Errorf("Ready message %q does not name %q", c.Message, w)
				}
			}
			want := &v1alpha1.BlockedOn{Field: "applications[0]", Problem: strings.NewReplacer(
				"{APP}", f.argoNS+"/guestbook-dev", "{TRACK}", f.track(), "{URL}", f.url()).Replace(tc.problem)}
			if diff := cmp.Diff(want, getTicket(t, key).Status.AtProvider.BlockedOn); diff != "" {
				t.Errorf("status.atProvider.blockedOn: -want, +got:\n%s", diff)
			}
			requestReconcile(t, key, "again")
			after := f.app("guestbook-dev")
			if after.GetResourceVersion() != before.GetResourceVersion() {
				t.Errorf("Application was modified: %v", after.Object)
			}
			if f.branchExists("env/dev") {
				t.Error("the rendered branch was pushed")
			}
		})
	}
}
