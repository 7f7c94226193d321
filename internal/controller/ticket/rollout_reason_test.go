package ticket

import (
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A canary whose analysis fails makes Argo Rollouts abort it and Argo CD 3
// report the Application Degraded with no message at all: the Ticket's
// Ready condition (and the Application's entry in its status) carries the
// Rollout's own words, the failing metric included.
func TestTicketSaysWhyTheRolloutAborted(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-int-a", "env/dev")
	ns := f.rollout("guestbook-int-a")
	tk := f.ticket("guestbook-int-a", change(f.source, "1.2.3"), "guestbook-int-a")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-int-a").Object["operation"]
		return ok, "no operation"
	})
	rev := f.argoStartOperation("guestbook-int-a")
	const aborted = `Rollout aborted update to revision 3: Step-based analysis phase error/failed: Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`
	f.rolloutStatus(ns, map[string]any{
		"phase": "Degraded", "message": "RolloutAborted: " + aborted, "abort": true, "currentStepIndex": int64(0), "observedGeneration": "1",
		"conditions": []any{rolloutCondition("Progressing", "False", "RolloutAborted", aborted)},
	})
	// Argo CD 3: Degraded, and no health message.
	f.argoFinishSync("guestbook-int-a", rev, "Degraded", "")

	eventually(t, "phase Failed", func() (bool, string) {
		tk := getTicket(t, key)
		return tk.Status.AtProvider.Phase == v1alpha1.PhaseFailed, tk.Status.AtProvider.Phase
	})
	want := "Application " + f.argoNS + "/guestbook-int-a is Degraded at " + rev + ": Rollout " + ns + "/guestbook is Degraded: RolloutAborted: " + aborted
	got := getTicket(t, key)
	c := condition(got, xpv2.TypeReady)
	if c.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %s, want False", c.Status)
	}
	if diff := cmp.Diff(want, c.Message); diff != "" {
		t.Errorf("Ready message: -want, +got:\n%s", diff)
	}
	if a := got.Status.AtProvider.Applications; len(a) != 1 || a[0].Message != want {
		t.Errorf("status.atProvider.applications = %+v, want one whose message is %q", a, want)
	}
	if !strings.Contains(c.Message, `Metric "error-rate"`) {
		t.Errorf("Ready message %q does not name the failing metric", c.Message)
	}
}

// A Deployment past its progress deadline: the Ticket says so, in the
// Deployment's words.
func TestTicketSaysWhichDeploymentExceededItsProgressDeadline(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-prod", "env/dev")
	ns := f.deployment("guestbook-prod")
	tk := f.ticket("guestbook-prod", change(f.source, "1.2.3"), "guestbook-prod")
	key := client.ObjectKeyFromObject(tk)
	eventually(t, "an operation", func() (bool, string) {
		_, ok := f.app("guestbook-prod").Object["operation"]
		return ok, "no operation"
	})
	rev := f.argoStartOperation("guestbook-prod")
	const why = `ReplicaSet "guestbook-5d8f7c9b4" has timed out progressing.`
	f.deploymentStatus(ns, map[string]any{"conditions": []any{rolloutCondition("Progressing", "False", "ProgressDeadlineExceeded", why)}})
	f.argoFinishSync("guestbook-prod", rev, "Degraded", "")

	want := "Application " + f.argoNS + "/guestbook-prod is Degraded at " + rev + ": Deployment " + ns + "/guestbook is Degraded: ProgressDeadlineExceeded: " + why
	eventually(t, "phase Failed with the Deployment's words", func() (bool, string) {
		c := condition(getTicket(t, key), xpv2.TypeReady)
		return c.Message == want, c.Message
	})
}
