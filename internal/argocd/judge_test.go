package argocd

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	rev     = "1111111111111111111111111111111111111111"
	oldRev  = "0000000000000000000000000000000000000000"
	newRev  = "2222222222222222222222222222222222222222"
	ticket  = "team-a/guestbook-dev/c0ffee"
	appText = "Application argocd/guestbook-dev "
)

var (
	t0 = metav1.NewTime(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	t1 = metav1.NewTime(t0.Add(time.Minute))
	t2 = metav1.NewTime(t0.Add(2 * time.Minute))
)

// ourOp is the operation Trigger sets for rev (single source).
func ourOp(r string) Operation {
	return Operation{
		Sync:        &SyncOperation{Revision: r},
		InitiatedBy: OperationInitiator{Username: UsernameK8sTA, Automated: true},
		Info:        []Info{{Name: TicketInfoName, Value: ticket}},
	}
}

// finished is an operationState for op that finished in phase at t1, having
// synced synced.
func finished(op Operation, phase, msg, synced string) *OperationState {
	return &OperationState{
		Operation: op, Phase: phase, Message: msg,
		SyncResult: &SyncOperationResult{Revision: synced},
		StartedAt:  t0, FinishedAt: &t1,
	}
}

// judged builds a single-source Application with the given status.
func judged(op *Operation, st *OperationState, sync SyncStatus, health HealthStatus, reconciledAt *metav1.Time, conds ...ApplicationCondition) *Application {
	a := app(testTrack, src(testRepo, testBranch))
	a.Operation = op
	a.Status = ApplicationStatus{Sync: sync, Health: health, OperationState: st, Conditions: conds, ReconciledAt: reconciledAt}
	return a
}

func ptr[T any](v T) *T { return &v }

func TestJudge(t *testing.T) {
	synced := SyncStatus{Status: SyncStatusSynced, Revision: rev}
	healthy := HealthStatus{Status: HealthHealthy}
	done := finished(ourOp(rev), PhaseSucceeded, "successfully synced (all tasks run)", rev)

	multi := func(a *Application) *Application {
		a.Spec.Source = nil
		a.Spec.Sources = []ApplicationSource{src("https://charts.example.com/helm", "1.2.3"), src(testRepo, testBranch)}
		return a
	}
	multiOp := func(rs ...string) Operation {
		op := ourOp("")
		op.Sync = &SyncOperation{Revisions: rs}
		return op
	}

	cases := map[string]struct {
		app         *Application
		sourceIndex int
		want        Verdict
	}{
		"NeverSynced": {
			app: judged(nil, nil, SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: NeedsSync, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "has no sync of " + rev + " yet"},
		},
		"LastSyncWasAnotherRevision": {
			app: judged(nil, finished(ourOp(oldRev), PhaseSucceeded, "ok", oldRev), SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t2),
			want: Verdict{State: NeedsSync, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "has no sync of " + rev + " yet (last operation: phase Succeeded, requested " + oldRev + ", synced " + oldRev + ")"},
		},
		"OurOperationPending": {
			// Trigger's patch, not yet picked up by the application-controller.
			app: judged(ptr(ourOp(rev)), nil, SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is syncing " + rev + " (sync running)"},
		},
		"OurOperationPendingOverStaleState": {
			app: judged(ptr(ourOp(rev)), finished(ourOp(oldRev), PhaseFailed, "old failure", oldRev), SyncStatus{Status: "OutOfSync"}, healthy, &t2),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy,
				Message: appText + "is syncing " + rev + " (sync running)"},
		},
		"OurOperationRunning": {
			app: judged(ptr(ourOp(rev)), &OperationState{Operation: ourOp(rev), Phase: PhaseRunning, Message: "one or more tasks are running", StartedAt: t0},
				SyncStatus{Status: "OutOfSync", Revision: rev}, HealthStatus{Status: HealthProgressing}, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthProgressing, Revision: rev,
				Message: appText + "is syncing " + rev + " (sync running): one or more tasks are running"},
		},
		"OurOperationRetryingWithRefresh": {
			// Argo CD clears the requested revision of a retry with refresh: true.
			app: judged(ptr(ourOp("")), &OperationState{Operation: ourOp(""), Phase: PhaseRunning, Message: "Retrying operation with latest revisions. Attempt #1", StartedAt: t0},
				SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is syncing " + rev + " (sync running): Retrying operation with latest revisions. Attempt #1"},
		},
		"AnotherActorsOperationRunning": {
			app: judged(ptr(Operation{Sync: &SyncOperation{Revision: "main"}, InitiatedBy: OperationInitiator{Username: "alice"}}),
				&OperationState{Operation: Operation{Sync: &SyncOperation{Revision: "main"}, InitiatedBy: OperationInitiator{Username: "alice"}}, Phase: PhaseRunning, Message: "waiting for healthy state of apps/Deployment/guestbook", StartedAt: t0},
				SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is busy: waiting for alice's operation: waiting for healthy state of apps/Deployment/guestbook"},
		},
		"AnotherActorsOperationRequested": {
			app: judged(ptr(Operation{Sync: &SyncOperation{}, InitiatedBy: OperationInitiator{Automated: true}}), nil,
				SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is busy: waiting for Argo CD (automated sync)'s operation"},
		},
		"AnotherActorTerminating": {
			// Even for our revision: never NeedsSync while another operation runs.
			app: judged(nil, &OperationState{Operation: Operation{Sync: &SyncOperation{Revision: rev}, InitiatedBy: OperationInitiator{Username: "bob"}}, Phase: PhaseTerminating, Message: "operation is terminating", StartedAt: t0},
				SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is busy: waiting for bob's operation: operation is terminating"},
		},
		"OurOperationForAnotherChangeRunning": {
			app: judged(nil, &OperationState{Operation: Operation{Sync: &SyncOperation{Revision: oldRev}, InitiatedBy: OperationInitiator{Username: UsernameK8sTA, Automated: true}, Info: []Info{{Name: TicketInfoName, Value: "team-a/guestbook-dev/beef"}}}, Phase: PhaseRunning, StartedAt: t0},
				SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t0),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is busy: waiting for k8sta (k8sta.io/ticket team-a/guestbook-dev/beef)'s operation"},
		},
		"RestartOperationStateAlreadyForRevision": {
			// A provider restart lost memory of the Trigger: the operationState
			// for rev counts as asked, so there is no second sync.
			app: judged(nil, &OperationState{Operation: ourOp(rev), Phase: PhaseSucceeded, Message: "successfully synced (all tasks run)", SyncResult: &SyncOperationResult{Revision: rev}, StartedAt: t0, FinishedAt: &t1},
				synced, HealthStatus{Status: HealthProgressing}, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthProgressing, Revision: rev,
				Message: appText + "is Progressing at " + rev},
		},
		"SyncedByAnotherActorToRevision": {
			// A sync requested by branch name that resolved to rev is no reason to sync again.
			app: judged(nil, finished(Operation{Sync: &SyncOperation{Revision: testBranch}, InitiatedBy: OperationInitiator{Username: "admin"}}, PhaseSucceeded, "ok", rev),
				synced, healthy, &t2),
			want: Verdict{State: Healthy, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "is Synced and Healthy at " + rev},
		},
		"SyncFailed": {
			app: judged(nil, finished(ourOp(rev), PhaseFailed, "one or more objects failed to apply, reason: namespaces \"guestbook\" not found (retried 2 times).", ""),
				SyncStatus{Status: "OutOfSync", Revision: rev}, HealthStatus{Status: HealthMissing}, &t2),
			want: Verdict{State: Failed, Sync: "OutOfSync", Health: HealthMissing, Revision: rev,
				Message: appText + "failed to sync " + rev + " (Failed): one or more objects failed to apply, reason: namespaces \"guestbook\" not found (retried 2 times)."},
		},
		"SyncError": {
			app: judged(nil, finished(ourOp(rev), PhaseError, "Failed to load application project: appproject.argoproj.io \"default\" not found", ""),
				SyncStatus{Status: "Unknown"}, HealthStatus{}, &t2),
			want: Verdict{State: Failed, Sync: "Unknown",
				Message: appText + "failed to sync " + rev + " (Error): Failed to load application project: appproject.argoproj.io \"default\" not found"},
		},
		"ComparisonError": {
			app: judged(nil, done, SyncStatus{Status: "Unknown", Revision: rev}, HealthStatus{Status: HealthHealthy}, &t2,
				ApplicationCondition{Type: "SyncError", Message: "not a failure condition"},
				ApplicationCondition{Type: ConditionComparisonError, Message: "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error"}),
			want: Verdict{State: Failed, Sync: "Unknown", Health: HealthHealthy, Revision: rev,
				Message: appText + "has condition ComparisonError: Failed to load target state: failed to generate manifest for source 1 of 1: rpc error"},
		},
		"InvalidSpecError": {
			app: judged(nil, done, synced, healthy, &t2,
				ApplicationCondition{Type: ConditionInvalidSpecError, Message: "application destination server 'https://x' and namespace 'guestbook' do not match any of the allowed destinations in project 'default'"}),
			want: Verdict{State: Failed, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "has condition InvalidSpecError: application destination server 'https://x' and namespace 'guestbook' do not match any of the allowed destinations in project 'default'"},
		},
		"SyncResultOtherRevision": {
			// We asked for rev; the finished sync deployed something else.
			app: judged(nil, finished(ourOp(rev), PhaseSucceeded, "ok", newRev), SyncStatus{Status: "OutOfSync", Revision: newRev}, healthy, &t2),
			want: Verdict{State: NeedsSync, Sync: "OutOfSync", Health: HealthHealthy, Revision: newRev,
				Message: appText + "synced " + newRev + ", not " + rev},
		},
		"SyncResultMissingWithoutFinalPhase": {
			app: judged(nil, &OperationState{Operation: ourOp(rev), Phase: "", StartedAt: t0}, SyncStatus{Status: "OutOfSync"}, healthy, &t2),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy,
				Message: appText + "has an operation for " + rev + " in phase \"\""},
		},
		"StaleReconciledAt": {
			app: judged(nil, finished(ourOp(rev), PhaseSucceeded, "ok", rev), synced, healthy, &t0),
			want: Verdict{State: NeedsRefresh, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "health is stale: reconciled at 2026-11-25T10:00:00Z, before the sync of " + rev + " finished at 2026-11-25T10:01:00Z"},
		},
		"NeverReconciled": {
			app: judged(nil, finished(ourOp(rev), PhaseSucceeded, "ok", rev), synced, healthy, nil),
			want: Verdict{State: NeedsRefresh, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "health is stale: reconciled at never, before the sync of " + rev + " finished at 2026-11-25T10:01:00Z"},
		},
		"ReconciledWhenFinishedIsFresh": {
			app: judged(nil, done, synced, healthy, &t1),
			want: Verdict{State: Healthy, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "is Synced and Healthy at " + rev},
		},
		"OutOfSync": {
			app: judged(nil, done, SyncStatus{Status: "OutOfSync", Revision: rev}, healthy, &t2),
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: rev,
				Message: appText + "is OutOfSync at " + rev + ", waiting for Synced at " + rev},
		},
		"SyncedAtAnotherRevision": {
			app: judged(nil, done, SyncStatus{Status: SyncStatusSynced, Revision: newRev}, healthy, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: newRev,
				Message: appText + "is Synced at " + newRev + ", waiting for Synced at " + rev},
		},
		"Progressing": {
			app: judged(nil, done, synced, HealthStatus{Status: HealthProgressing, Message: "Waiting for rollout to finish: 1 old replicas are pending termination..."}, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthProgressing, Revision: rev,
				Message: appText + "is Progressing at " + rev + ": Waiting for rollout to finish: 1 old replicas are pending termination..."},
		},
		"Suspended": {
			app: judged(nil, done, synced, HealthStatus{Status: HealthSuspended, Message: "Rollout is paused"}, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthSuspended, Revision: rev,
				Message: appText + "is Suspended at " + rev + ": Rollout is paused"},
		},
		"Missing": {
			app: judged(nil, done, synced, HealthStatus{Status: HealthMissing}, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthMissing, Revision: rev,
				Message: appText + "is Missing at " + rev},
		},
		"Unknown": {
			app: judged(nil, done, synced, HealthStatus{Status: HealthUnknown}, &t2),
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthUnknown, Revision: rev,
				Message: appText + "is Unknown at " + rev},
		},
		"Degraded": {
			app: judged(nil, done, synced, HealthStatus{Status: HealthDegraded, Message: "Deployment \"guestbook\" exceeded its progress deadline"}, &t2),
			want: Verdict{State: Failed, Sync: SyncStatusSynced, Health: HealthDegraded, Revision: rev,
				Message: appText + "is Degraded at " + rev + ": Deployment \"guestbook\" exceeded its progress deadline"},
		},
		"DegradedWithoutMessage": {
			// Argo CD 3 keeps health messages off the Application.
			app: judged(nil, done, synced, HealthStatus{Status: HealthDegraded}, &t2),
			want: Verdict{State: Failed, Sync: SyncStatusSynced, Health: HealthDegraded, Revision: rev,
				Message: appText + "is Degraded at " + rev},
		},
		"Healthy": {
			app: judged(nil, done, synced, healthy, &t2),
			want: Verdict{State: Healthy, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "is Synced and Healthy at " + rev},
		},
		"MultiSourceHealthyByIndex": {
			app: multi(judged(nil,
				&OperationState{Operation: multiOp("1.2.3", rev), Phase: PhaseSucceeded, SyncResult: &SyncOperationResult{Revisions: []string{"1.2.3", rev}}, StartedAt: t0, FinishedAt: &t1},
				SyncStatus{Status: SyncStatusSynced, Revisions: []string{"1.2.3", rev}}, healthy, &t2)),
			sourceIndex: 1,
			want: Verdict{State: Healthy, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: rev,
				Message: appText + "is Synced and Healthy at " + rev},
		},
		"MultiSourceRevisionAtOtherIndex": {
			// rev at index 0 is not rev at the index that Authorize found.
			app: multi(judged(nil,
				&OperationState{Operation: multiOp(rev, oldRev), Phase: PhaseSucceeded, SyncResult: &SyncOperationResult{Revisions: []string{rev, oldRev}}, StartedAt: t0, FinishedAt: &t1},
				SyncStatus{Status: SyncStatusSynced, Revisions: []string{rev, oldRev}}, healthy, &t2)),
			sourceIndex: 1,
			want: Verdict{State: NeedsSync, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: oldRev,
				Message: appText + "has no sync of " + rev + " yet (last operation: phase Succeeded, requested " + oldRev + ", synced " + oldRev + ")"},
		},
		"MultiSourceOurOperationRunning": {
			app:         multi(judged(ptr(multiOp("1.2.3", rev)), nil, SyncStatus{Status: "OutOfSync", Revisions: []string{"1.2.3", oldRev}}, healthy, &t0)),
			sourceIndex: 1,
			want: Verdict{State: Waiting, Sync: "OutOfSync", Health: HealthHealthy, Revision: oldRev,
				Message: appText + "is syncing " + rev + " (sync running)"},
		},
		"MultiSourceNotSyncedAtIndex": {
			app: multi(judged(nil,
				&OperationState{Operation: multiOp("1.2.3", rev), Phase: PhaseSucceeded, SyncResult: &SyncOperationResult{Revisions: []string{"1.2.3", rev}}, StartedAt: t0, FinishedAt: &t1},
				SyncStatus{Status: SyncStatusSynced, Revisions: []string{"1.2.3", newRev}}, healthy, &t2)),
			sourceIndex: 1,
			want: Verdict{State: Waiting, Sync: SyncStatusSynced, Health: HealthHealthy, Revision: newRev,
				Message: appText + "is Synced at " + newRev + ", waiting for Synced at " + rev},
		},
		"MultiSourceIndexOutOfRange": {
			app:         multi(judged(nil, nil, SyncStatus{}, HealthStatus{}, nil)),
			sourceIndex: 2,
			want:        Verdict{State: Failed, Message: appText + "has no source #2: it has 2"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Judge(tc.app, rev, tc.sourceIndex, ticket)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Judge(...): -want, +got:\n%s", diff)
			}
		})
	}
}
