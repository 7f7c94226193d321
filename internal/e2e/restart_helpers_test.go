//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// providerEnv is the environment install-packages.sh ran with (startStack),
// so that hack/stack/provider.sh restarts the provider in the same one.
func providerEnv() []string {
	return append(os.Environ(), "K8STA_REQUIRE_PACKAGES=1", "K8STA_PROVIDER_ARGS=--min-subscription-interval=1s --poll=30s")
}

// provider runs hack/stack/provider.sh on the stack: kill, start, restart or pid.
func (s *stack) provider(action string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(repoRoot(), "hack/stack/provider.sh"), s.dir, action)
	cmd.Dir = repoRoot()
	cmd.Env = providerEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// providerProcess is the running provider's pid and command line (its argv,
// which holds no credential), or why there is none.
func (s *stack) providerProcess() (pid, cmdline string, err error) {
	out, err := s.provider("pid")
	if err != nil {
		return "", "", fmt.Errorf("hack/stack/provider.sh pid: %w: %s", err, out)
	}
	pid = lastLine(out)
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return "", "", err
	}
	if len(b) == 0 {
		return "", "", fmt.Errorf("process %s has no command line (it exited)", pid)
	}
	return pid, strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " "), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// pushHold holds the first push to one rendered branch at the git server
// after the branch has moved and before the pusher hears back: a git
// reference-transaction hook in the bare repository, in state "committed"
// (the ref is updated, receive-pack has not reported yet), writes the new
// commit to a file and waits until the test releases it.
type pushHold struct {
	dir string
}

// holdPush arms a pushHold for branch in the world's config repository.
func (w *world) holdPush(branch string) *pushHold {
	w.t.Helper()
	h := &pushHold{dir: w.t.TempDir()}
	hook := fmt.Sprintf(`#!/bin/sh
# Installed by the e2e test (pushHold): holds the first update of %[1]s.
[ "$1" = committed ] || exit 0
while read -r old new ref; do
  [ "$ref" = %[1]s ] || continue
  [ -e %[2]s/landed ] && continue
  echo "$new" >%[2]s/landed.tmp && mv %[2]s/landed.tmp %[2]s/landed
  i=0
  while [ ! -e %[2]s/released ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
done
exit 0
`, "refs/heads/"+branch, h.dir)
	path := filepath.Join(w.git.Path(w.repo), "hooks", "reference-transaction")
	must(w.t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(w.t, os.WriteFile(path, []byte(hook), 0o755))
	w.t.Cleanup(func() {
		h.release()
		_ = os.Remove(path)
	})
	return h
}

// landed is the commit the held push put on the branch, once it has.
func (h *pushHold) landed() (string, bool) {
	b, err := os.ReadFile(filepath.Join(h.dir, "landed"))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// release lets the held push answer.
func (h *pushHold) release() {
	_ = os.WriteFile(filepath.Join(h.dir, "released"), nil, 0o644)
}

// k8staCommits returns the commits on branch whose message carries the
// trailer "K8sta-Change: <changeID>", newest first.
func (w *world) k8staCommits(branch, changeID string) []string {
	w.t.Helper()
	cmd := exec.Command("git", "log", "--format=%H%x1f%B%x1e", "refs/heads/"+branch)
	cmd.Dir = w.git.Path(w.repo)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	must(w.t, err)
	var shas []string
	for _, entry := range strings.Split(string(out), "\x1e") {
		sha, msg, ok := strings.Cut(strings.TrimSpace(entry), "\x1f")
		if !ok {
			continue
		}
		for _, line := range strings.Split(msg, "\n") {
			if strings.TrimSpace(line) == "K8sta-Change: "+changeID {
				shas = append(shas, sha)
				break
			}
		}
	}
	return shas
}

// syncRecord is one sync asked of or run by Argo CD, as seen on an Application.
type syncRecord struct {
	revision, user, info string
	startedAt            string // operationState.startedAt; "" for a request
}

func (r syncRecord) String() string {
	s := fmt.Sprintf("revision %s by %s (%s)", r.revision, r.user, r.info)
	if r.startedAt != "" {
		s += " started " + r.startedAt
	}
	return s
}

// appWatch watches the world's Applications from a resourceVersion on,
// seeing every change (a RetryWatcher resumes where it left off; a lost
// continuity is an error, never silently skipped), and records every sync
// request (.operation appearing or changing) and every sync Argo CD ran
// (a distinct operationState.startedAt) per Application.
type appWatch struct {
	apps   map[string]bool
	cancel context.CancelFunc
	done   chan struct{}
	notify func(app string, op syncRecord)

	mu       sync.Mutex
	lastOp   map[string]string // app → last .operation seen, as a key ("" for none)
	requests map[string][]syncRecord
	lastRun  map[string]string       // app → last operationState seen, as a key ("" for none)
	runs     map[string][]syncRecord // app → every operationState that appeared
	events   int
	errs     []string
}

// watchApps starts watching the world's Applications. notify, if set, is
// called (on the watch goroutine) with each new sync request.
func (w *world) watchApps(notify func(app string, op syncRecord)) *appWatch {
	w.t.Helper()
	aw := &appWatch{apps: map[string]bool{}, done: make(chan struct{}), notify: notify,
		lastOp: map[string]string{}, requests: map[string][]syncRecord{}, lastRun: map[string]string{}, runs: map[string][]syncRecord{}}
	for _, s := range w.stations() {
		for _, a := range s.apps {
			aw.apps[a] = true
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	aw.cancel = cancel
	apps := st.kube.Resource(applicationGVR).Namespace("argocd")
	l, err := apps.List(ctx, metav1.ListOptions{})
	must(w.t, err)
	for i := range l.Items {
		aw.observe(&l.Items[i], false)
	}
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, l.GetResourceVersion(), &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return apps.Watch(ctx, o)
		},
	})
	must(w.t, err)
	go func() {
		defer close(aw.done)
		defer rw.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					aw.fail("the Application watch ended early")
					return
				}
				switch ev.Type {
				case watch.Added, watch.Modified:
					if u, ok := ev.Object.(*unstructured.Unstructured); ok {
						aw.observe(u, true)
					}
				case watch.Error:
					aw.fail(fmt.Sprintf("the Application watch lost continuity: %v", ev.Object))
				}
			}
		}
	}()
	w.t.Cleanup(aw.stop)
	return aw
}

func (aw *appWatch) fail(msg string) {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	aw.errs = append(aw.errs, msg)
}

// observe records what one version of an Application shows. Only what
// happens after the initial list (live) counts: a request or a run already
// there then is not one of the watch's.
func (aw *appWatch) observe(u *unstructured.Unstructured, live bool) {
	name := u.GetName()
	if !aw.apps[name] {
		return
	}
	var req *syncRecord
	aw.mu.Lock()
	aw.events++
	if op, ok, _ := unstructured.NestedMap(u.Object, "operation"); ok && op != nil {
		// A request is an operation that appears, or one that now asks for
		// another revision (Argo CD may clear the revision on a retry: not
		// a new request).
		r := opRecord(op)
		last, had := aw.lastOp[name]
		key := "requested " + r.revision
		if live && (!had || last == "" || r.revision != "" && key != last) {
			aw.requests[name] = append(aw.requests[name], r)
			req = &r
		}
		if r.revision != "" || last == "" {
			aw.lastOp[name] = key
		}
	} else {
		aw.lastOp[name] = ""
	}
	// A run is an operationState that appears (K8sTA's trigger clears the
	// last one) or starts anew (another startedAt), whatever its phase.
	if stOp, ok, _ := unstructured.NestedMap(u.Object, "status", "operationState", "operation"); ok && stOp != nil {
		r := opRecord(stOp)
		r.startedAt, _, _ = unstructured.NestedString(u.Object, "status", "operationState", "startedAt")
		key := "started " + r.startedAt
		if aw.lastRun[name] != key && live {
			aw.runs[name] = append(aw.runs[name], r)
		}
		aw.lastRun[name] = key
	} else {
		aw.lastRun[name] = ""
	}
	aw.mu.Unlock()
	if req != nil && aw.notify != nil {
		aw.notify(name, *req)
	}
}

func opRecord(op map[string]any) syncRecord {
	r := syncRecord{}
	r.revision, _, _ = unstructured.NestedString(op, "sync", "revision")
	r.user, _, _ = unstructured.NestedString(op, "initiatedBy", "username")
	if r.user == "" {
		if auto, _, _ := unstructured.NestedBool(op, "initiatedBy", "automated"); auto {
			r.user = "<automated>"
		}
	}
	infos, _, _ := unstructured.NestedSlice(op, "info")
	for _, i := range infos {
		m, _ := i.(map[string]any)
		r.info += fmt.Sprintf("%v=%v", m["name"], m["value"])
	}
	return r
}

func (aw *appWatch) stop() {
	aw.cancel()
	<-aw.done
}

// syncs returns the sync requests and the syncs run for app whose revision
// is revision, every request and run of app, and the watch's errors.
func (aw *appWatch) syncs(app, revision string) (requests, runs, all []syncRecord) {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	for _, r := range aw.requests[app] {
		all = append(all, r)
		if r.revision == revision {
			requests = append(requests, r)
		}
	}
	for _, r := range aw.runs[app] {
		all = append(all, r)
		if r.revision == revision {
			runs = append(runs, r)
		}
	}
	return requests, runs, all
}

func (aw *appWatch) errors() []string {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	return append([]string(nil), aw.errs...)
}

// historyWith counts the entries of an Application's status.history (one
// per finished sync, as Argo CD records it) whose revision is revision.
func historyWith(app *unstructured.Unstructured, revision string) (n int, ids []string) {
	hist, _, _ := unstructured.NestedSlice(app.Object, "status", "history")
	for _, h := range hist {
		m, _ := h.(map[string]any)
		if m["revision"] == revision {
			n++
			ids = append(ids, fmt.Sprint(m["id"]))
		}
	}
	return n, ids
}

// pollInterval is the provider's --poll from its command line (the
// safety-net period at which it re-observes every resource), or def.
func pollInterval(cmdline string, def time.Duration) time.Duration {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "--poll="); ok {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
	}
	return def
}
