//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// soakFor is dev's soak in this scenario: long enough that an early hop
// would show and that the Track's Soaking hold stays visible for a while
// even when Crossplane's breaker delays its composition by up to 10 s,
// short enough for the suite.
const soakFor = 30 * time.Second

// A station's soak runs on real time against real pods: once dev's
// Rollout is Healthy and its Ticket verified, the change waits there for
// the soak, the Track says until when, and int is given the change only
// after it: int's rendered commit is at least soakFor after dev's
// verification (both clocks are this machine's, to the second).
func TestSoakHoldsAVerifiedChangeForRealTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.devSoak = soakFor.String()
	w.installWith("1.0.0")
	intS := w.stationsByPath()["int"]

	good := w.push("1.1.0")
	w.notifyRegistryPush("1.1.0")
	// dev's verifiedAt as the function soaked it: read while it soaks, not
	// after (a Ticket that saw its Application waver would stamp a later
	// one when it verifies again).
	var verified string
	eventually(t, 8*time.Minute, "dev soaking 1.1.0, the Track saying until when", func() (bool, string) {
		s, r, msg := condition(w.track(), "Promoted")
		soaking := r == "Soaking" && strings.HasPrefix(msg, "dev: ") && strings.Contains(msg, "soaks until")
		if soaking && verified == "" {
			verified, _, _ = unstructured.NestedString(w.tickets()["dev"].Object, "status", "atProvider", "verifiedAt")
		}
		return soaking && verified != "", fmt.Sprintf("Promoted %s (%s): %s; dev verified at %q", s, r, msg, verified)
	})
	w.waitAllReady("1.1.0")

	verifiedAt, err := time.Parse(time.RFC3339, verified)
	must(t, err)
	intTk := w.tickets()["int"]
	commit, _, _ := unstructured.NestedString(intTk.Object, "status", "atProvider", "renderedCommit")
	pushedAt := w.git.CommitTime(t, w.repo, commit)
	if early := verifiedAt.Add(soakFor).Sub(pushedAt); early > 0 {
		t.Errorf("int rendered 1.1.0 at %s, %v before dev's soak of %v ended (verified at %s)", pushedAt.Format(time.RFC3339), early, soakFor, verified)
	}
	t.Logf("MEASURED: dev verified → int rendered: %v (soak %v)", pushedAt.Sub(verifiedAt), soakFor)
	w.checkDelivered(intS, w.image+"@"+good)
}
