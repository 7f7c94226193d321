package ticket

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/argocd"
)

// What the Ticket's status says of an Application deployed at the rendered
// commit while it waits. A canary's timed pause is Suspended to Argo CD,
// like a pause that waits for a person, but it ends by itself: the status
// calls it Progressing, so that it is no status step (each status write
// costs the Track a circuit-breaker token), and only a pause with an
// explanation shows as Suspended.
func TestJudgeWaitingHealth(t *testing.T) {
	const rendered = "0123456789abcdef0123456789abcdef01234567"
	deployedAt := func(health string) *argocd.Application {
		finished := metav1.NewTime(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
		reconciled := metav1.NewTime(finished.Add(time.Second))
		return &argocd.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "guestbook-dev", Namespace: "argocd"},
			Status: argocd.ApplicationStatus{
				Sync:   argocd.SyncStatus{Status: argocd.SyncStatusSynced, Revision: rendered},
				Health: argocd.HealthStatus{Status: health},
				OperationState: &argocd.OperationState{
					Operation:  argocd.Operation{Sync: &argocd.SyncOperation{Revision: rendered}},
					Phase:      argocd.PhaseSucceeded,
					SyncResult: &argocd.SyncOperationResult{Revision: rendered},
					FinishedAt: &finished,
				},
				ReconciledAt: &reconciled,
			},
		}
	}
	cases := map[string]struct {
		health      string
		explanation []string
		want        v1alpha1.ApplicationStatus
		wantMessage string
	}{
		"TimedPauseIsProgress": {
			health:      argocd.HealthSuspended,
			want:        v1alpha1.ApplicationStatus{Name: "guestbook-dev", Namespace: "argocd", Sync: "Synced", Health: "Progressing", Revision: rendered},
			wantMessage: "waiting for Application argocd/guestbook-dev: Synced, Progressing",
		},
		"PauseForAPersonIsSuspended": {
			health:      argocd.HealthSuspended,
			explanation: []string{"Rollout guestbook-dev/guestbook is paused at step 2 of 2 (CanaryPauseStep)"},
			want: v1alpha1.ApplicationStatus{Name: "guestbook-dev", Namespace: "argocd", Sync: "Synced", Health: "Suspended", Revision: rendered,
				Message: "Rollout guestbook-dev/guestbook is paused at step 2 of 2 (CanaryPauseStep)"},
			wantMessage: "waiting for Application argocd/guestbook-dev: Synced, Suspended: Rollout guestbook-dev/guestbook is paused at step 2 of 2 (CanaryPauseStep)",
		},
		"Progressing": {
			health:      argocd.HealthProgressing,
			want:        v1alpha1.ApplicationStatus{Name: "guestbook-dev", Namespace: "argocd", Sync: "Synced", Health: "Progressing", Revision: rendered},
			wantMessage: "waiting for Application argocd/guestbook-dev: Synced, Progressing",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := &external{
				apps:      []*argocd.Application{deployedAt(tc.health)},
				sources:   []int{0},
				rendered:  rendered,
				explained: [][]string{tc.explanation},
				now:       time.Now,
			}
			tk := &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Name: "guestbook-dev"}}
			tk.Spec.ForProvider.Change.ID = "1a2b3c"
			e.judgeApplications(tk)
			e.judge(tk)
			if diff := cmp.Diff([]v1alpha1.ApplicationStatus{tc.want}, tk.Status.AtProvider.Applications); diff != "" {
				t.Errorf("status.atProvider.applications: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(v1alpha1.PhaseProgressing, tk.Status.AtProvider.Phase); diff != "" {
				t.Errorf("status.atProvider.phase: -want, +got:\n%s", diff)
			}
			if got := tk.GetCondition("Ready").Message; got != tc.wantMessage {
				t.Errorf("Ready: got %q, want %q", got, tc.wantMessage)
			}
		})
	}
}

// Update acts on, and reports, what Observe judged of each Application in
// the same reconcile: it does not judge an Application again unless it
// patched it. The Application here has never been synced, which Judge calls
// NeedsSync, while Observe's verdict (deliberately unlike it) says Healthy:
// an Update that judged again would ask for a sync, through no client at
// all, and report Syncing.
func TestUpdateReusesObservesVerdicts(t *testing.T) {
	const rendered = "0123456789abcdef0123456789abcdef01234567"
	e := &external{
		apps:     []*argocd.Application{{ObjectMeta: metav1.ObjectMeta{Name: "guestbook-dev", Namespace: "argocd"}}},
		sources:  []int{0},
		rendered: rendered,
		verdicts: []argocd.Verdict{{State: argocd.Healthy, Sync: argocd.SyncStatusSynced, Health: argocd.HealthHealthy, Revision: rendered}},
		now:      time.Now,
	}
	tk := &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Name: "guestbook-dev"}}
	tk.Spec.ForProvider.Change.ID = "1a2b3c"
	if _, err := e.Update(context.Background(), tk); err != nil {
		t.Fatalf("Update(...): %v", err)
	}
	want := []v1alpha1.ApplicationStatus{{Name: "guestbook-dev", Namespace: "argocd", Sync: "Synced", Health: "Healthy", Revision: rendered}}
	if diff := cmp.Diff(want, tk.Status.AtProvider.Applications); diff != "" {
		t.Errorf("status.atProvider.applications: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(v1alpha1.PhaseVerified, tk.Status.AtProvider.Phase); diff != "" {
		t.Errorf("status.atProvider.phase: -want, +got:\n%s", diff)
	}
}
