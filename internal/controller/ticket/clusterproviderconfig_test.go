package ticket

import (
	"context"
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A ClusterProviderConfig holds the platform's credentials: only the
// namespaces its spec.namespaceSelector selects may use it, and no namespace
// when it has none. A Ticket in any other namespace renders nothing, pushes
// nothing, patches no Application, and its condition says which selector to
// change.
func TestClusterProviderConfigServesOnlyTheNamespacesItSelects(t *testing.T) {
	cases := map[string]struct {
		selector func(f *fixture) *metav1.LabelSelector
		// want is what the Synced condition says; nil: the Ticket renders.
		want []string
	}{
		"NoSelector": {
			selector: func(*fixture) *metav1.LabelSelector { return nil },
			want:     []string{"ClusterProviderConfig CPC has no spec.namespaceSelector, so no namespace may use it", "kubernetes.io/metadata.name: NS"},
		},
		"AnotherNamespace": {
			selector: func(*fixture) *metav1.LabelSelector {
				return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "team-platform"}}
			},
			want: []string{"ClusterProviderConfig CPC does not select namespace NS", "spec.namespaceSelector"},
		},
		"LabelNotOnTheNamespace": {
			selector: func(*fixture) *metav1.LabelSelector {
				return &metav1.LabelSelector{MatchLabels: map[string]string{"k8sta.io/tenant": "trusted"}}
			},
			want: []string{"ClusterProviderConfig CPC does not select namespace NS"},
		},
		"SelectsThisNamespace": {
			selector: func(f *fixture) *metav1.LabelSelector {
				return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: f.ns}}
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			cpc := &v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "platform-" + f.ns}}
			cpc.Spec.NamespaceSelector = tc.selector(f)
			must(t, kube.Create(context.Background(), cpc))
			app := f.application("guestbook-dev", "env/dev")
			tk := f.ticketWith("guestbook-dev", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) {
				tk.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: v1alpha1.ClusterProviderConfigKind, Name: cpc.Name}
			}, "guestbook-dev")
			key := client.ObjectKeyFromObject(tk)

			if tc.want == nil {
				eventually(t, "an operation on guestbook-dev", func() (bool, string) {
					op, _, _ := unstructured.NestedMap(f.app("guestbook-dev").Object, "operation")
					return op != nil, condition(getTicket(t, key), xpv2.TypeSynced).Message
				})
				return
			}

			var msg string
			eventually(t, "Synced False naming the ClusterProviderConfig", func() (bool, string) {
				c := condition(getTicket(t, key), xpv2.TypeSynced)
				msg = c.Message
				return c.Status == corev1.ConditionFalse && strings.Contains(msg, "ClusterProviderConfig "+cpc.Name), msg
			})
			for _, w := range tc.want {
				w = strings.NewReplacer("CPC", cpc.Name, "NS", f.ns).Replace(w)
				if !strings.Contains(msg, w) {
					t.Errorf("Synced message %q does not say %q", msg, w)
				}
			}
			requestReconcile(t, key, "again")
			if f.branchExists("env/dev") {
				t.Error("the rendered branch was pushed")
			}
			if after := f.app("guestbook-dev"); after.GetResourceVersion() != app.GetResourceVersion() {
				t.Errorf("the Application was patched: %v", after.Object)
			}
			u := &v1alpha1.ProviderConfigUsageList{}
			must(t, kube.List(context.Background(), u, client.InNamespace(f.ns)))
			if len(u.Items) != 0 {
				t.Errorf("a namespace the ClusterProviderConfig does not select recorded %d usages of it", len(u.Items))
			}
		})
	}
}
