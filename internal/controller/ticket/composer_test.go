package ticket

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// The provider acts on a Ticket only when the Track it names composed it: a
// controller reference to that Track XR, which exists now with that UID (or
// to a Track whose junctions lead to the section the Ticket names, or to a
// legacy XTrack whose claim is that Track). A Ticket written by hand is
// never rendered and never synced, and says why.
func TestTicketActsOnlyWhenItsTrackComposedIt(t *testing.T) {
	cases := map[string]struct {
		// owner returns the Ticket's owner references.
		owner func(t *testing.T, f *fixture) []metav1.OwnerReference
		// want is what the Ready condition says; nil: the Ticket delivers.
		want []string
	}{
		"HandMade": {
			owner: func(*testing.T, *fixture) []metav1.OwnerReference { return nil },
			want:  []string{"has no controlling Track (metadata.ownerReferences)", "Track NS/guestbook composes"},
		},
		"ForgedUID": {
			owner: func(_ *testing.T, f *fixture) []metav1.OwnerReference {
				r := f.owner
				r.UID = "00000000-0000-0000-0000-000000000000"
				return []metav1.OwnerReference{r}
			},
			want: []string{"is controlled by Track guestbook with uid 00000000-0000-0000-0000-000000000000, but that Track has uid"},
		},
		"NotAController": {
			// Only a controller reference counts.
			owner: func(_ *testing.T, f *fixture) []metav1.OwnerReference {
				r := f.owner
				r.Controller = nil
				return []metav1.OwnerReference{r}
			},
			want: []string{"has no controlling Track"},
		},
		"NotATrack": {
			owner: func(t *testing.T, f *fixture) []metav1.OwnerReference {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "guestbook"}}
				must(t, kube.Create(context.Background(), cm))
				return []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, Controller: ptr(true)}}
			},
			want: []string{"is controlled by ConfigMap guestbook, not a Track"},
		},
		"AnotherTrack": {
			owner: func(_ *testing.T, f *fixture) []metav1.OwnerReference {
				return []metav1.OwnerReference{f.trackXR("other", []any{map[string]any{"name": "dev", "tracks": []any{"unrelated"}}})}
			},
			want: []string{"names track guestbook but is composed by Track other", "spec.stations[].tracks"},
		},
		"SectionThroughJunctions": {
			owner: func(_ *testing.T, f *fixture) []metav1.OwnerReference {
				f.trackXR("regions", []any{map[string]any{"name": "eu", "tracks": []any{"guestbook"}}})
				return []metav1.OwnerReference{f.trackXR("root", []any{map[string]any{"name": "dev"}, map[string]any{"name": "fan-out", "tracks": []any{"regions"}}})}
			},
		},
		"LegacyXTrack": {
			owner: func(t *testing.T, f *fixture) []metav1.OwnerReference {
				return []metav1.OwnerReference{xtrack(t, f, f.ns)}
			},
		},
		"LegacyXTrackOfAnotherNamespace": {
			owner: func(t *testing.T, f *fixture) []metav1.OwnerReference {
				return []metav1.OwnerReference{xtrack(t, f, "team-other")}
			},
			want: []string{"whose claim (spec.claimRef) is not in namespace NS"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			app := f.application("guestbook-dev", "env/dev")
			tk := f.ticketWith("guestbook-dev", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
				tk.OwnerReferences = tc.owner(t, f)
			}, "guestbook-dev")
			key := client.ObjectKeyFromObject(tk)

			if tc.want == nil {
				eventually(t, "an operation on guestbook-dev", func() (bool, string) {
					op, _, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
					return op != nil, condition(getTicket(t, key), xpv2.TypeReady).Message
				})
				return
			}

			eventually(t, "phase Blocked", func() (bool, string) {
				tk := getTicket(t, key)
				return tk.Status.AtProvider.Phase == v1alpha1.PhaseBlocked, tk.Status.AtProvider.Phase
			})
			c := condition(getTicket(t, key), xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse {
				t.Errorf("Ready = %s, want False", c.Status)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "NS", f.ns)
				if !strings.Contains(c.Message, w) {
					t.Errorf("Ready message %q does not say %q", c.Message, w)
				}
			}
			requestReconcile(t, key, "again")
			if f.branchExists("env/dev") {
				t.Error("the rendered branch was pushed")
			}
			after := f.app("guestbook-dev")
			if op, _, _ := unstructured.NestedMap(after.Object, "operation"); op != nil {
				t.Errorf("the Application was asked to sync: %v", op)
			}
			if after.GetResourceVersion() != app.GetResourceVersion() {
				t.Errorf("the Application was patched: %v", after.Object)
			}
		})
	}
}

// xtrack creates a legacy cluster-scoped XTrack whose claim is Track
// guestbook in namespace ns, and returns its controller reference.
func xtrack(t *testing.T, f *fixture, ns string) metav1.OwnerReference {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "legacy.k8sta.io/v1alpha1",
		"kind":       "XTrack",
		"metadata": map[string]any{
			"name": "guestbook-" + f.ns,
			// A label anyone who can edit the XR can set: never trusted.
			"labels": map[string]any{"crossplane.io/claim-namespace": f.ns, "crossplane.io/claim-name": "guestbook"},
		},
		"spec": map[string]any{
			"claimRef": map[string]any{"apiVersion": "legacy.k8sta.io/v1alpha1", "kind": "Track", "name": "guestbook", "namespace": ns},
		},
	}}
	must(t, kube.Create(context.Background(), u))
	t.Cleanup(func() { _ = kube.Delete(context.Background(), u) })
	return controllerRef(u)
}

// Reconciling a Ticket again reads its Track no more once the Track was
// found to compose it: the check holds until the Ticket's spec or
// controller changes, and every Application event reconciles the Ticket.
func TestTicketReadsItsTrackOnce(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	tk := f.ticket("guestbook-dev", change(f.source, "1.2.3"), "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-dev").Object["operation"]
		return ok, "no operation"
	})
	path := fmt.Sprintf("/apis/k8sta.io/v1alpha1/namespaces/%s/tracks/guestbook", f.ns)
	before := providerRequests.count(http.MethodGet, path)
	if before == 0 {
		t.Fatalf("no GET of %s before: the check did not read the Track at all", path)
	}
	for _, token := range []string{"again-1", "again-2", "again-3"} {
		requestReconcile(t, key, token)
	}
	if n := providerRequests.count(http.MethodGet, path) - before; n != 0 {
		t.Errorf("three more reconciles read the Track %d more times, want 0", n)
	}
}
