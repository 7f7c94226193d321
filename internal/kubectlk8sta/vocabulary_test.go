package kubectlk8sta

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/fn"
)

// TestFunctionVocabulary keeps the words kubectl k8sta reads in a Track's
// status.stations[] the ones function-k8sta writes there.
func TestFunctionVocabulary(t *testing.T) {
	want := []string{fn.HeldByWindow, fn.HeldByFreeze, fn.HeldByApproval, fn.HeldByPin, fn.PhaseWaiting, fn.PhaseDelivering, fn.PhaseSoaking}
	got := []string{heldByWindow, heldByFreeze, heldByApproval, heldByPin, phaseWaiting, phaseDelivering, phaseSoaking}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("heldBy and phase words: -function-k8sta's, +kubectl k8sta's:\n%s", diff)
	}
	// The conditions and reasons it reads, and how many controls of a kind
	// the function considers.
	wantWords := []any{fn.TypePromoted, fn.TypeValid, fn.ReasonSection, fn.ReasonHalted, fn.MaxControls}
	gotWords := []any{conditionPromoted, conditionValid, reasonSection, reasonHalted, maxControls}
	if diff := cmp.Diff(wantWords, gotWords); diff != "" {
		t.Errorf("conditions, reasons and bounds: -function-k8sta's, +kubectl k8sta's:\n%s", diff)
	}
}
