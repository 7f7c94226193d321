package argocd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// These tests read Rollouts and Deployments from a real kube-apiserver with
// Argo Rollouts' own Rollout CRD, written as Argo Rollouts v1.10 and the
// Deployment controller write them (spec, then status through the status
// subresource). Neither controller runs.

// rolloutsAPIServer is realAPIServer with the Rollout CRD installed.
func rolloutsAPIServer(t *testing.T) client.WithWatch {
	t.Helper()
	if os.Getenv("ROLLOUTS_CRDS") == "" {
		msg := "ROLLOUTS_CRDS (hack/rollouts-crds.sh) must be set to run this test against a real API server with the Rollout CRD"
		if os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return realAPIServer(t)
}

var explainSeq atomic.Int64

// explainWorld is a namespace for one test's Rollouts and Deployments, and
// the Application argocd/guestbook that manages them.
type explainWorld struct {
	t  *testing.T
	c  client.Client
	ns string
}

func newExplainWorld(t *testing.T) *explainWorld {
	t.Helper()
	c := rolloutsAPIServer(t)
	w := &explainWorld{t: t, c: c, ns: fmt.Sprintf("explain-%d", explainSeq.Add(1))}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}); err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	rolloutGVK    = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

// tracked marks what Argo CD's Application argocd/guestbook manages.
func tracked(gvk schema.GroupVersionKind, ns, name string) map[string]any {
	return map[string]any{TrackingIDAnnotation: fmt.Sprintf("guestbook:%s/%s:%s/%s", gvk.Group, gvk.Kind, ns, name)}
}

func podTemplate(name string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": name}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": name, "image": "ghcr.io/acme/guestbook:1.2.3"}}},
	}
}

// canarySteps are four steps: the pauses are steps 2 and 4.
var canarySteps = []any{
	map[string]any{"setWeight": int64(20)},
	map[string]any{"pause": map[string]any{}},
	map[string]any{"setWeight": int64(50)},
	map[string]any{"pause": map[string]any{"duration": "1h"}},
}

// create creates a Rollout or Deployment with spec, then writes status as
// its controller does. annotations nil means tracked by argocd/guestbook.
func (w *explainWorld) create(gvk schema.GroupVersionKind, name string, spec, status, annotations map[string]any) ResourceStatus {
	w.t.Helper()
	if annotations == nil {
		annotations = tracked(gvk, w.ns, name)
	}
	base := map[string]any{
		"replicas": int64(1),
		"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
		"template": podTemplate(name),
	}
	if gvk == rolloutGVK {
		base["strategy"] = map[string]any{"canary": map[string]any{"steps": canarySteps}}
	}
	for k, v := range spec {
		base[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvk.GroupVersion().String(),
		"kind":       gvk.Kind,
		"metadata":   map[string]any{"name": name, "namespace": w.ns, "annotations": annotations},
		"spec":       base,
	}}
	ctx := context.Background()
	if err := w.c.Create(ctx, u); err != nil {
		w.t.Fatal(err)
	}
	if status != nil {
		u.Object["status"] = status
		if err := w.c.Status().Update(ctx, u); err != nil {
			w.t.Fatal(err)
		}
	}
	return w.ref(gvk, name)
}

func (w *explainWorld) ref(gvk schema.GroupVersionKind, name string) ResourceStatus {
	return ResourceStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: w.ns, Name: name, Status: SyncStatusSynced}
}

func (w *explainWorld) id(name string) string { return w.ns + "/" + name }

// notManagedIn is what Explain says of the Rollout name that app lists but
// does not manage, or that does not exist.
func (w *explainWorld) notManagedIn(name, app string) string {
	return "Rollout " + w.id(name) + ", which Application " + app + " lists in status.resources, is not a Rollout it manages (no such Rollout carries its argocd.argoproj.io/tracking-id annotation)"
}

// guestbook is the Application argocd/guestbook with health, deploying to
// the cluster Argo CD runs in, and res in status.resources.
func guestbook(health string, res ...ResourceStatus) *Application {
	return &Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "guestbook"},
		Spec:       ApplicationSpec{Destination: ApplicationDestination{Server: InClusterServer, Namespace: "guestbook"}},
		Status:     ApplicationStatus{Health: HealthStatus{Status: health}, Resources: res},
	}
}

func condition(typ, status, reason, message string) map[string]any {
	return map[string]any{
		"type": typ, "status": status, "reason": reason, "message": message,
		"lastTransitionTime": "2026-11-25T10:00:00Z", "lastUpdateTime": "2026-11-25T10:00:00Z",
	}
}

const abortedMessage = `Rollout aborted update to revision 3: Step-based analysis phase error/failed: Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`

// abortedStatus is what Argo Rollouts v1.10 writes when an analysis fails a
// canary.
func abortedStatus() map[string]any {
	return map[string]any{
		"phase":              "Degraded",
		"message":            "RolloutAborted: " + abortedMessage,
		"abort":              true,
		"currentStepIndex":   int64(0),
		"observedGeneration": "1",
		"conditions":         []any{condition("Progressing", "False", "RolloutAborted", abortedMessage)},
	}
}

// pausedStatus is what Argo Rollouts v1.10 writes at a canary's pause step
// (steps[index]).
func pausedStatus(index int64) map[string]any {
	return map[string]any{
		"phase":              "Paused",
		"message":            "CanaryPauseStep",
		"controllerPause":    true,
		"currentStepIndex":   index,
		"observedGeneration": "1",
		"pauseConditions":    []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-11-25T10:00:00Z"}},
	}
}

// countingReader counts the reads that reach the API server.
type countingReader struct {
	client.Reader
	gets atomic.Int64
}

func (r *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.gets.Add(1)
	return r.Reader.Get(ctx, key, obj, opts...)
}

func TestExplain(t *testing.T) {
	w := newExplainWorld(t)
	aborted := w.create(rolloutGVK, "aborted", nil, abortedStatus(), nil)
	paused := w.create(rolloutGVK, "paused", nil, pausedStatus(1), nil)
	timed := w.create(rolloutGVK, "timed", nil, pausedStatus(3), nil)
	progressing := w.create(rolloutGVK, "progressing", nil, map[string]any{
		"phase": "Progressing", "message": "more replicas need to be updated", "currentStepIndex": int64(0), "observedGeneration": "1",
	}, nil)
	manual := w.create(rolloutGVK, "manual", map[string]any{"paused": true}, map[string]any{"phase": "Paused", "message": "manually paused", "observedGeneration": "1"}, nil)
	const deadline = `ReplicaSet "web-5d8f7c9b4" has timed out progressing.`
	stuck := w.create(deploymentGVK, "web", nil, map[string]any{
		"observedGeneration": int64(1),
		"conditions": []any{
			condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
			condition("Progressing", "False", "ProgressDeadlineExceeded", deadline),
		},
	}, nil)
	other := w.create(rolloutGVK, "other-team", nil, abortedStatus(), tracked(rolloutGVK, w.ns, "x"))
	// Another Application's tracking id names the Rollout: not guestbook's.
	w.create(rolloutGVK, "other-app", nil, abortedStatus(), map[string]any{TrackingIDAnnotation: "guestbook2:argoproj.io/Rollout:" + w.ns + "/other-app"})
	labelled := w.create(rolloutGVK, "labelled", nil, abortedStatus(), map[string]any{})
	// The instance label is not a tracking id: Helm sets it too.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(rolloutGVK)
	must(t, w.c.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "labelled"}, u))
	u.SetLabels(map[string]string{"app.kubernetes.io/instance": "guestbook"})
	must(t, w.c.Update(context.Background(), u))
	// Marked for team-a/guestbook, an Application outside Argo CD's own
	// namespace, as Argo CD marks them: <namespace>_<name>.
	teamA := w.create(rolloutGVK, "team-a-app", nil, abortedStatus(), map[string]any{TrackingIDAnnotation: "team-a_guestbook:argoproj.io/Rollout:" + w.ns + "/team-a-app"})
	inTeamA := func(res ...ResourceStatus) *Application {
		a := guestbook(HealthDegraded, res...)
		a.Namespace = "team-a"
		return a
	}

	persisted := w.ref(rolloutGVK, "never-created")
	persisted.Health = &HealthStatus{Status: HealthDegraded, Message: "RolloutAborted: persisted by Argo CD"}
	persistedHealthy := w.ref(rolloutGVK, "never-created-either")
	persistedHealthy.Health = &HealthStatus{Status: HealthHealthy}

	cases := map[string]struct {
		app   *Application
		want  []string
		reads int64
	}{
		"AbortedRolloutInItsOwnWords": {
			app:   guestbook(HealthDegraded, aborted),
			want:  []string{"Rollout " + w.id("aborted") + " is Degraded: RolloutAborted: " + abortedMessage},
			reads: 1,
		},
		"PausedCanaryAtItsStep": {
			app:   guestbook(HealthSuspended, paused),
			want:  []string{"Rollout " + w.id("paused") + " is paused at step 2 of 4 (CanaryPauseStep)"},
			reads: 1,
		},
		"TimedPauseSaysNothing": {
			// Step 4 pauses for an hour and then goes on by itself.
			app:   guestbook(HealthSuspended, timed),
			reads: 1,
		},
		"ProgressingApplicationIsNotRead": {
			app: guestbook(HealthProgressing, progressing, paused),
		},
		"ManuallyPausedRollout": {
			app:   guestbook(HealthSuspended, manual),
			want:  []string{"Rollout " + w.id("manual") + " is paused (spec.paused)"},
			reads: 1,
		},
		"DeploymentPastItsProgressDeadline": {
			app:   guestbook(HealthDegraded, stuck),
			want:  []string{"Deployment " + w.id("web") + " is Degraded: ProgressDeadlineExceeded: " + deadline},
			reads: 1,
		},
		"RolloutsBeforeDeployments": {
			app: guestbook(HealthDegraded, stuck, aborted),
			want: []string{
				"Rollout " + w.id("aborted") + " is Degraded: RolloutAborted: " + abortedMessage,
				"Deployment " + w.id("web") + " is Degraded: ProgressDeadlineExceeded: " + deadline,
			},
			reads: 2,
		},
		"HealthyApplicationReadsNothing": {
			app: guestbook(HealthHealthy, aborted),
		},
		"PersistedHealthNeedsNoRead": {
			app:  guestbook(HealthDegraded, persisted, persistedHealthy),
			want: []string{"Rollout " + w.id("never-created") + " is Degraded: RolloutAborted: persisted by Argo CD"},
		},
		"NotFound": {
			app:   guestbook(HealthDegraded, w.ref(rolloutGVK, "gone")),
			want:  []string{w.notManagedIn("gone", "argocd/guestbook")},
			reads: 1,
		},
		"AnotherApplicationsRollout": {
			app: guestbook(HealthDegraded, other, w.ref(rolloutGVK, "other-app")),
			want: []string{
				// The same words as for one that does not exist.
				w.notManagedIn("other-team", "argocd/guestbook"),
				w.notManagedIn("other-app", "argocd/guestbook"),
			},
			reads: 2,
		},
		"InstanceLabelIsNoTrackingID": {
			app:   guestbook(HealthDegraded, labelled),
			want:  []string{w.notManagedIn("labelled", "argocd/guestbook")},
			reads: 1,
		},
		"OutsideArgoCDsNamespaceTrackedAsNamespaceName": {
			app:   inTeamA(teamA),
			want:  []string{"Rollout " + w.id("team-a-app") + " is Degraded: RolloutAborted: " + abortedMessage},
			reads: 1,
		},
		"SameNameInAnotherNamespaceIsNotIt": {
			// team-a/guestbook lists what Argo CD marked for argocd/guestbook.
			app:   inTeamA(aborted),
			want:  []string{w.notManagedIn("aborted", "team-a/guestbook")},
			reads: 1,
		},
		"DestinationElsewhere": {
			app: func() *Application {
				a := guestbook(HealthDegraded, aborted)
				a.Spec.Destination = ApplicationDestination{Server: "https://prod.example.com:6443", Namespace: "guestbook"}
				return a
			}(),
			want: []string{"K8sTA cannot read the resources of Application argocd/guestbook: they live in cluster https://prod.example.com:6443 (spec.destination), not in the cluster Argo CD runs in (https://kubernetes.default.svc), the only one K8sTA reads"},
		},
		"DestinationInClusterByName": {
			app: func() *Application {
				a := guestbook(HealthDegraded, aborted)
				a.Spec.Destination = ApplicationDestination{Name: InClusterName}
				return a
			}(),
			want:  []string{"Rollout " + w.id("aborted") + " is Degraded: RolloutAborted: " + abortedMessage},
			reads: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &countingReader{Reader: w.c}
			got := Explain(context.Background(), r, tc.app)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Explain(...): -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.reads, r.gets.Load()); diff != "" {
				t.Errorf("Explain(...) reads: -want, +got:\n%s", diff)
			}
		})
	}
}

// Explain reads at most MaxResourceReads resources of an Application, and
// says it stopped.
func TestExplainReadsAtMostAFewResources(t *testing.T) {
	w := newExplainWorld(t)
	var res []ResourceStatus
	for i := range 6 {
		res = append(res, w.create(rolloutGVK, fmt.Sprintf("healthy-%d", i), nil, map[string]any{"phase": "Healthy", "observedGeneration": "1"}, nil))
	}
	r := &countingReader{Reader: w.c}
	got := Explain(context.Background(), r, guestbook(HealthDegraded, res...))
	want := []string{"K8sTA read 4 of the 6 Rollouts and Deployments of Application argocd/guestbook and stops there"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Explain(...): -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(int64(MaxResourceReads), r.gets.Load()); diff != "" {
		t.Errorf("Explain(...) reads: -want, +got:\n%s", diff)
	}
}

// A Rollout's message, which its AnalysisTemplate's metrics write, is cut
// at MaxExplanationBytes on a rune boundary, on one line.
func TestExplainClipsLongMessages(t *testing.T) {
	w := newExplainWorld(t)
	status := abortedStatus()
	status["message"] = "RolloutAborted: line one\nline two " + strings.Repeat("é", 1000)
	ref := w.create(rolloutGVK, "chatty", nil, status, nil)
	got := Explain(context.Background(), w.c, guestbook(HealthDegraded, ref))
	if len(got) != 1 {
		t.Fatalf("Explain(...) = %q, want one explanation", got)
	}
	s := got[0]
	prefix := "Rollout " + w.id("chatty") + " is Degraded: RolloutAborted: line one line two éé"
	if len(s) > MaxExplanationBytes || !utf8.ValidString(s) || !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, "é…") {
		t.Errorf("Explain(...) = %q (%d bytes), want at most %d bytes of valid UTF-8 starting %q and ending \"é…\"", s, len(s), MaxExplanationBytes, prefix)
	}
}

// Without get on rollouts.argoproj.io and deployments.apps (real RBAC: the
// provider's service account, impersonated), Explain names the rule to
// grant and where, and reads what it may.
func TestExplainNamesTheMissingRBACRule(t *testing.T) {
	w := newExplainWorld(t)
	rollout := w.create(rolloutGVK, "aborted", nil, abortedStatus(), nil)
	deploy := w.create(deploymentGVK, "web", nil, map[string]any{
		"conditions": []any{condition("Progressing", "False", "ProgressDeadlineExceeded", "timed out")},
	}, nil)
	// The provider's ClusterRole before this change: Applications only.
	ctx := context.Background()
	sa := "system:serviceaccount:" + w.ns + ":provider-k8sta"
	must(t, w.c.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "provider-k8sta-argocd"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"applications"}, Verbs: []string{"get", "list", "watch", "patch"}}},
	}))
	must(t, w.c.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "provider-k8sta-argocd"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "provider-k8sta-argocd"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: sa}},
	}))
	cfg := rest.CopyConfig(apiserver.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: sa}
	provider, err := client.New(cfg, client.Options{Scheme: w.c.Scheme()})
	must(t, err)

	got := Explain(ctx, provider, guestbook(HealthDegraded, rollout, deploy))
	want := []string{
		"K8sTA may not read Rollout " + w.id("aborted") + ": grant it get on rollouts.argoproj.io in the cluster Argo CD runs in (ClusterRole provider-k8sta-argocd, examples/provider/rbac.yaml)",
		"K8sTA may not read Deployment " + w.id("web") + ": grant it get on deployments.apps in the cluster Argo CD runs in (ClusterRole provider-k8sta-argocd, examples/provider/rbac.yaml)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Explain(...): -want, +got:\n%s", diff)
	}

	// With the rules examples/provider/rbac.yaml grants, it reads them.
	must(t, w.c.Update(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "provider-k8sta-argocd"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"argoproj.io"}, Resources: []string{"applications"}, Verbs: []string{"get", "list", "watch", "patch"}},
			{APIGroups: []string{"argoproj.io"}, Resources: []string{"rollouts"}, Verbs: []string{"get"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
		},
	}))
	want = []string{
		"Rollout " + w.id("aborted") + " is Degraded: RolloutAborted: " + abortedMessage,
		"Deployment " + w.id("web") + " is Degraded: ProgressDeadlineExceeded: timed out",
	}
	// RBAC changes reach the authorizer through its informer.
	kubeenv.Eventually(t, "the granted rules", func() (bool, string) {
		got := Explain(ctx, provider, guestbook(HealthDegraded, rollout, deploy))
		return cmp.Equal(want, got), cmp.Diff(want, got)
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
