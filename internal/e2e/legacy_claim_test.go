//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	legacyClaimGVR = schema.GroupVersionResource{Group: "legacy.k8sta.io", Version: "v1alpha1", Resource: "tracks"}
	xtrackGVR      = schema.GroupVersionResource{Group: "legacy.k8sta.io", Version: "v1alpha1", Resource: "xtracks"}
)

// legacyRepo is the config repository of the claim's Track: its own, so
// that the scenario depends on nothing but what it writes.
const legacyRepo = "legacy-config"

// A platform repository that still writes claims installs the legacy XRD
// and its Composition with the one command README.md gives, writes a Track
// claim (legacy.k8sta.io), and an image pushed to the registry and announced
// by its webhook moves dev → prod through it on the real Crossplane core:
// the Tickets Crossplane composes for the claim's XTrack land in the claim's
// namespace and nowhere else, each Application ends Synced to its station's
// rendered commit and Healthy, every Ticket is Ready, and `crossplane beta
// trace` follows the claim to its XTrack and to each Ticket, all Ready.
func TestLegacyClaimPromotesThroughTheTrack(t *testing.T) {
	began := time.Now()
	w := newWorld(t)
	w.git.CreateRepo(t, legacyRepo, legacyConfigRepo(w.image))
	w.repo = legacyRepo
	const claim = "guestbook"
	stations := []station{
		{path: "dev", track: claim, branch: "env/dev", apps: []string{w.ns + "-dev"}},
		{path: "prod", track: claim, branch: "env/prod", apps: []string{w.ns + "-prod"}},
	}

	// The command README.md gives ("Claims"), run from the repository root.
	root := repoRoot()
	if out, err := st.kubectl("apply", "-f", filepath.Join(root, "examples/legacy/xrd.yaml"), "-f", filepath.Join(root, "examples/legacy/composition.yaml")); err != nil {
		t.Fatalf("kubectl apply -f examples/legacy/xrd.yaml -f examples/legacy/composition.yaml: %v\n%s", err, out)
	}
	// kubectl wait watches the XRD; a client polling the v1 API would log
	// its deprecation warning at every read.
	for _, c := range []string{"Established", "Offered"} {
		if out, err := st.kubectl("wait", "--for=condition="+c, "--timeout=3m", "compositeresourcedefinitions.apiextensions.crossplane.io/xtracks.legacy.k8sta.io"); err != nil {
			t.Fatalf("XRD xtracks.legacy.k8sta.io not %s: %v\n%s", c, err, out)
		}
	}

	w.push("1.0.0")
	w.applyYAML(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", w.ns))
	w.applyYAML(fmt.Sprintf("apiVersion: provider.k8sta.io/v1alpha1\nkind: ProviderConfig\nmetadata: {name: default, namespace: %s}\nspec: {}\n", w.ns))
	for _, s := range stations {
		for _, app := range s.apps {
			// A claim's Tickets name the claim: the Application authorizes
			// <claim namespace>/<claim name>, never the XTrack.
			w.applyYAML(w.application(app, claim, s.branch))
		}
	}
	created := time.Now()
	w.applyYAML(fmt.Sprintf(`apiVersion: legacy.k8sta.io/v1alpha1
kind: Track
metadata: {name: %s, namespace: %s}
spec:
  repo: {url: %s, sourceBranch: main}
  subscriptions:
    images: [{repository: %s, strategy: SemVer}]
  stations:
  - {name: dev, overlay: overlays/dev, applications: [{name: %s-dev, namespace: argocd}]}
  - {name: prod, overlay: overlays/prod, applications: [{name: %s-prod, namespace: argocd}]}
`, claim, w.ns, w.git.URL(w.repo), w.image, w.ns, w.ns))
	eventually(t, 8*time.Minute, "every station of the claim Ready for 1.0.0", func() (bool, string) {
		return allReadyAt(w.tickets(), stations, "1.0.0")
	})
	installed := time.Now()

	w.push("1.1.0")
	sent := w.notifyRegistryPush("1.1.0")
	eventually(t, 5*time.Minute, "every station of the claim Ready for 1.1.0", func() (bool, string) {
		return allReadyAt(w.tickets(), stations, "1.1.0")
	})
	promoted := time.Now()

	// The claim's XTrack: cluster-scoped, bound to the claim.
	c, err := st.kube.Resource(legacyClaimGVR).Namespace(w.ns).Get(context.Background(), claim, metav1.GetOptions{})
	must(t, err)
	xrName, _, _ := unstructured.NestedString(c.Object, "spec", "resourceRef", "name")
	xr, err := st.kube.Resource(xtrackGVR).Get(context.Background(), xrName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("cannot get XTrack %q, the claim's spec.resourceRef: %v", xrName, err)
	}
	if ref, _, _ := unstructured.NestedStringMap(xr.Object, "spec", "claimRef"); ref["namespace"] != w.ns || ref["name"] != claim {
		t.Errorf("XTrack %s: spec.claimRef %v, want Track %s/%s", xrName, ref, w.ns, claim)
	}

	// Every Ticket the XTrack controls, in every namespace, is in the
	// claim's namespace, one per station, and names the claim.
	all, err := st.kube.Resource(ticketGVR).List(context.Background(), metav1.ListOptions{})
	must(t, err)
	var composed []string
	for i := range all.Items {
		tk := &all.Items[i]
		if ctl := metav1.GetControllerOf(tk); ctl == nil || ctl.UID != xr.GetUID() {
			continue
		}
		composed = append(composed, tk.GetNamespace()+"/"+tk.GetName())
		if tk.GetNamespace() != w.ns {
			t.Errorf("Ticket %s/%s, composed by XTrack %s, is not in the claim's namespace %s", tk.GetNamespace(), tk.GetName(), xrName, w.ns)
		}
		if tr, _, _ := unstructured.NestedString(tk.Object, "spec", "forProvider", "track"); tr != claim {
			t.Errorf("Ticket %s/%s: spec.forProvider.track %q, want the claim's name %q", tk.GetNamespace(), tk.GetName(), tr, claim)
		}
	}
	sort.Strings(composed)
	if len(composed) != len(stations) {
		t.Errorf("XTrack %s controls %d Tickets (%v), want %d, one per station", xrName, len(composed), composed, len(stations))
	}

	for _, s := range stations {
		digest := ticketImage(w.tickets()[s.path], "digest")
		if digest == "" {
			t.Errorf("%s: the Ticket's live change has no image digest", s.path)
			continue
		}
		w.checkDelivered(s, w.image+"@"+digest)
	}

	// The claim's Ready follows its XTrack's when Crossplane's claim
	// controller next reconciles it, a moment after the last Ticket's.
	var out string
	eventually(t, 2*time.Minute, "crossplane beta trace shows the claim, its XTrack and every Ticket Synced and Ready", func() (bool, string) {
		o, err := st.crossplane("beta", "trace", "track.legacy.k8sta.io/"+claim, "-n", w.ns, "-o", "wide")
		if err != nil {
			return false, fmt.Sprintf("crossplane beta trace: %v\n%s", err, o)
		}
		out = o
		for _, lines := range tracedByKind(o) {
			for _, l := range lines {
				if !tracedReady(l) {
					return false, o
				}
			}
		}
		return true, o
	})
	t.Logf("crossplane beta trace track.legacy.k8sta.io/%s -n %s -o wide:\n%s", claim, w.ns, out)
	traced := tracedByKind(out)
	for kind, want := range map[string]int{"Track": 1, "XTrack": 1, "Ticket": len(stations)} {
		if lines := traced[kind]; len(lines) != want {
			t.Errorf("trace lists %d %s, want %d", len(lines), kind, want)
		}
	}
	if got, want := traced["Track"], "Track/"+claim; len(got) == 1 && !strings.Contains(got[0], want) {
		t.Errorf("trace's claim is %q, want %s", got[0], want)
	}
	if got := traced["XTrack"]; len(got) == 1 && !strings.Contains(got[0], "XTrack/"+xrName) {
		t.Errorf("trace's XTrack is %q, want XTrack/%s", got[0], xrName)
	}

	// kubectl k8sta finds the claim by its name, reads the status
	// Crossplane copied from the XTrack, and a Freeze it writes for the
	// claim reaches the function that composes the XTrack: the claim's
	// status shows prod frozen.
	eventually(t, 2*time.Minute, "kubectl k8sta status shows both stations of the claim Verified at 1.1.0", func() (bool, string) {
		return claimStationsAre(w.k8sta("status", claim, "-n", w.ns, "-o", "json"), map[string]string{"dev": "1.1.0", "prod": "1.1.0"}, "")
	})
	froze := time.Now()
	w.k8sta("freeze", claim, "prod", "-n", w.ns, "--reason", "e2e of a legacy claim")
	eventually(t, 2*time.Minute, "the claim's prod frozen", func() (bool, string) {
		return claimStationsAre(w.k8sta("status", claim, "-n", w.ns, "-o", "json"), map[string]string{"prod": "1.1.0"}, "Freeze")
	})
	t.Logf("MEASURED: kubectl k8sta freeze of the claim's prod → shown frozen in the claim's status: %v", time.Since(froze))
	w.k8sta("unfreeze", claim, "prod", "-n", w.ns)

	t.Logf("MEASURED: legacy claim created → every station Ready for 1.0.0: %v", installed.Sub(created))
	t.Logf("MEASURED: webhook → every station Ready for 1.1.0: %v", promoted.Sub(sent))
	t.Logf("MEASURED: scenario wall time (XRD install included): %v", time.Since(began))
}

// legacyConfigRepo is the claim's config repository: a kustomize base whose
// Deployment has no replicas (Healthy at once, with no pods to run) and
// the overlays dev and prod.
func legacyConfigRepo(image string) map[string][]byte {
	files := map[string][]byte{
		"base/kustomization.yaml": []byte("resources:\n- deployment.yaml\n"),
		"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 0
  selector: {matchLabels: {app: guestbook}}
  template:
    metadata: {labels: {app: guestbook}}
    spec:
      containers:
      - name: guestbook
        image: ` + image + `:0.0.0
`),
	}
	for _, s := range []string{"dev", "prod"} {
		files["overlays/"+s+"/kustomization.yaml"] = []byte("resources:\n- ../../base\nlabels:\n- pairs: {station: " + s + "}\n")
	}
	return files
}

// allReadyAt reports whether the Ticket of every station is Ready for tag.
func allReadyAt(tickets map[string]*unstructured.Unstructured, stations []station, tag string) (bool, string) {
	var waiting []string
	for _, s := range stations {
		if !readyFor(tickets[s.path], tag) {
			waiting = append(waiting, s.path)
		}
	}
	return len(waiting) == 0, "waiting for " + strings.Join(waiting, ", ")
}

// tracedByKind groups the lines of `crossplane beta trace` by the kind of
// the object each names (the KIND/NAME field after the tree's branches).
func tracedByKind(out string) map[string][]string {
	by := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(line) {
			if kind, _, ok := strings.Cut(f, "/"); ok && kind != "" && !strings.ContainsAny(kind, "─│├└") {
				by[kind] = append(by[kind], line)
				break
			}
		}
	}
	return by
}

// claimStationsAre reports whether `kubectl k8sta status -o json` shows each
// station of want Verified with the change of its tag, held by heldBy.
func claimStationsAre(doc string, want map[string]string, heldBy string) (bool, string) {
	var d struct {
		Stations []struct {
			Path   string `json:"path"`
			Phase  string `json:"phase"`
			HeldBy string `json:"heldBy"`
			Change *struct {
				Label string `json:"label"`
			} `json:"change"`
		} `json:"stations"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return false, fmt.Sprintf("not a status document (%v): %s", err, doc)
	}
	found := 0
	for _, s := range d.Stations {
		tag, ok := want[s.Path]
		if !ok {
			continue
		}
		found++
		if s.Phase != "Verified" || s.Change == nil || s.Change.Label != tag || s.HeldBy != heldBy {
			return false, doc
		}
	}
	return found == len(want), doc
}
