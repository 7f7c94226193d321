package ticket

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/render"
)

// outputBombFiles is an overlay, "bomb", whose replacements copy one 16 KiB
// value into 64 ConfigMaps: 1 MiB of output, past testRenderLimits.
func outputBombFiles() map[string][]byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: source}\ndata: {v: %s}\n", strings.Repeat("x", 16<<10))
	for i := 0; i < 64; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: t%d}\ndata: {v: short}\n", i)
	}
	return map[string][]byte{
		"bomb/cms.yaml": []byte(b.String()),
		"bomb/kustomization.yaml": []byte(`resources: [cms.yaml]
replacements:
- source: {kind: ConfigMap, name: source, fieldPath: data.v}
  targets:
  - select: {kind: ConfigMap}
    reject: [{name: source}]
    fieldPaths: [data.v]
`),
	}
}

// A render that exceeds a bound is not tried again for the same spec: the
// Ticket is Blocked with a Rendered=False condition naming the bound, it
// goes on being reconciled without starting another render worker, and it
// renders again once its spec changes. On main, every reconcile (at most a minute apart) rendered it
// again, for as long as the render's time limit each time.
func TestRenderPastALimitIsNotRetriedUntilTheSpecChanges(t *testing.T) {
	f := newFixture(t)
	f.application("guestbook-dev", "env/dev")
	bomb := f.git.Commit(t, f.repo, "main", outputBombFiles(), "an overlay that renders 1 MiB")
	tk := f.ticketWith("guestbook-dev", change(bomb, "1.2.3"), func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Overlay = "bomb" }, "guestbook-dev")
	key := client.ObjectKeyFromObject(tk)

	eventually(t, "Rendered=False, RenderLimitExceeded", func() (bool, string) {
		got := getTicket(t, key)
		c := condition(got, TypeRendered)
		return c.Reason == ReasonRenderLimitExceeded && got.Status.AtProvider.Phase == v1alpha1.PhaseBlocked, fmt.Sprintf("%s %s %s: %s", got.Status.AtProvider.Phase, c.Status, c.Reason, c.Message)
	})
	got := getTicket(t, key)
	for _, want := range []string{`spec.forProvider.overlay "bomb"`, "the rendered manifests are larger than 256 KiB", "renders this Ticket again when its spec changes"} {
		if msg := condition(got, xpv2.TypeReady).Message; !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not say %q", msg, want)
		}
	}
	if n := workers.count(f.ns); n != 1 {
		t.Fatalf("%d render workers started for %s, want 1", n, f.ns)
	}

	// Each poke is a reconcile, as is each retry crossplane-runtime makes
	// on its own.
	for i := range 3 {
		token := "poke-" + strconv.Itoa(i)
		poke(t, key, token)
		eventually(t, "a reconcile", func() (bool, string) {
			got := getTicket(t, key).Status.LastHandledReconcileAt
			return got == token, got
		})
	}
	if n := workers.count(f.ns); n != 1 {
		t.Errorf("%d render workers started for %s after the refusal, want still 1", n, f.ns)
	}
	if f.branchExists("env/dev") {
		t.Errorf("env/dev was pushed")
	}

	// The spec changes: the Ticket renders again.
	fixed := getTicket(t, key)
	patch := client.MergeFrom(fixed.DeepCopy())
	fixed.Spec.ForProvider.Overlay = "overlays/dev"
	must(t, kube.Patch(context.Background(), fixed, patch))
	eventually(t, "Rendered=True", func() (bool, string) {
		c := condition(getTicket(t, key), TypeRendered)
		return c.Status == corev1.ConditionTrue && f.branchExists("env/dev"), fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
	})
	if n := workers.count(f.ns); n != 2 {
		t.Errorf("%d render workers started for %s, want 2", n, f.ns)
	}
}

// poke asks for a reconcile of the Ticket, the spec unchanged; its status
// shows token once the reconcile is done.
func poke(t *testing.T, key client.ObjectKey, token string) {
	t.Helper()
	tk := getTicket(t, key)
	patch := client.MergeFrom(tk.DeepCopy())
	meta.SetReconcileRequest(tk, token)
	must(t, kube.Patch(context.Background(), tk, patch))
}

// TestRefusedRender: a render refusal holds for the spec it was recorded
// for, until retryRefusedRenderAfter has passed.
func TestRefusedRender(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	refusal := func(generation int64, at time.Time) *v1alpha1.Ticket {
		tk := &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Generation: generation}}
		refuseRender(tk, render.ErrTimeLimit, at)
		tk.Generation = 3
		return tk
	}
	cases := map[string]struct {
		ticket *v1alpha1.Ticket
		want   bool
	}{
		"SameSpec":      {ticket: refusal(3, now.Add(-time.Minute)), want: true},
		"SpecChanged":   {ticket: refusal(2, now.Add(-time.Minute)), want: false},
		"LongAgo":       {ticket: refusal(3, now.Add(-retryRefusedRenderAfter)), want: false},
		"NeverRefused":  {ticket: &v1alpha1.Ticket{ObjectMeta: metav1.ObjectMeta{Generation: 3}}, want: false},
		"RenderedSince": {ticket: func() *v1alpha1.Ticket { tk := refusal(3, now); tk.SetConditions(rendered()); return tk }(), want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, got := refusedRender(tc.ticket, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("refusedRender(...): -want +got:\n%s", diff)
			}
		})
	}
}
