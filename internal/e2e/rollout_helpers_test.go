//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Helpers of the canary scenarios: each Application deploys the Rollout
// guestbook into the namespace named like the Application.

var (
	rolloutGVR     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}
	analysisRunGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "analysisruns"}
	replicaSetGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	podGVR         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// rollout is the Rollout guestbook in namespace ns.
func (w *world) rollout(ns string) *unstructured.Unstructured {
	w.t.Helper()
	r, err := st.kube.Resource(rolloutGVR).Namespace(ns).Get(context.Background(), "guestbook", metav1.GetOptions{})
	must(w.t, err)
	return r
}

// stableRuns reports whether the stable ReplicaSet of the Rollout in ns runs
// image (name@digest) on as many Ready pods, scheduled on the kwok node, as
// the Rollout wants.
func (w *world) stableRuns(ns, image string) (bool, string) {
	w.t.Helper()
	ctx := context.Background()
	r := w.rollout(ns)
	stable, _, _ := unstructured.NestedString(r.Object, "status", "stableRS")
	want, _, _ := unstructured.NestedInt64(r.Object, "spec", "replicas")
	if stable == "" {
		return false, fmt.Sprintf("Rollout %s/guestbook has no stable ReplicaSet yet", ns)
	}
	sel := metav1.ListOptions{LabelSelector: "rollouts-pod-template-hash=" + stable}
	rss, err := st.kube.Resource(replicaSetGVR).Namespace(ns).List(ctx, sel)
	must(w.t, err)
	if len(rss.Items) != 1 {
		return false, fmt.Sprintf("%s: %d ReplicaSets with hash %s", ns, len(rss.Items), stable)
	}
	if got := containerImage(&rss.Items[0], "spec", "template", "spec", "containers"); got != image {
		return false, fmt.Sprintf("%s: stable ReplicaSet %s runs %s, want %s", ns, rss.Items[0].GetName(), got, image)
	}
	pods, err := st.kube.Resource(podGVR).Namespace(ns).List(ctx, sel)
	must(w.t, err)
	ready := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		node, _, _ := unstructured.NestedString(p.Object, "spec", "nodeName")
		if s, _, _ := condition(p, "Ready"); s == "True" && node == "k8sta-node" && containerImage(p, "spec", "containers") == image {
			ready++
		}
	}
	if int64(ready) != want {
		return false, fmt.Sprintf("%s: %d of %d stable pods Ready on k8sta-node running %s", ns, ready, want, image)
	}
	return true, ""
}

func containerImage(u *unstructured.Unstructured, fields ...string) string {
	cs, _, _ := unstructured.NestedSlice(u.Object, fields...)
	if len(cs) == 0 {
		return ""
	}
	m, _ := cs[0].(map[string]any)
	img, _ := m["image"].(string)
	return img
}

// failedAnalysis returns when the analysis of the Rollout in ns last failed
// (its failing measurement's finishedAt), and whether one has.
func (w *world) failedAnalysis(ns string) (time.Time, bool) {
	w.t.Helper()
	l, err := st.kube.Resource(analysisRunGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	must(w.t, err)
	var at time.Time
	for _, ar := range l.Items {
		if phase, _, _ := unstructured.NestedString(ar.Object, "status", "phase"); phase != "Failed" {
			continue
		}
		results, _, _ := unstructured.NestedSlice(ar.Object, "status", "metricResults")
		for _, r := range results {
			ms, _ := r.(map[string]any)["measurements"].([]any)
			for _, m := range ms {
				f, _ := m.(map[string]any)["finishedAt"].(string)
				if t, err := time.Parse(time.RFC3339, f); err == nil && t.After(at) {
					at = t
				}
			}
		}
	}
	return at, !at.IsZero()
}

// setQuality tells the stack's quality endpoint to answer answer (pass,
// fail, slow) for station's analyses of the image with digest.
func (w *world) setQuality(station, digest, answer string) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPut, st.env["QUALITY_URL"]+"/answers/"+station+"/"+digest, strings.NewReader(answer))
	must(w.t, err)
	resp, err := http.DefaultClient.Do(req)
	must(w.t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		w.t.Fatalf("quality endpoint: PUT /answers/%s/%s: HTTP %d", station, digest, resp.StatusCode)
	}
}

// promote resumes the paused Rollout in ns as `kubectl argo rollouts
// promote` does for a canary paused at a step: it clears the pause
// conditions through the status subresource.
func (w *world) promote(ns string) {
	w.t.Helper()
	_, err := st.kube.Resource(rolloutGVR).Namespace(ns).Patch(context.Background(), "guestbook", types.MergePatchType,
		[]byte(`{"status":{"pauseConditions":null}}`), metav1.PatchOptions{}, "status")
	must(w.t, err)
}
