package argocd

import (
	"fmt"
	"strings"
)

// A State is where an Application stands with respect to a rendered commit.
type State string

// States returned by Judge.
const (
	// NeedsSync: nobody asked Argo CD to sync the revision yet; call Trigger.
	NeedsSync State = "NeedsSync"
	// NeedsRefresh: the sync finished but health and sync status were assessed
	// before it did; call Refresh and wait.
	NeedsRefresh State = "NeedsRefresh"
	// Waiting: an operation runs, or the Application is not yet Synced and
	// Healthy at the revision; wait for Argo CD.
	Waiting State = "Waiting"
	// Healthy: Synced to the revision and Healthy.
	Healthy State = "Healthy"
	// Failed: the sync failed, the Application cannot be compared, or it is
	// Degraded; the message says why.
	Failed State = "Failed"
)

// UsernameK8sTA is operation.initiatedBy.username of the syncs K8sTA requests.
const UsernameK8sTA = "k8sta"

// A Verdict is where an Application stands with respect to a revision.
type Verdict struct {
	State State
	// Sync is status.sync.status, Health status.health.status, Revision the
	// revision Argo CD reports in status.sync (of the source that matters).
	Sync, Health, Revision string
	// Message names the Application and carries Argo CD's own message.
	Message string
}

// Judge tells where app stands with respect to revision, the rendered commit
// that the source at sourceIndex (from Authorize) must be synced to, for the
// ticket info value info ("<ticket>/<change id>"). The rules are docs/DESIGN.md's
// "Argo CD, exactly", in this order:
//
//  1. An operation runs (.operation set, or operationState Running or
//     Terminating): Waiting, whether it is ours or another actor's.
//  2. No sync was ever requested for revision (neither operationState's
//     requested revision nor its sync result is revision): NeedsSync. An
//     operationState for revision left by an earlier run counts as asked.
//  3. That sync finished Failed or Error: Failed.
//  4. A ComparisonError or InvalidSpecError condition: Failed.
//  5. The finished sync did not deploy revision: NeedsSync (or Waiting while
//     the operation has no final phase).
//  6. status.reconciledAt older than operationState.finishedAt: NeedsRefresh.
//  7. status.sync not Synced at revision: Waiting. Then health: Healthy is
//     Healthy, Degraded is Failed, anything else is Waiting.
func Judge(app *Application, revision string, sourceIndex int, info string) Verdict {
	name := appName(app)
	multi := app.Spec.HasMultipleSources()
	v := Verdict{
		Sync:     app.Status.Sync.Status,
		Health:   app.Status.Health.Status,
		Revision: pick(multi, app.Status.Sync.Revision, app.Status.Sync.Revisions, sourceIndex),
	}
	verdict := func(s State, format string, args ...any) Verdict {
		v.State = s
		v.Message = fmt.Sprintf("Application %s ", name) + fmt.Sprintf(format, args...)
		return v
	}
	if multi && (sourceIndex < 0 || sourceIndex >= len(app.Spec.Sources)) {
		return verdict(Failed, "has no source #%d: it has %d", sourceIndex, len(app.Spec.Sources))
	}

	st := app.Status.OperationState

	// 1. Never interfere with a running operation.
	if op, running := runningOperation(app); running {
		msg := ""
		if st != nil && st.Message != "" && (app.Operation == nil || isRunning(st.Phase)) {
			msg = ": " + st.Message
		}
		if isOurs(op, multi, revision, sourceIndex, info) {
			return verdict(Waiting, "is syncing %s (sync running)%s", revision, msg)
		}
		return verdict(Waiting, "is busy: waiting for %s's operation%s", actor(op, info), msg)
	}

	// 2. Was a sync of revision ever requested (by us, before a restart, or by
	// anybody else)?
	if st == nil {
		return verdict(NeedsSync, "has no sync of %s yet", revision)
	}
	requested := ""
	if st.Operation.Sync != nil {
		requested = pick(multi, st.Operation.Sync.Revision, st.Operation.Sync.Revisions, sourceIndex)
	}
	synced := ""
	if st.SyncResult != nil {
		synced = pick(multi, st.SyncResult.Revision, st.SyncResult.Revisions, sourceIndex)
	}
	if requested != revision && synced != revision {
		return verdict(NeedsSync, "has no sync of %s yet (last operation: %s)", revision, describe(st, requested, synced))
	}

	// 3. The sync of revision failed.
	if st.Phase == PhaseFailed || st.Phase == PhaseError {
		return verdict(Failed, "failed to sync %s (%s): %s", revision, st.Phase, st.Message)
	}

	// 4. Argo CD cannot compare or sync the Application as it is.
	for _, c := range app.Status.Conditions {
		if c.Type == ConditionComparisonError || c.Type == ConditionInvalidSpecError {
			return verdict(Failed, "has condition %s: %s", c.Type, c.Message)
		}
	}

	// 5. The operation requested revision but deployed something else.
	if synced != revision {
		if st.Phase != PhaseSucceeded {
			return verdict(Waiting, "has an operation for %s in phase %q", revision, st.Phase)
		}
		return verdict(NeedsSync, "synced %s, not %s", orNone(synced), revision)
	}
	if st.Phase != PhaseSucceeded {
		return verdict(Waiting, "has an operation for %s in phase %q", revision, st.Phase)
	}

	// 6. Health and sync status must have been assessed after the sync.
	if st.FinishedAt != nil && (app.Status.ReconciledAt == nil || app.Status.ReconciledAt.Before(st.FinishedAt)) {
		at := "never"
		if app.Status.ReconciledAt != nil {
			at = app.Status.ReconciledAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		return verdict(NeedsRefresh, "health is stale: reconciled at %s, before the sync of %s finished at %s",
			at, revision, st.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}

	// 7. Synced at revision, then Healthy.
	if v.Sync != SyncStatusSynced || v.Revision != revision {
		return verdict(Waiting, "is %s at %s, waiting for %s at %s",
			orNone(v.Sync), orNone(v.Revision), SyncStatusSynced, revision)
	}
	// Argo CD 3 no longer writes an Application-level health message.
	msg := ""
	if app.Status.Health.Message != "" {
		msg = ": " + app.Status.Health.Message
	}
	switch v.Health {
	case HealthHealthy:
		return verdict(Healthy, "is %s and %s at %s", SyncStatusSynced, HealthHealthy, revision)
	case HealthDegraded:
		return verdict(Failed, "is %s at %s%s", HealthDegraded, revision, msg)
	default:
		return verdict(Waiting, "is %s at %s%s", orNone(v.Health), revision, msg)
	}
}

// runningOperation returns the operation that runs or is requested.
func runningOperation(app *Application) (*Operation, bool) {
	if app.Operation != nil {
		return app.Operation, true
	}
	if st := app.Status.OperationState; st != nil && isRunning(st.Phase) {
		return &st.Operation, true
	}
	return nil, false
}

func isRunning(phase string) bool {
	return phase == PhaseRunning || phase == PhaseTerminating
}

// isOurs tells whether op is the sync K8sTA requested for info and revision.
// A requested revision that Argo CD cleared (a retry with refresh) still is.
func isOurs(op *Operation, multi bool, revision string, sourceIndex int, info string) bool {
	if op.InitiatedBy.Username != UsernameK8sTA || ticketInfo(op) != info || op.Sync == nil {
		return false
	}
	r := pick(multi, op.Sync.Revision, op.Sync.Revisions, sourceIndex)
	return r == revision || r == ""
}

func ticketInfo(op *Operation) string {
	for _, i := range op.Info {
		if i.Name == TicketInfoName {
			return i.Value
		}
	}
	return ""
}

// actor names who started op.
func actor(op *Operation, info string) string {
	switch u := op.InitiatedBy.Username; {
	case u == UsernameK8sTA:
		if t := ticketInfo(op); t != "" && t != info {
			return fmt.Sprintf("%s (%s %s)", u, TicketInfoName, t)
		}
		return u
	case u != "":
		return u
	case op.InitiatedBy.Automated:
		return "Argo CD (automated sync)"
	default:
		return "an unknown actor"
	}
}

func describe(st *OperationState, requested, synced string) string {
	parts := []string{fmt.Sprintf("phase %s", orNone(st.Phase))}
	if requested != "" {
		parts = append(parts, "requested "+requested)
	}
	if synced != "" {
		parts = append(parts, "synced "+synced)
	}
	return strings.Join(parts, ", ")
}

// pick returns the single-source value, or the multi-source value at i.
func pick(multi bool, single string, list []string, i int) string {
	if !multi {
		return single
	}
	if i < 0 || i >= len(list) {
		return ""
	}
	return list[i]
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
