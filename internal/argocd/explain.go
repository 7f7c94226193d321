package argocd

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/bounded"
)

// Bounds of Explain.
const (
	// MaxResourceReads is how many resources Explain reads for one
	// Application.
	MaxResourceReads = 4
	// MaxExplanations is how many explanations Explain returns for one
	// Application.
	MaxExplanations = 4
	// MaxExplanationBytes bounds one explanation: the resource's own words
	// are cut there.
	MaxExplanationBytes = 512
)

// InClusterServer and InClusterName name the cluster Argo CD runs in, as
// an Application's spec.destination does.
const (
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
)

// TrackingIDAnnotation is Argo CD's mark on the resources an Application
// manages (Argo CD 3's default tracking method). Explain reads only what
// carries it: with resourceTrackingMethod: label it explains nothing.
const TrackingIDAnnotation = "argocd.argoproj.io/tracking-id"

// RBACHint is where an operator grants the provider what Explain reads.
const RBACHint = "ClusterRole provider-k8sta-argocd, examples/provider/rbac.yaml"

// An explainable kind: what Explain can say of it, and the RBAC it needs.
type explainable struct {
	gvk      schema.GroupVersionKind
	resource string // plural.group, as RBAC names it
	explain  func(u *unstructured.Unstructured, id string, appHealth string) string
}

// explainables in the order Explain reads them: a canary's Rollout says
// more than the Deployments beside it.
var explainables = []explainable{
	{gvk: schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}, resource: "rollouts.argoproj.io", explain: explainRollout},
	{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, resource: "deployments.apps", explain: explainDeployment},
}

// ExplainedGVKs are the kinds Explain may read: a client for an Argo CD
// control plane must map them.
func ExplainedGVKs() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(explainables))
	for _, e := range explainables {
		out = append(out, e.gvk)
	}
	return out
}

// Explain says, in the words of the resources themselves, why app's health
// is what it is: for a Degraded Application the Argo Rollouts and
// Deployments that are Degraded (an aborted Rollout's status.message, a
// Deployment's ProgressDeadlineExceeded), for a Suspended one the Rollouts
// and Deployments that wait for a person (a canary's pause step with no
// duration, spec.paused). A pause with a duration ends on its own: it is
// progress, and Explain says nothing of it. It returns nil for any other
// health, and reads nothing then.
//
// It reads the resources app's status.resources names, with r, which must
// reach the cluster Argo CD runs in and must read live (never a cache: a
// Rollout informer would hold every Rollout of the cluster). It prefers the
// health Argo CD persisted in status.resources, reads at most
// MaxResourceReads resources, only in the cluster Argo CD runs in, and only
// those that carry app's tracking mark, returns at most MaxExplanations,
// each at most MaxExplanationBytes. What it cannot read it says in a plain
// sentence; it never fails.
func Explain(ctx context.Context, r client.Reader, app *Application) []string {
	want := app.Status.Health.Status
	if want != HealthDegraded && want != HealthSuspended {
		return nil
	}
	var out []string
	say := func(format string, args ...any) {
		if len(out) < MaxExplanations {
			out = append(out, clip(fmt.Sprintf(format, args...)))
		}
	}

	type candidate struct {
		kind *explainable
		res  ResourceStatus
	}
	var unread []candidate
	for i := range explainables {
		k := &explainables[i]
		for _, res := range app.Status.Resources {
			if res.Group != k.gvk.Group || res.Kind != k.gvk.Kind || res.Name == "" {
				continue
			}
			if res.Health == nil {
				unread = append(unread, candidate{kind: k, res: res})
				continue
			}
			// Argo CD persisted the resource's health: its word stands.
			if h := res.Health.Status; h == HealthDegraded && want == HealthDegraded || h == HealthSuspended && want != HealthDegraded {
				say("%s %s is %s%s", k.gvk.Kind, resourceID(res), h, colon(res.Health.Message))
			}
		}
	}
	if len(unread) == 0 {
		return out
	}
	if !InCluster(app.Spec.Destination) {
		say("K8sTA cannot read the resources of Application %s: they live in %s (spec.destination), not in the cluster Argo CD runs in (%s), the only one K8sTA reads",
			appName(app), destination(app.Spec.Destination), InClusterServer)
		return out
	}
	reads := 0
	for _, c := range unread {
		if len(out) == MaxExplanations {
			break
		}
		if reads == MaxResourceReads {
			say("K8sTA read %d of the %d Rollouts and Deployments of Application %s and stops there", reads, len(unread), appName(app))
			break
		}
		reads++
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(c.kind.gvk)
		id := resourceID(c.res)
		if err := r.Get(ctx, types.NamespacedName{Namespace: c.res.Namespace, Name: c.res.Name}, u); err != nil {
			say("%s", readError(c.kind, c.res, app, err))
			continue
		}
		if !trackedBy(u, app) {
			// The same words as for one that does not exist: whether
			// another team's resource exists is none of this Ticket's
			// business.
			say("%s", notManaged(c.kind, c.res, app))
			continue
		}
		if s := c.kind.explain(u, id, want); s != "" {
			say("%s", s)
		}
	}
	return out
}

// InCluster tells whether d is the cluster Argo CD runs in.
func InCluster(d ApplicationDestination) bool {
	return strings.TrimSuffix(d.Server, "/") == InClusterServer || d.Server == "" && d.Name == InClusterName
}

func destination(d ApplicationDestination) string {
	switch {
	case d.Server != "":
		return "cluster " + d.Server
	case d.Name != "":
		return "cluster " + d.Name
	}
	return "no cluster"
}

// trackedBy tells whether u carries app's tracking mark: the tracking id
// Argo CD writes on it, <instance>:<group>/<kind>:<namespace>/<name>. The
// instance is the Application's name when it lives in Argo CD's own
// namespace and <namespace>_<name> otherwise, exactly one of the two, as
// Argo CD names it: an Application's status is only as trustworthy as
// whoever may write it, and accepting either form would let team-a/web's
// status.resources read another team's resources marked for argocd/web.
// The instance label is not accepted: other tools (Helm) set it too.
func trackedBy(u *unstructured.Unstructured, app *Application) bool {
	gvk := u.GroupVersionKind()
	return u.GetAnnotations()[TrackingIDAnnotation] == fmt.Sprintf("%s:%s/%s:%s/%s", instanceName(app), gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName())
}

// instanceName is the name Argo CD tracks app's resources by.
func instanceName(app *Application) string {
	if app.Namespace == "" || app.Namespace == v1alpha1.DefaultApplicationNamespace {
		return app.Name
	}
	return app.Namespace + "_" + app.Name
}

// notManaged says that a resource app lists is not one it manages: it does
// not exist, or does not carry app's tracking id.
func notManaged(k *explainable, res ResourceStatus, app *Application) string {
	return fmt.Sprintf("%s %s, which Application %s lists in status.resources, is not a %s it manages (no such %s carries its %s annotation)",
		k.gvk.Kind, resourceID(res), appName(app), k.gvk.Kind, k.gvk.Kind, TrackingIDAnnotation)
}

func readError(k *explainable, res ResourceStatus, app *Application, err error) string {
	id := resourceID(res)
	switch {
	case kerrors.IsForbidden(err):
		return fmt.Sprintf("K8sTA may not read %s %s: grant it get on %s in the cluster Argo CD runs in (%s)", k.gvk.Kind, id, k.resource, RBACHint)
	case kerrors.IsNotFound(err):
		return notManaged(k, res, app)
	case meta.IsNoMatchError(err):
		return fmt.Sprintf("cannot read %s %s: the cluster Argo CD runs in does not serve %s", k.gvk.Kind, id, k.gvk.GroupVersion())
	}
	// Only the status code: an error's text may quote a server's answer.
	var status kerrors.APIStatus
	if errors.As(err, &status) {
		code := int(status.Status().Code)
		return fmt.Sprintf("cannot read %s %s: the API server answered %d %s", k.gvk.Kind, id, code, http.StatusText(code))
	}
	return fmt.Sprintf("cannot read %s %s: the request failed", k.gvk.Kind, id)
}

// explainRollout says why an Argo Rollout is Degraded or paused, from what
// Argo Rollouts (v1.0 and later) writes: status.phase and status.message,
// status.pauseConditions, status.currentStepIndex, spec.paused.
func explainRollout(u *unstructured.Unstructured, id, appHealth string) string {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	message, _, _ := unstructured.NestedString(u.Object, "status", "message")
	if appHealth == HealthDegraded {
		if phase == HealthDegraded {
			return "Rollout " + id + " is Degraded" + colon(message)
		}
		if phase == "" {
			// Before v1.0 only the conditions tell, as Argo CD reads them.
			for _, c := range conditions(u) {
				if c["type"] == "InvalidSpec" || c["type"] == "Progressing" && (c["reason"] == "RolloutAborted" || c["reason"] == "ProgressDeadlineExceeded") {
					return "Rollout " + id + " is Degraded: " + c["reason"] + colon(c["message"])
				}
			}
		}
		return ""
	}
	if paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); paused {
		return "Rollout " + id + " is paused (spec.paused)"
	}
	pauses, _, _ := unstructured.NestedSlice(u.Object, "status", "pauseConditions")
	if phase != "Paused" && len(pauses) == 0 {
		return ""
	}
	var reasons []string
	for _, p := range pauses {
		if m, ok := p.(map[string]any); ok {
			if r, ok := m["reason"].(string); ok && r != "" {
				reasons = append(reasons, r)
			}
		}
	}
	why := strings.Join(reasons, ", ")
	if why == "" {
		why = message
	}
	steps, _, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
	step, ok, _ := unstructured.NestedInt64(u.Object, "status", "currentStepIndex")
	if ok && step >= 0 && step < int64(len(steps)) && timedPause(steps[step]) && onlyCanaryPauses(reasons) {
		return ""
	}
	if ok && len(steps) > 0 {
		// currentStepIndex is the index of the step the Rollout is at: the
		// pause itself, counted from 1 as a reader counts the steps.
		return fmt.Sprintf("Rollout %s is paused at step %d of %d%s", id, min(step+1, int64(len(steps))), len(steps), parens(why))
	}
	return "Rollout " + id + " is paused" + parens(why)
}

// timedPause tells whether a canary step is a pause with a duration.
func timedPause(step any) bool {
	m, _ := step.(map[string]any)
	p, _ := m["pause"].(map[string]any)
	d, ok := p["duration"]
	return ok && d != nil && d != ""
}

// onlyCanaryPauses tells whether the Rollout is paused by its pause step
// alone, not also by an analysis or a person.
func onlyCanaryPauses(reasons []string) bool {
	for _, r := range reasons {
		if r != "CanaryPauseStep" {
			return false
		}
	}
	return true
}

// explainDeployment says why a Deployment is Degraded (its Progressing
// condition's ProgressDeadlineExceeded) or paused (spec.paused).
func explainDeployment(u *unstructured.Unstructured, id, appHealth string) string {
	if appHealth != HealthDegraded {
		if paused, _, _ := unstructured.NestedBool(u.Object, "spec", "paused"); paused {
			return "Deployment " + id + " is paused (spec.paused)"
		}
		return ""
	}
	for _, c := range conditions(u) {
		if c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded" {
			return "Deployment " + id + " is Degraded: ProgressDeadlineExceeded" + colon(c["message"])
		}
	}
	return ""
}

// conditions are status.conditions as strings.
func conditions(u *unstructured.Unstructured) []map[string]string {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	out := make([]map[string]string, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := map[string]string{}
		for _, k := range []string{"type", "reason", "message"} {
			c[k], _ = m[k].(string)
		}
		out = append(out, c)
	}
	return out
}

func resourceID(r ResourceStatus) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// clip makes s one line of at most MaxExplanationBytes, cut on a rune
// boundary and marked as cut.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return bounded.Text(s, MaxExplanationBytes)
}
