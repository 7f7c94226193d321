package ticket

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Argo Rollouts is not running in these tests either. The helpers below
// create a Rollout (Argo Rollouts' real CRD, from ROLLOUTS_CRDS) as Argo CD
// would apply it, tracked by its Application, and write its status through
// the status subresource as the Argo Rollouts v1.10 controller does.

// rolloutNamespace creates the namespace the fixture's Applications deploy
// Rollouts to.
func (f *fixture) rolloutNamespace() string {
	f.t.Helper()
	ns := f.ns + "-guestbook"
	if err := kube.Get(context.Background(), types.NamespacedName{Name: ns}, &corev1.Namespace{}); err != nil {
		must(f.t, kube.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	return ns
}

// rollout creates the canary Rollout guestbook (four steps, pauses at steps
// 2 and 4) that Application app manages, lists it in the Application's
// status.resources as Argo CD does, and returns its namespace.
func (f *fixture) rollout(app string) string {
	return f.managed(app, "argoproj.io", "v1alpha1", "Rollout", map[string]any{
		"replicas": int64(2),
		"selector": map[string]any{"matchLabels": map[string]any{"app": "guestbook"}},
		"template": guestbookPodTemplate(),
		"strategy": map[string]any{"canary": map[string]any{"steps": []any{
			map[string]any{"setWeight": int64(20)},
			map[string]any{"pause": map[string]any{}},
			map[string]any{"setWeight": int64(50)},
			map[string]any{"pause": map[string]any{}},
		}}},
	})
}

// managed creates the object guestbook of kind group/version.kind with spec,
// as Argo CD applies it for Application app (tracked by its annotation), in
// the fixture's rollout namespace, lists it in the Application's
// status.resources, and returns its namespace.
func (f *fixture) managed(app, group, version, kind string, spec map[string]any) string {
	t := f.t
	t.Helper()
	ns := f.rolloutNamespace()
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	// An Application outside Argo CD's own namespace tracks as
	// <namespace>_<name>.
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata": map[string]any{
			"name": "guestbook", "namespace": ns,
			"annotations": map[string]any{"argocd.argoproj.io/tracking-id": fmt.Sprintf("%s_%s:%s/%s:%s/guestbook", f.argoNS, app, group, kind, ns)},
		},
		"spec": spec,
	}}
	must(t, kube.Create(context.Background(), u))
	a := f.app(app)
	must(t, unstructured.SetNestedSlice(a.Object, []any{map[string]any{
		"group": group, "version": version, "kind": kind, "namespace": ns, "name": "guestbook", "status": "Synced",
	}}, "status", "resources"))
	must(t, kube.Update(context.Background(), a))
	return ns
}

// managedStatus writes the status of the object guestbook of kind
// apiVersion/kind in ns, as its controller does, through the status
// subresource.
func (f *fixture) managedStatus(apiVersion, kind, ns string, status map[string]any) {
	f.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	must(f.t, kube.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "guestbook"}, u))
	u.Object["status"] = status
	must(f.t, kube.Status().Update(context.Background(), u))
}

func guestbookPodTemplate() map[string]any {
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "guestbook"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "guestbook", "image": "ghcr.io/acme/guestbook:1.2.3"}}},
	}
}

// rolloutStatus writes the Rollout's status as Argo Rollouts does.
func (f *fixture) rolloutStatus(ns string, status map[string]any) {
	f.t.Helper()
	f.managedStatus("argoproj.io/v1alpha1", "Rollout", ns, status)
}

// rolloutPausedAt is a canary paused at steps[index] by its pause step.
func rolloutPausedAt(index int64) map[string]any {
	return map[string]any{
		"phase": "Paused", "message": "CanaryPauseStep", "controllerPause": true, "currentStepIndex": index, "observedGeneration": "1",
		"pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-11-25T10:00:00Z"}},
	}
}

// rolloutCondition is an entry of a Rollout's status.conditions.
func rolloutCondition(typ, status, reason, message string) map[string]any {
	return map[string]any{
		"type": typ, "status": status, "reason": reason, "message": message,
		"lastTransitionTime": "2026-11-25T10:00:00Z", "lastUpdateTime": "2026-11-25T10:00:00Z",
	}
}

// deployment creates the Deployment guestbook that Application app manages
// and lists it in the Application's status.resources.
func (f *fixture) deployment(app string) string {
	return f.managed(app, "apps", "v1", "Deployment", map[string]any{
		"selector": map[string]any{"matchLabels": map[string]any{"app": "guestbook"}},
		"template": guestbookPodTemplate(),
	})
}

// deploymentStatus writes the Deployment's status as its controller does.
func (f *fixture) deploymentStatus(ns string, status map[string]any) {
	f.t.Helper()
	f.managedStatus("apps/v1", "Deployment", ns, status)
}
