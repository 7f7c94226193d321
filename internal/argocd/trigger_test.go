package argocd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// The API server is shared by the tests of this package and stopped by
// TestMain.
var apiserver struct {
	once sync.Once
	env  *envtest.Environment
	cfg  *rest.Config
	c    client.WithWatch
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if apiserver.env != nil {
		if err := apiserver.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "cannot stop envtest:", err)
		}
	}
	os.Exit(code)
}

// realAPIServer starts (once) a real kube-apiserver with Argo CD's own
// Application CRD (and Argo Rollouts' Rollout CRD, when ROLLOUTS_CRDS is
// set) and returns a client for it. Without ARGOCD_CRDS and
// KUBEBUILDER_ASSETS it skips the test, unless K8STA_REQUIRE_INTEGRATION=1.
func realAPIServer(t *testing.T) client.WithWatch {
	t.Helper()
	crds, assets := os.Getenv("ARGOCD_CRDS"), os.Getenv("KUBEBUILDER_ASSETS")
	if crds == "" || assets == "" {
		msg := "ARGOCD_CRDS (hack/argocd-crds.sh) and KUBEBUILDER_ASSETS (hack/kube-binaries.sh) must both be set to run this test against a real API server"
		if os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	apiserver.once.Do(func() {
		// Argo CD's Application CRD (330 kB) is too big for client-side
		// apply; envtest creates it, which needs no last-applied annotation.
		paths := []string{filepath.Join(crds, "application-crd.yaml")}
		if rollouts := os.Getenv("ROLLOUTS_CRDS"); rollouts != "" {
			paths = append(paths, filepath.Join(rollouts, "rollout-crd.yaml"))
		}
		apiserver.env = &envtest.Environment{
			BinaryAssetsDirectory: assets,
			CRDInstallOptions: envtest.CRDInstallOptions{
				Paths:              paths,
				ErrorIfPathMissing: true,
			},
			ErrorIfCRDPathMissing: true,
		}
		cfg, err := apiserver.env.Start()
		if err != nil {
			apiserver.err = err
			return
		}
		apiserver.cfg = cfg
		s := runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(s); err != nil {
			apiserver.err = err
			return
		}
		if err := AddToScheme(s); err != nil {
			apiserver.err = err
			return
		}
		apiserver.c, apiserver.err = client.NewWithWatch(cfg, client.Options{Scheme: s})
		if apiserver.err != nil {
			return
		}
		apiserver.err = apiserver.c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}})
	})
	if apiserver.err != nil {
		t.Fatalf("cannot start a kube-apiserver with Argo CD's Application CRD: %v", apiserver.err)
	}
	return apiserver.c
}

// The Application spec and status shared by the tests: a single source at
// the rendered branch, a sync policy with options and a retry strategy, and
// the state left by the sync of an older change.
const singleSourceYAML = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  namespace: argocd
  labels:
    app.kubernetes.io/part-of: guestbook
  annotations:
    k8sta.io/authorized-tracks: team-a/guestbook
    notifications.argoproj.io/subscribe.on-sync-succeeded.slack: guestbook
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  source:
    repoURL: https://git.example.com/acme/guestbook-config.git
    path: .
    targetRevision: env/dev
    directory:
      recurse: true
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
    - ServerSideApply=true
    retry:
      limit: 5
      backoff:
        duration: 5s
        factor: 2
        maxDuration: 3m
      refresh: true
  revisionHistoryLimit: 3
status:
  reconciledAt: "2026-11-25T10:02:00Z"
  sync:
    status: OutOfSync
    revision: "1111111111111111111111111111111111111111"
  health:
    status: Healthy
  operationState:
    phase: Succeeded
    message: successfully synced (all tasks run)
    startedAt: "2026-11-25T10:00:00Z"
    finishedAt: "2026-11-25T10:01:00Z"
    operation:
      initiatedBy:
        username: k8sta
        automated: true
      info:
      - name: k8sta.io/ticket
        value: team-a/guestbook-dev/beef
      sync:
        revision: "0000000000000000000000000000000000000000"
        syncOptions:
        - CreateNamespace=true
    syncResult:
      revision: "0000000000000000000000000000000000000000"
`

const multiSourceYAML = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  namespace: argocd
  annotations:
    k8sta.io/authorized-tracks: team-b/other, team-a/guestbook
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  sources:
  - repoURL: https://charts.example.com/helm
    chart: redis
    targetRevision: 1.2.3
    helm:
      valueFiles:
      - $values/redis.yaml
  - repoURL: https://GIT.example.com/acme/guestbook-config/
    path: .
    targetRevision: refs/heads/env/dev
  - repoURL: https://git.example.com/acme/values.git
    ref: values
status:
  sync:
    status: OutOfSync
    revisions: ["1.2.3", "1111111111111111111111111111111111111111", "3333333333333333333333333333333333333333"]
  health:
    status: Healthy
`

// createApp creates an Application named name from y and returns what the
// API server stored, as read by the typed client and as unstructured.
func createApp(t *testing.T, c client.Client, name, y string) (*Application, *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatalf("cannot parse the test Application: %v", err)
	}
	u.SetName(name)
	if err := c.Create(ctx, u); err != nil {
		t.Fatalf("cannot create Application %s: %v", name, err)
	}
	a := &Application{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "argocd", Name: name}, a); err != nil {
		t.Fatalf("cannot get Application %s: %v", name, err)
	}
	return a, getUnstructured(t, c, name)
}

func getUnstructured(t *testing.T, c client.Client, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ApplicationGroupVersionKind)
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "argocd", Name: name}, u); err != nil {
		t.Fatalf("cannot get Application %s as unstructured: %v", name, err)
	}
	return u
}

// field returns the value at path of u (nil when absent).
func field(u *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldCopy(u.Object, path...)
	return v
}

// ourOperation is the .operation Trigger must write.
func ourOperation(sync map[string]any, retry map[string]any) map[string]any {
	op := map[string]any{
		"initiatedBy": map[string]any{"username": "k8sta", "automated": true},
		"info":        []any{map[string]any{"name": "k8sta.io/ticket", "value": ticket}},
		"sync":        sync,
	}
	if retry != nil {
		op["retry"] = retry
	}
	return op
}

var specRetry = map[string]any{
	"limit":   int64(5),
	"backoff": map[string]any{"duration": "5s", "factor": int64(2), "maxDuration": "3m"},
	"refresh": true,
}

// patchCounter wraps a real client and records the result of every Patch.
type patchCounter struct {
	mu      sync.Mutex
	results []error
}

func (p *patchCounter) client(c client.WithWatch) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			err := c.Patch(ctx, obj, patch, opts...)
			p.mu.Lock()
			defer p.mu.Unlock()
			p.results = append(p.results, err)
			return err
		},
	})
}

func (p *patchCounter) conflicts() (patches, conflicts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, err := range p.results {
		if apierrors.IsConflict(err) {
			conflicts++
		}
	}
	return len(p.results), conflicts
}

func TestTrigger(t *testing.T) {
	c := realAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	type counts struct{ Patches, Conflicts int }

	cases := map[string]struct {
		yaml string
		// meanwhile changes the Application after the caller read it.
		meanwhile   func(t *testing.T, name string)
		sourceIndex int
		// wantOperation is .operation afterwards; nil: unchanged.
		wantOperation map[string]any
		// wantTriggered: refresh annotation set, operationState cleared.
		wantTriggered bool
		wantLabels    map[string]string
		wantCounts    counts
		// wantBefore is Judge's state before Trigger; empty: NeedsSync.
		wantBefore State
		wantState  State
	}{
		"SingleSource": {
			yaml:        singleSourceYAML,
			sourceIndex: 0,
			wantOperation: ourOperation(map[string]any{
				"revision":    rev,
				"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
				"prune":       true,
			}, specRetry),
			wantTriggered: true,
			wantLabels:    map[string]string{"app.kubernetes.io/part-of": "guestbook"},
			wantCounts:    counts{Patches: 1},
			wantState:     Waiting,
		},
		"MultiSource": {
			// The rendered commit at the source Authorize picked; every other
			// source keeps its own targetRevision (empty: HEAD).
			yaml:        multiSourceYAML,
			sourceIndex: 1,
			wantOperation: ourOperation(map[string]any{
				"revisions": []any{"1.2.3", rev, ""},
			}, nil),
			wantTriggered: true,
			wantCounts:    counts{Patches: 1},
			wantState:     Waiting,
		},
		"StaleResourceVersionIsRetried": {
			yaml: singleSourceYAML,
			meanwhile: func(t *testing.T, name string) {
				t.Helper()
				labelPatch := []byte(`{"metadata":{"labels":{"meanwhile":"yes"}}}`)
				a := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: name}}
				if err := c.Patch(ctx, a, client.RawPatch(types.MergePatchType, labelPatch)); err != nil {
					t.Fatalf("cannot change the Application meanwhile: %v", err)
				}
			},
			wantOperation: ourOperation(map[string]any{
				"revision":    rev,
				"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
				"prune":       true,
			}, specRetry),
			wantTriggered: true,
			// The change made meanwhile is kept.
			wantLabels: map[string]string{"app.kubernetes.io/part-of": "guestbook", "meanwhile": "yes"},
			wantCounts: counts{Patches: 2, Conflicts: 1},
			wantState:  Waiting,
		},
		"AnotherActorStartedMeanwhile": {
			// After the conflict the Application is judged again: another
			// actor's operation is never replaced.
			yaml: singleSourceYAML,
			meanwhile: func(t *testing.T, name string) {
				t.Helper()
				opPatch := []byte(`{"operation":{"initiatedBy":{"username":"alice"},"sync":{"revision":"main"}}}`)
				a := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: name}}
				if err := c.Patch(ctx, a, client.RawPatch(types.MergePatchType, opPatch)); err != nil {
					t.Fatalf("cannot start alice's operation: %v", err)
				}
			},
			wantOperation: map[string]any{
				"initiatedBy": map[string]any{"username": "alice"},
				"sync":        map[string]any{"revision": "main"},
			},
			wantLabels: map[string]string{"app.kubernetes.io/part-of": "guestbook"},
			wantCounts: counts{Patches: 1, Conflicts: 1},
			wantState:  Waiting,
		},
		"OperationRunning": {
			// Another actor's operation is never replaced: nothing is sent.
			yaml: singleSourceYAML + `
operation:
  initiatedBy:
    username: alice
  sync:
    revision: main
`,
			wantOperation: map[string]any{
				"initiatedBy": map[string]any{"username": "alice"},
				"sync":        map[string]any{"revision": "main"},
			},
			wantLabels: map[string]string{"app.kubernetes.io/part-of": "guestbook"},
			wantCounts: counts{},
			wantBefore: Waiting,
			wantState:  Waiting,
		},
		"FailedSyncIsSyncedAgain": {
			// A deliberate re-sync of a failed revision, even after a conflict:
			// the Application still is what the caller judged.
			yaml: strings.NewReplacer(
				"phase: Succeeded", "phase: Failed",
				`revision: "0000000000000000000000000000000000000000"`, `revision: "`+rev+`"`,
				"value: team-a/guestbook-dev/beef", "value: "+ticket,
			).Replace(singleSourceYAML),
			meanwhile: func(t *testing.T, name string) {
				t.Helper()
				labelPatch := []byte(`{"metadata":{"labels":{"meanwhile":"yes"}}}`)
				a := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: name}}
				if err := c.Patch(ctx, a, client.RawPatch(types.MergePatchType, labelPatch)); err != nil {
					t.Fatalf("cannot change the Application meanwhile: %v", err)
				}
			},
			wantOperation: ourOperation(map[string]any{
				"revision":    rev,
				"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
				"prune":       true,
			}, specRetry),
			wantTriggered: true,
			wantLabels:    map[string]string{"app.kubernetes.io/part-of": "guestbook", "meanwhile": "yes"},
			wantCounts:    counts{Patches: 2, Conflicts: 1},
			wantBefore:    Failed,
			wantState:     Waiting,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			appName := "trigger-" + strings.ToLower(name)
			a, before := createApp(t, c, appName, tc.yaml)
			wantBefore := tc.wantBefore
			if wantBefore == "" {
				wantBefore = NeedsSync
			}
			if got := Judge(a, rev, tc.sourceIndex, ticket).State; got != wantBefore {
				t.Fatalf("Judge before Trigger: got %s, want %s", got, wantBefore)
			}
			if tc.meanwhile != nil {
				tc.meanwhile(t, appName)
			}

			pc := &patchCounter{}
			if err := Trigger(ctx, pc.client(c), a, testGrant, rev, ticket); err != nil {
				t.Fatalf("Trigger(...): %v", err)
			}
			after := getUnstructured(t, c, appName)

			if diff := cmp.Diff(tc.wantOperation, field(after, "operation")); diff != "" {
				t.Errorf(".operation: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(field(before, "spec"), field(after, "spec")); diff != "" {
				t.Errorf("spec changed: -before, +after:\n%s", diff)
			}
			wantAnnotations := before.GetAnnotations()
			wantOperationState := field(before, "status", "operationState")
			if tc.wantTriggered {
				wantAnnotations[RefreshAnnotation] = RefreshHard
				wantOperationState = nil
			}
			if diff := cmp.Diff(wantAnnotations, after.GetAnnotations()); diff != "" {
				t.Errorf("annotations: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLabels, after.GetLabels()); diff != "" {
				t.Errorf("labels: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(wantOperationState, field(after, "status", "operationState")); diff != "" {
				t.Errorf("status.operationState: -want, +got:\n%s", diff)
			}
			// The rest of the status is Argo CD's and stays.
			if diff := cmp.Diff(field(before, "status", "sync"), field(after, "status", "sync")); diff != "" {
				t.Errorf("status.sync changed: -before, +after:\n%s", diff)
			}

			patches, conflicts := pc.conflicts()
			if diff := cmp.Diff(tc.wantCounts, counts{Patches: patches, Conflicts: conflicts}); diff != "" {
				t.Errorf("patches sent: -want, +got:\n%s", diff)
			}

			// Trigger leaves app as the API server returned it; Judge now waits.
			if diff := cmp.Diff(after.GetResourceVersion(), a.GetResourceVersion()); diff != "" {
				t.Errorf("app not updated to what the API server returned: -want, +got:\n%s", diff)
			}
			if got := Judge(a, rev, tc.sourceIndex, ticket); got.State != tc.wantState {
				t.Errorf("Judge after Trigger: got %+v, want state %s", got, tc.wantState)
			}
		})
	}
}

func TestTriggerRefusesWhatItCannotLock(t *testing.T) {
	c := realAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, _ := createApp(t, c, "trigger-refuses", singleSourceYAML)

	cases := map[string]struct {
		app  func() *Application
		want string
	}{
		"NoResourceVersion": {
			app: func() *Application {
				b := a.DeepCopy()
				b.SetResourceVersion("")
				return b
			},
			want: "cannot trigger a sync of Application argocd/trigger-refuses: the Application has no resourceVersion to lock the patch on",
		},
		"NotAuthorized": {
			app: func() *Application {
				b := a.DeepCopy()
				b.SetAnnotations(nil)
				return b
			},
			want: "cannot trigger a sync of Application argocd/trigger-refuses: Application argocd/trigger-refuses does not authorize track team-a/guestbook: add team-a/guestbook to its annotation k8sta.io/authorized-tracks",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pc := &patchCounter{}
			err := Trigger(ctx, pc.client(c), tc.app(), testGrant, rev, ticket)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Trigger(...): -want, +got error:\n%s", diff)
			}
			if patches, _ := pc.conflicts(); patches != 0 {
				t.Errorf("Trigger(...) sent %d patches, want none", patches)
			}
		})
	}
	if got := field(getUnstructured(t, c, "trigger-refuses"), "operation"); got != nil {
		t.Errorf(".operation: want none, got %v", got)
	}
}

func TestRefresh(t *testing.T) {
	c := realAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, before := createApp(t, c, "refresh", singleSourceYAML)
	// A stale resourceVersion: Refresh reads the Application again, authorizes
	// it again and sets only the annotation.
	stale := a.DeepCopy()
	if err := c.Patch(ctx, a, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"meanwhile":"yes"}}}`))); err != nil {
		t.Fatalf("cannot change the Application meanwhile: %v", err)
	}
	before.SetLabels(map[string]string{"app.kubernetes.io/part-of": "guestbook", "meanwhile": "yes"})

	if err := Refresh(ctx, c, stale, testGrant); err != nil {
		t.Fatalf("Refresh(...): %v", err)
	}
	after := getUnstructured(t, c, "refresh")

	want := before.DeepCopy()
	ann := want.GetAnnotations()
	ann[RefreshAnnotation] = RefreshHard
	want.SetAnnotations(ann)
	ignore := func(u *unstructured.Unstructured) map[string]any {
		o := u.DeepCopy()
		o.SetResourceVersion("")
		o.SetManagedFields(nil)
		o.SetGeneration(0)
		return o.Object
	}
	if diff := cmp.Diff(ignore(want), ignore(after)); diff != "" {
		t.Errorf("Refresh(...) changed more than the refresh annotation: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(after.GetResourceVersion(), stale.GetResourceVersion()); diff != "" {
		t.Errorf("app not updated to what the API server returned: -want, +got:\n%s", diff)
	}
}

func TestSchemeListsAndWatches(t *testing.T) {
	c := realAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	w, err := c.Watch(ctx, &ApplicationList{}, client.InNamespace("argocd"))
	if err != nil {
		t.Fatalf("Watch(ApplicationList): %v", err)
	}
	defer w.Stop()
	a, _ := createApp(t, c, "listed", multiSourceYAML)
	for ev := range w.ResultChan() {
		if got, ok := ev.Object.(*Application); ok && got.GetName() == "listed" {
			if diff := cmp.Diff(a.Spec, got.Spec); diff != "" {
				t.Errorf("watched Application: -want, +got spec:\n%s", diff)
			}
			break
		}
	}

	l := &ApplicationList{}
	if err := c.List(ctx, l, client.InNamespace("argocd")); err != nil {
		t.Fatalf("List(ApplicationList): %v", err)
	}
	for _, got := range l.Items {
		if got.GetName() != "listed" {
			continue
		}
		want := &Application{
			Spec: ApplicationSpec{Sources: []ApplicationSource{
				{RepoURL: "https://charts.example.com/helm", TargetRevision: "1.2.3"},
				{RepoURL: "https://GIT.example.com/acme/guestbook-config/", Path: ".", TargetRevision: "refs/heads/env/dev"},
				{RepoURL: "https://git.example.com/acme/values.git"},
			}, Destination: ApplicationDestination{Server: InClusterServer, Namespace: "guestbook"}},
			Status: ApplicationStatus{
				Sync:   SyncStatus{Status: "OutOfSync", Revisions: []string{"1.2.3", rev, "3333333333333333333333333333333333333333"}},
				Health: HealthStatus{Status: HealthHealthy},
			},
		}
		if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
			t.Errorf("listed Application: -want, +got spec:\n%s", diff)
		}
		if diff := cmp.Diff(want.Status, got.Status); diff != "" {
			t.Errorf("listed Application: -want, +got status:\n%s", diff)
		}
		if i, err := Authorize(&got, testTrack, testRepo, testBranch); err != nil || i != 1 {
			t.Errorf("Authorize(listed): got %d, %v; want 1, nil", i, err)
		}
		return
	}
	t.Errorf("List(ApplicationList): Application listed not found among %d", len(l.Items))
}
