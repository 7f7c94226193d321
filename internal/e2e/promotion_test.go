//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// An image pushed to the registry, announced by its webhook, moves dev →
// int (both Applications) → us and eu in parallel, passing each station's
// canary analysis: every Argo CD Application ends Synced to its station's
// rendered commit and Healthy, every Rollout's stable ReplicaSet runs the
// image's digest on Ready pods, every rendered branch holds the image, and
// `crossplane beta trace` lists every Ticket Ready, named after its
// station. The lead time and K8sTA's share of each hop are logged.
func TestImagePushPromotesThroughTheTrack(t *testing.T) {
	w := newWorld(t)
	tally := tallyBreaker(t, w.ns)
	w.installWith("1.0.0")
	stations := w.stations()
	n, by := tally.reset()
	t.Logf("MEASURED: circuit-breaker tokens for the Track's install and first promotion: %d (Crossplane allows a burst of 100, +1/s):%s", n, by)

	w.push("1.1.0")
	sent := w.notifyRegistryPush("1.1.0")
	rendered := map[string]time.Time{}
	ready := map[string]time.Time{}
	oldCommit := map[string]string{}
	for p, tk := range w.tickets() {
		oldCommit[p], _, _ = unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
	}
	eventually(t, 5*time.Minute, "every station Ready for 1.1.0", func() (bool, string) {
		now := time.Now()
		for p, tk := range w.tickets() {
			c, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
			if _, seen := rendered[p]; !seen && c != "" && c != oldCommit[p] {
				rendered[p] = now
			}
			if _, seen := ready[p]; !seen && readyFor(tk, "1.1.0") {
				ready[p] = now
			}
		}
		return w.allReady("1.1.0")
	})
	n, by = tally.reset()
	t.Logf("MEASURED: circuit-breaker tokens for the promotion of 1.1.0: %d:%s", n, by)

	for _, s := range stations {
		tk := w.tickets()[s.path]
		commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
		if head := w.git.Head(t, w.repo, s.branch); head != commit {
			t.Errorf("%s: Ticket rendered %s, branch %s is at %s", s.path, commit, s.branch, head)
		}
		// The change pins the tag's digest, which kustomize renders as image@digest.
		digest := ticketImage(tk, "digest")
		if m := string(w.git.Files(t, w.repo, s.branch)["manifests.yaml"]); digest == "" || !strings.Contains(m, w.image+"@"+digest) {
			t.Errorf("%s: %s does not hold %s:1.1.0 (%s)", s.path, s.branch, w.image, digest)
		}
		for _, a := range s.apps {
			app := w.app(a)
			sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
			rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
			health, _, _ := unstructured.NestedString(app.Object, "status", "health", "status")
			if sync != "Synced" || rev != commit || health != "Healthy" {
				t.Errorf("Application %s: %s at %s, %s; want Synced at %s, Healthy", a, sync, rev, health, commit)
			}
			// Healthy is Argo Rollouts' word: the canary passed its
			// analysis and the stable ReplicaSet runs the change.
			eventually(t, time.Minute, a+": stable ReplicaSet runs 1.1.0 on Ready pods", func() (bool, string) {
				return w.stableRuns(a, w.image+"@"+digest)
			})
		}
	}

	// Ready was awaited, Synced was not: a reconcile that failed a moment
	// (an API server slow to answer) leaves a Ticket Synced False until the
	// next.
	var out string
	eventually(t, 2*time.Minute, "crossplane beta trace shows every Ticket Synced and Ready", func() (bool, string) {
		o, err := st.crossplane("beta", "trace", "track", "guestbook", "-n", w.ns)
		if err != nil {
			return false, fmt.Sprintf("crossplane beta trace: %v\n%s", err, o)
		}
		out = o
		for _, line := range strings.Split(o, "\n") {
			if strings.Contains(line, "Ticket/") && !tracedReady(line) {
				return false, o
			}
		}
		return true, o
	})
	t.Logf("crossplane beta trace track guestbook -n %s:\n%s", w.ns, out)
	if n := strings.Count(out, "Ticket/"); n != len(stations) {
		t.Errorf("trace lists %d Tickets, want %d", n, len(stations))
	}
	// Each Ticket is named after the Track and its station's path.
	traced := map[string]bool{}
	for _, f := range strings.Fields(out) {
		if name, ok := strings.CutPrefix(f, "Ticket/"); ok {
			traced[name] = true
		}
	}
	for _, s := range stations {
		if name := "guestbook-" + strings.ReplaceAll(s.path, ".", "-"); !traced[name] {
			t.Errorf("trace lists no Ticket/%s for station %s", name, s.path)
		}
	}

	// The provider as it ships records what it did, on its metrics
	// endpoint: per station of this Track, and for every git, registry and
	// webhook request. Other scenarios share the provider: what is not
	// this namespace's is only asked to be there.
	eventually(t, 2*time.Minute, "the provider's metrics record the promotion", func() (bool, string) {
		ms, err := providerMetrics()
		if err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, s := range stations {
			// A section's station is labelled with its path from the root
			// and the section Track that holds it.
			at := map[string]string{"namespace": w.ns, "station": s.path}
			if sum(ms, "k8sta_promotions_total", map[string]string{"namespace": w.ns, "station": s.path, "result": "verified"}) < 2 {
				missing = append(missing, s.path+": 1.0.0 and 1.1.0 verified")
			}
			if sum(ms, "k8sta_lead_time_seconds_count", at) < 1 {
				missing = append(missing, s.path+": a lead time")
			}
			if s.path != "dev" && sum(ms, "k8sta_hop_seconds_count", at) < 1 {
				missing = append(missing, s.path+": a hop")
			}
		}
		if got := sum(ms, "k8sta_tickets", map[string]string{"namespace": w.ns, "phase": "Verified"}); got != float64(len(stations)) {
			missing = append(missing, fmt.Sprintf("%d Tickets Verified, not %v", len(stations), got))
		}
		for _, m := range []struct {
			name  string
			match map[string]string
		}{
			{"k8sta_webhook_requests_total", map[string]string{"sender": "distribution", "code": "200"}},
			{"k8sta_git_requests_total", map[string]string{"operation": "fetch", "result": "success"}},
			{"k8sta_git_requests_total", map[string]string{"operation": "push", "result": "success"}},
			{"k8sta_git_duration_seconds_count", map[string]string{"operation": "push"}},
			{"k8sta_render_duration_seconds_count", map[string]string{"result": "rendered"}},
			{"k8sta_registry_requests_total", map[string]string{"result": "success"}},
		} {
			if sum(ms, m.name, m.match) < 1 {
				missing = append(missing, fmt.Sprintf("%s%v", m.name, m.match))
			}
		}
		return len(missing) == 0, "missing " + strings.Join(missing, "; ") + "\n" +
			describe(ms, "k8sta_promotions_total", "k8sta_tickets", "k8sta_webhook_requests_total", "k8sta_git_requests_total")
	})

	last := time.Time{}
	for _, at := range ready {
		if at.After(last) {
			last = at
		}
	}
	t.Logf("MEASURED: webhook → last station Healthy: %v", last.Sub(sent))
	hops := []struct{ from, to string }{{"dev", "int"}, {"int", "regions.guestbook-us.us"}, {"int", "regions.guestbook-eu.eu"}}
	t.Logf("MEASURED: webhook → dev pushed: %v", rendered["dev"].Sub(sent))
	for _, h := range hops {
		t.Logf("MEASURED: K8sTA hop %s Ready → %s pushed: %v", h.from, h.to, rendered[h.to].Sub(ready[h.from]))
	}
}

// allReady reports whether every station's Ticket is Ready for tag.
func (w *world) allReady(tag string) (bool, string) {
	tks := w.tickets()
	var waiting []string
	for _, s := range w.stations() {
		if !readyFor(tks[s.path], tag) {
			waiting = append(waiting, s.path)
		}
	}
	sort.Strings(waiting)
	return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
}

// tracedReady reads the SYNCED and READY columns of a trace line.
func tracedReady(line string) bool {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "True" && f[i+1] == "True" {
			return true
		}
	}
	return false
}

// ticketImage is a field of the first image of the change live at a Ticket.
func ticketImage(t *unstructured.Unstructured, field string) string {
	imgs, _, _ := unstructured.NestedSlice(t.Object, "status", "atProvider", "change", "images")
	if len(imgs) == 0 {
		return ""
	}
	m, _ := imgs[0].(map[string]any)
	v, _ := m[field].(string)
	return v
}

func decodeBase64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	must(t, err)
	return string(b)
}
