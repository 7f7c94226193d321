//go:build e2e

package e2e

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// The provider process is killed (SIGKILL) mid-promotion and restarted: no
// duplicate commit; no second sync operation for the same commit; the
// promotion completes.
//
// It is killed twice during one promotion of a new image, each time at a
// moment the test makes happen rather than guesses:
//
//  1. dev's push has landed: the git server has moved env/dev to the rendered
//     commit, but holds its answer (a reference-transaction hook), so the
//     provider dies never knowing its push succeeded: no Ticket status, no
//     sync asked for.
//  2. int is syncing: the watch on the Applications has just seen the
//     provider's sync request for an int Application.
//
// Each time it is restarted with the very same command line (hack/stack/
// provider.sh) once the moment has passed (the held push answered; int's
// sync operations finished). Then every Ticket must become Ready for the
// change, every rendered branch must hold exactly one K8sTA commit for it
// (the one dev's dead provider pushed, for dev), and every Application must
// have been asked once and have run once a sync of its rendered commit:
// counted from a watch that sees every change of the Applications from
// before the webhook to the end (requests and runs, whoever asked), from
// Argo CD's status.history, and from the final operationState. The
// Applications have no automated sync policy: K8sTA's are the only syncs.
//
// What each count alone would miss, and what covers it: status.history holds
// only syncs that succeeded, and only the last revisionHistoryLimit of them;
// operationState only the last operation. The watch sees every version of
// every Application from a resourceVersion listed before the webhook (a lost
// watch is an error), so it counts a second request even while it is pending,
// running or failed, and a run even when K8sTA's trigger cleared the state of
// the one before (which a re-trigger does). A second sync asked for after the
// promotion completed: the watch goes on for one poll interval of the
// provider (every Ticket is re-observed by then) after every Ticket is Ready.
// Made to re-sync each Ready Ticket once after a restart, the provider fails
// all three counts.
func TestProviderKilledMidPromotion(t *testing.T) {
	w := newWorld(t)
	w.installWith("1.0.0")
	// Whatever happens below, the next test finds a running provider.
	t.Cleanup(func() {
		if out, err := st.provider("start"); err != nil {
			t.Errorf("cannot start the provider again: %v\n%s", err, out)
		}
	})

	// Argo CD's own automated sync is off: every sync is one K8sTA asked for.
	for _, s := range w.stations() {
		for _, a := range s.apps {
			if auto, found, _ := unstructured.NestedFieldNoCopy(w.app(a).Object, "spec", "syncPolicy", "automated"); found && auto != nil {
				t.Fatalf("Application %s has spec.syncPolicy.automated %v: its syncs would not all be K8sTA's", a, auto)
			}
		}
	}
	_, cmd0, err := st.providerProcess()
	if err != nil {
		t.Fatalf("the provider does not run: %v", err)
	}

	intApps := map[string]bool{}
	for _, a := range w.stations()[1].apps {
		intApps[a] = true
	}
	intSyncAsked := make(chan string, 16)
	apps := w.watchApps(func(app string, op syncRecord) {
		if intApps[app] && op.user == "k8sta" && strings.Contains(op.info, "/") && !strings.HasSuffix(op.info, "/") {
			select {
			case intSyncAsked <- app + " " + op.info:
			default:
			}
		}
	})
	hold := w.holdPush("env/dev")

	w.push("1.1.0")
	w.notifyRegistryPush("1.1.0")
	started := time.Now()

	// Kill 1: dev's rendered commit is on env/dev; the provider awaits the answer.
	var landed string
	eventually(t, 8*time.Minute, "dev's push of 1.1.0 to land on env/dev", func() (bool, string) {
		var ok bool
		landed, ok = hold.landed()
		return ok, "env/dev at " + w.git.Head(t, w.repo, "env/dev")
	})
	killProvider(t, "dev's push landed, unanswered")
	hold.release()
	changeID := ticketChangeID(w.tickets()["dev"], "spec")
	if changeID == "" || ticketTag(w.tickets()["dev"], "spec", "forProvider", "change") != "1.1.0" {
		t.Fatalf("dev's Ticket does not hold 1.1.0 in spec (change %q)", changeID)
	}
	// The moment is the one meant: the branch moved, nothing else happened.
	if head := w.git.Head(t, w.repo, "env/dev"); head != landed {
		t.Fatalf("env/dev is at %s, the held push landed %s", head, landed)
	}
	dev := w.tickets()["dev"]
	if c, _, _ := unstructured.NestedString(dev.Object, "status", "atProvider", "renderedCommit"); c == landed {
		t.Fatalf("dev's Ticket already records %s: the provider heard back from its push before it was killed", landed)
	}
	for _, a := range w.stations()[0].apps {
		if req, _, _ := apps.syncs(a, landed); len(req) > 0 {
			t.Fatalf("Application %s was asked to sync %s before the kill: %v", a, landed, req)
		}
	}
	t.Logf("killed at moment 1: env/dev at %s (change %s), dev's Ticket does not know, no sync asked", v1alpha1.ShortCommit(landed), changeID)
	restartProvider(t, cmd0)

	// Kill 2: int is syncing.
	var asked string
	eventually(t, 8*time.Minute, "the provider to ask Argo CD to sync an int Application for "+changeID, func() (bool, string) {
		for {
			select {
			case a := <-intSyncAsked:
				if strings.HasSuffix(a, "/"+changeID) {
					asked = a
					return true, ""
				}
				continue
			default:
			}
			return false, "int's Ticket: " + ticketPhase(w.tickets()["int"])
		}
	})
	killProvider(t, "int syncing")
	t.Logf("killed at moment 2: sync asked for %s; int then: %s", asked, w.appStates(w.stations()[1].apps))
	// Let the moment pass: int's sync operations run to their end unattended.
	eventually(t, 5*time.Minute, "int's sync operations to finish with the provider down", func() (bool, string) {
		for _, a := range w.stations()[1].apps {
			if op, found, _ := unstructured.NestedMap(w.app(a).Object, "operation"); found && op != nil {
				return false, a + " still has an operation"
			}
		}
		return true, ""
	})
	t.Logf("int with the provider down: %s", w.appStates(w.stations()[1].apps))
	restartProvider(t, cmd0)

	eventually(t, 8*time.Minute, "every station Ready for 1.1.0 after the restarts", func() (bool, string) {
		return w.allReady("1.1.0")
	})
	t.Logf("MEASURED: webhook → every station Ready for 1.1.0, two provider kills included: %v", time.Since(started))

	// Every Ticket is re-observed by the restarted provider on its poll, at
	// the latest; syncs it would ask for then are counted too.
	settle := pollInterval(cmd0, time.Minute) + 5*time.Second
	t.Logf("watching the Applications for %v more (the provider's poll interval and then some)", settle)
	time.Sleep(settle)
	if !func() bool { ok, _ := w.allReady("1.1.0"); return ok }() {
		t.Errorf("not every station stayed Ready for 1.1.0")
	}
	apps.stop()
	for _, e := range apps.errors() {
		t.Errorf("%s: the sync counts below may miss some", e)
	}

	tks := w.tickets()
	for _, s := range w.stations() {
		tk := tks[s.path]
		commit, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "renderedCommit")
		if id := ticketChangeID(tk, "status"); id != changeID {
			t.Errorf("%s: Ticket holds change %s, want %s", s.path, id, changeID)
		}
		// No duplicate commit.
		commits := w.k8staCommits(s.branch, changeID)
		head := w.git.Head(t, w.repo, s.branch)
		if len(commits) != 1 {
			t.Errorf("%s: %s has %d commits with trailer K8sta-Change: %s, want exactly 1: %v", s.path, s.branch, len(commits), changeID, commits)
		} else if commits[0] != commit || head != commit {
			t.Errorf("%s: the K8sTA commit for %s is %s, the Ticket rendered %s, %s is at %s", s.path, changeID, commits[0], commit, s.branch, head)
		}
		if s.path == "dev" && commit != landed {
			t.Errorf("dev: Ticket rendered %s, not %s that the killed provider pushed", commit, landed)
		}

		info := "k8sta.io/ticket=" + tk.GetName() + "/" + changeID
		for _, a := range s.apps {
			app := w.app(a)
			// No second sync operation for the commit: asked once, run once,
			// recorded once.
			req, runs, all := apps.syncs(a, commit)
			if len(req) != 1 || len(runs) != 1 {
				t.Errorf("Application %s: %d sync requests and %d syncs run for %s, want 1 and 1; every sync seen since the webhook: %v", a, len(req), len(runs), v1alpha1.ShortCommit(commit), all)
			}
			for _, r := range all {
				if r.user != "k8sta" || r.info != info || r.revision != commit {
					t.Errorf("Application %s: a sync other than K8sTA's one for %s: %v", a, info, r)
				}
			}
			if n, ids := historyWith(app, commit); n != 1 {
				t.Errorf("Application %s: status.history has %d entries for %s (ids %v), want exactly 1", a, n, v1alpha1.ShortCommit(commit), ids)
			}
			if op, found, _ := unstructured.NestedMap(app.Object, "operation"); found && op != nil {
				t.Errorf("Application %s: an operation is still requested: %v", a, op)
			}
			phase, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "phase")
			opRev, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "operation", "sync", "revision")
			resRev, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "syncResult", "revision")
			if phase != "Succeeded" || opRev != commit || resRev != commit {
				t.Errorf("Application %s: last operation %s for %s, synced %s; want Succeeded for and at %s", a, phase, opRev, resRev, commit)
			}
			// The promotion completed.
			sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
			rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
			health, _, _ := unstructured.NestedString(app.Object, "status", "health", "status")
			if sync != "Synced" || rev != commit || health != "Healthy" {
				t.Errorf("Application %s: %s at %s, %s; want Synced at %s, Healthy", a, sync, rev, health, commit)
			}
		}
	}
}

// killProvider SIGKILLs the provider's process group and checks it is gone.
func killProvider(t *testing.T, moment string) {
	t.Helper()
	pid, _, err := st.providerProcess()
	if err != nil {
		t.Fatalf("the provider does not run (%s): %v", moment, err)
	}
	out, err := st.provider("kill")
	if err != nil {
		t.Fatalf("cannot kill the provider (%s): %v\n%s", moment, err, out)
	}
	t.Logf("%s: %s", time.Now().UTC().Format("15:04:05.000"), out)
	if p, _, _ := st.providerProcess(); p != "" {
		t.Fatalf("the provider still runs after SIGKILL (pid %s)", p)
	}
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && !zombie(string(b)) {
		t.Fatalf("process %q still runs after SIGKILL", pid)
	}
}

// restartProvider starts the provider again and checks it runs the same command.
func restartProvider(t *testing.T, cmdline string) {
	t.Helper()
	out, err := st.provider("start")
	if err != nil {
		t.Fatalf("cannot start the provider again: %v\n%s", err, out)
	}
	t.Logf("%s: %s", time.Now().UTC().Format("15:04:05.000"), out)
	pid, cmd, err := st.providerProcess()
	if err != nil {
		t.Fatalf("the restarted provider does not run: %v", err)
	}
	if cmd != cmdline {
		t.Fatalf("the restarted provider (pid %s) runs %q, want %q", pid, cmd, cmdline)
	}
}

// zombie tells whether /proc/PID/stat is a dead process not yet reaped.
func zombie(stat string) bool {
	_, rest, _ := strings.Cut(stat, ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

// ticketChangeID is the id of the change in a Ticket's spec or status.
func ticketChangeID(tk *unstructured.Unstructured, in string) string {
	path := []string{"spec", "forProvider", "change", "id"}
	if in == "status" {
		path = []string{"status", "atProvider", "change", "id"}
	}
	id, _, _ := unstructured.NestedString(tk.Object, path...)
	return id
}

func ticketPhase(tk *unstructured.Unstructured) string {
	if tk == nil {
		return "none"
	}
	phase, _, _ := unstructured.NestedString(tk.Object, "status", "atProvider", "phase")
	return ticketTag(tk, "spec", "forProvider", "change") + " " + phase
}

// appStates sums up Applications' sync, health and last operation.
func (w *world) appStates(names []string) string {
	var out []string
	for _, a := range names {
		app := w.app(a)
		sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
		rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
		health, _, _ := unstructured.NestedString(app.Object, "status", "health", "status")
		phase, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "phase")
		opRev, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "operation", "sync", "revision")
		_, requested, _ := unstructured.NestedMap(app.Object, "operation")
		out = append(out, a+": "+sync+" at "+v1alpha1.ShortCommit(rev)+", "+health+", operation "+phase+" for "+v1alpha1.ShortCommit(opRev)+map[bool]string{true: ", another requested", false: ""}[requested])
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
