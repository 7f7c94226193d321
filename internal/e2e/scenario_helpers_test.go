//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Helpers of the source-commit and failing-rollout scenarios.

// notifyGitPush sends GitHub's push webhook for the source branch main of
// the config repository to the provider, signed (HMAC-SHA256) with the
// key the Subscription's webhook Secret holds for GitHub, as GitHub would.
// The repository is named by its clone URL, which the receiver normalizes
// like the Track's repo URL.
func (w *world) notifyGitPush(after string) time.Time {
	w.t.Helper()
	sub := w.subscription()
	out, err := st.kubectl("get", "secret", "-n", w.ns, sub.GetName()+"-webhook", "-o", "jsonpath={.data.github}")
	if err != nil {
		// kubectl's output may hold the Secret: never show it.
		w.t.Fatalf("cannot read the webhook Secret %s/%s-webhook: %v", w.ns, sub.GetName(), err)
	}
	token := decodeBase64(w.t, out)
	url := w.git.URL(w.repo)
	body, err := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"after":      after,
		"repository": map[string]any{"clone_url": url, "html_url": strings.TrimSuffix(url, ".git")},
	})
	must(w.t, err)
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/hook/github/%s.%s", st.webhook, w.ns, sub.GetName()), strings.NewReader(string(body)))
	must(w.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	must(w.t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("git push webhook: HTTP %d, want 200", resp.StatusCode)
	}
	return sent
}

// track is the root Track.
func (w *world) track() *unstructured.Unstructured {
	w.t.Helper()
	u, err := st.kube.Resource(trackGVR).Namespace(w.ns).Get(context.Background(), "guestbook", metav1.GetOptions{})
	must(w.t, err)
	return u
}

// condition returns the status, reason and message of the condition typ
// of u ("" for all when it has none).
func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			return s, r, msg
		}
	}
	return "", "", ""
}

// changeField is a field (id, commit) of the change at fields of a Ticket:
// spec.forProvider.change or status.atProvider.change.
func changeField(t *unstructured.Unstructured, field string, fields ...string) string {
	if t == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(t.Object, append(fields, field)...)
	return v
}

func specChange(t *unstructured.Unstructured, field string) string {
	return changeField(t, field, "spec", "forProvider", "change")
}

func liveChange(t *unstructured.Unstructured, field string) string {
	return changeField(t, field, "status", "atProvider", "change")
}

// readyForCommit reports whether a Ticket is Ready for the change that
// renders commit with the image tag.
func readyForCommit(t *unstructured.Unstructured, commit, tag string) bool {
	if t == nil || specChange(t, "commit") != commit || ticketTag(t, "spec", "forProvider", "change") != tag {
		return false
	}
	_, ok := typedTicket(t).VerifiedFor(specChange(t, "id"))
	return ok
}

// appState is an Application's sync status, synced revision and health.
func (w *world) appState(name string) (sync, revision, health string) {
	app := w.app(name)
	sync, _, _ = unstructured.NestedString(app.Object, "status", "sync", "status")
	revision, _, _ = unstructured.NestedString(app.Object, "status", "sync", "revision")
	health, _, _ = unstructured.NestedString(app.Object, "status", "health", "status")
	return sync, revision, health
}

// checkDelivered asserts that the station's rendered branch head is the
// Ticket's rendered commit, that the branch's manifests hold every string
// of want, and that every Application is Synced to that commit and Healthy.
func (w *world) checkDelivered(s station, want ...string) {
	w.t.Helper()
	tk := w.tickets()[s.path]
	commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
	if head := w.git.Head(w.t, w.repo, s.branch); commit == "" || head != commit {
		w.t.Errorf("%s: Ticket rendered %q, branch %s is at %s", s.path, commit, s.branch, head)
	}
	m := string(w.git.Files(w.t, w.repo, s.branch)["manifests.yaml"])
	for _, x := range want {
		if !strings.Contains(m, x) {
			w.t.Errorf("%s: %s/manifests.yaml does not hold %q:\n%s", s.path, s.branch, x, m)
		}
	}
	for _, a := range s.apps {
		sync, rev, health := w.appState(a)
		if sync != "Synced" || rev != commit || health != "Healthy" {
			w.t.Errorf("Application %s: %s at %s, %s; want Synced at %s, Healthy", a, sync, rev, health, commit)
		}
	}
}

// frozen is what a station holds: its Ticket's change and its rendered
// branch head.
type frozen struct{ change, head string }

func (w *world) freeze(s station) frozen {
	w.t.Helper()
	return frozen{change: specChange(w.tickets()[s.path], "id"), head: w.git.Head(w.t, w.repo, s.branch)}
}

// holdsStill checks, once a second for window, that every station keeps
// what it held: the same change in spec.forProvider.change and the same
// rendered branch head. It reports the first departure.
func (w *world) holdsStill(window time.Duration, held map[string]frozen, stations ...station) {
	w.t.Helper()
	end := time.Now().Add(window)
	for {
		tks := w.tickets()
		for _, s := range stations {
			want := held[s.path]
			if got := specChange(tks[s.path], "id"); got != want.change {
				w.t.Fatalf("%s: Ticket was given change %s (commit %s), want it to keep %s", s.path, got, specChange(tks[s.path], "commit"), want.change)
			}
			if got := w.git.Head(w.t, w.repo, s.branch); got != want.head {
				w.t.Fatalf("%s: rendered branch %s moved from %s to %s", s.path, s.branch, want.head, got)
			}
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(time.Second)
	}
}

// stationsByPath indexes w.stations().
func (w *world) stationsByPath() map[string]station {
	out := map[string]station{}
	for _, s := range w.stations() {
		out[s.path] = s
	}
	return out
}
