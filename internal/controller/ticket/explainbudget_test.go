package ticket

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
)

// readCounter counts the reads that reach the API server.
type readCounter struct {
	client.Reader
	gets atomic.Int64
}

func (r *readCounter) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.gets.Add(1)
	return r.Reader.Get(ctx, key, obj, opts...)
}

// One reconcile of a Ticket reads the resources of a few of its Degraded
// Applications only, however many it names: a Ticket may name 50, and a
// paused canary is reconciled for days.
func TestExplainReadsForAFewApplicationsPerReconcile(t *testing.T) {
	const rendered = "0123456789abcdef0123456789abcdef01234567"
	const apps = 5
	e := &external{rendered: rendered, argoLive: &readCounter{Reader: kube}}
	for i := range apps {
		e.apps = append(e.apps, &argocd.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: fmt.Sprintf("guestbook-%d", i)},
			Spec:       argocd.ApplicationSpec{Destination: argocd.ApplicationDestination{Server: argocd.InClusterServer}},
			Status: argocd.ApplicationStatus{
				Health:    argocd.HealthStatus{Status: argocd.HealthDegraded},
				Resources: []argocd.ResourceStatus{{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "default", Name: fmt.Sprintf("gone-%d", i)}},
			},
		})
		e.verdicts = append(e.verdicts, argocd.Verdict{State: argocd.Failed, Sync: argocd.SyncStatusSynced, Health: argocd.HealthDegraded, Revision: rendered})
	}
	e.explain(context.Background(), &v1alpha1.Ticket{})

	if diff := cmp.Diff(int64(maxExplainedApplications), e.argoLive.(*readCounter).gets.Load()); diff != "" {
		t.Errorf("reads: -want, +got:\n%s", diff)
	}
	want := "K8sTA explains 2 Applications of a Ticket at most; see this one's resources in Argo CD"
	for i := maxExplainedApplications; i < apps; i++ {
		if diff := cmp.Diff(want, e.explanation(i)); diff != "" {
			t.Errorf("Application %d: -want, +got:\n%s", i, diff)
		}
	}
}
