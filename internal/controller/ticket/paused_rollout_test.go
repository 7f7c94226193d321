package ticket

import (
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A canary paused at a pause step is Suspended to Argo CD: the Ticket keeps
// waiting (Progressing, never Failed, never Verified) and says which Rollout
// is paused at which step. Each pause is one status step; the Rollout's
// progress between pauses is not.
func TestTicketSaysWhichRolloutIsPausedAtWhichStep(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-prod", "env/dev")
	ns := f.rollout("guestbook-prod")
	key := client.ObjectKey{Namespace: f.ns, Name: "guestbook-prod"}
	seen := f.watchTicketStatus(key)
	f.ticket(key.Name, change(f.source, "1.2.3"), "guestbook-prod")
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-prod").Object["operation"]
		return ok, "no operation"
	})
	rev := f.argoStartOperation("guestbook-prod")
	f.rolloutStatus(ns, rolloutPausedAt(1))
	f.argoFinishSync("guestbook-prod", rev, "Suspended", "")

	app := f.argoNS + "/guestbook-prod"
	waitFor := func(msg string) {
		t.Helper()
		eventually(t, "Ready: "+msg, func() (bool, string) {
			tk := getTicket(t, key)
			c := condition(tk, xpv2.TypeReady)
			return tk.Status.AtProvider.Phase == v1alpha1.PhaseProgressing && c.Message == msg, tk.Status.AtProvider.Phase + ": " + c.Message
		})
	}
	paused2 := "Rollout " + ns + "/guestbook is paused at step 2 of 4 (CanaryPauseStep)"
	waitFor("waiting for Application " + app + ": Synced, Suspended: " + paused2)

	// Promoted past the first pause: progressing, then paused again.
	f.rolloutStatus(ns, map[string]any{"phase": "Progressing", "message": "more replicas need to be updated", "currentStepIndex": int64(2), "observedGeneration": "1"})
	f.argoReportHealth("guestbook-prod", "Progressing", "")
	for range 3 {
		f.argoReportHealth("guestbook-prod", "Progressing", "")
	}
	waitFor("waiting for Application " + app + ": Synced, Progressing")
	f.rolloutStatus(ns, rolloutPausedAt(3))
	f.argoReportHealth("guestbook-prod", "Suspended", "")
	paused4 := "Rollout " + ns + "/guestbook is paused at step 4 of 4 (CanaryPauseStep)"
	waitFor("waiting for Application " + app + ": Synced, Suspended: " + paused4)
	if tk := getTicket(t, key); tk.Status.AtProvider.VerifiedAt != nil {
		t.Error("a Ticket whose Rollout is paused has verifiedAt set")
	}

	f.rolloutStatus(ns, map[string]any{"phase": "Healthy", "currentStepIndex": int64(4), "observedGeneration": "1"})
	f.argoReportHealth("guestbook-prod", "Healthy", "")
	at := func(health, message string) []v1alpha1.ApplicationStatus {
		return []v1alpha1.ApplicationStatus{{Name: "guestbook-prod", Namespace: f.argoNS, Sync: "Synced", Health: health, Revision: rev, Message: message}}
	}
	want := []ticketStep{
		{Phase: v1alpha1.PhaseProgressing, Applications: at("Suspended", paused2)},
		{Phase: v1alpha1.PhaseProgressing, Applications: at("Progressing", "")},
		{Phase: v1alpha1.PhaseProgressing, Applications: at("Suspended", paused4)},
		{Phase: v1alpha1.PhaseVerified, Applications: at("Healthy", "")},
	}
	// The steps once deployed at the rendered commit, exactly: none Failed,
	// one per pause, none for the Rollout's progress in between.
	var got []ticketStep
	for _, s := range seen.steps(t, v1alpha1.PhaseVerified) {
		if s.Phase != v1alpha1.PhaseRendering && s.Phase != v1alpha1.PhaseSyncing {
			got = append(got, s)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status steps once deployed: -want, +got:\n%s", diff)
	}
}
