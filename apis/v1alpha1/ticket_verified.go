package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// VerifiedFor reports whether the Ticket has verified exactly the change
// with id changeID: it was asked to deliver that change, that change is
// live at its station, and it is Ready. since is when it was first seen
// verified: status.atProvider.verifiedAt, or else the Ready condition's
// last transition; zero if neither is known.
func (t *Ticket) VerifiedFor(changeID string) (since metav1.Time, ok bool) {
	if t == nil || changeID == "" || t.Spec.ForProvider.Change.ID != changeID {
		return metav1.Time{}, false
	}
	live := t.Status.AtProvider.Change
	ready := t.GetCondition(xpv2.TypeReady)
	if live == nil || live.ID != changeID || ready.Status != corev1.ConditionTrue {
		return metav1.Time{}, false
	}
	if v := t.Status.AtProvider.VerifiedAt; v != nil {
		return *v, true
	}
	return ready.LastTransitionTime, true
}
