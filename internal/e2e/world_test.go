//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

var seq atomic.Int64

// world is one team's Track tree: dev → int (two Applications) → regions,
// a junction to the sections guestbook-us and guestbook-eu.
type world struct {
	t     *testing.T
	ns    string
	git   *gitserver.Server
	repo  string
	image string // 127.0.0.1:PORT/acme/guestbook-N in the stack's registry
	// devSoak is dev's spec.stations[].soak in the Track, when set.
	devSoak string
	// manual is the name of the root Track's station whose approval is
	// Manual, when set.
	manual string
}

// station is one station's Applications and rendered branch.
type station struct {
	path, track, branch string
	apps                []string
}

func (w *world) stations() []station {
	return []station{
		{path: "dev", track: "guestbook", branch: "env/dev", apps: []string{w.ns + "-dev"}},
		{path: "int", track: "guestbook", branch: "env/int", apps: []string{w.ns + "-int-a", w.ns + "-int-b"}},
		{path: "regions.guestbook-us.us", track: "guestbook-us", branch: "env/us", apps: []string{w.ns + "-us"}},
		{path: "regions.guestbook-eu.eu", track: "guestbook-eu", branch: "env/eu", apps: []string{w.ns + "-eu"}},
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	n := seq.Add(1)
	w := &world{t: t, ns: fmt.Sprintf("team-%d", n), git: gitserver.New(t), repo: "guestbook-config",
		image: fmt.Sprintf("%s/acme/guestbook-%d", st.env["REGISTRY"], n)}
	w.git.CreateRepo(t, w.repo, w.configRepo())
	return w
}

// configRepo is the team's config repository: testdata/config-repo's base
// (a canary Rollout of three pods, its AnalysisTemplate against the stack's
// quality endpoint, a ConfigMap), and one overlay per station that labels
// everything with the station's name, which the analysis reports.
func (w *world) configRepo() map[string][]byte {
	w.t.Helper()
	files := map[string][]byte{}
	base := filepath.Join("testdata", "config-repo", "base")
	entries, err := os.ReadDir(base)
	must(w.t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(base, e.Name()))
		must(w.t, err)
		b = bytes.ReplaceAll(b, []byte("${IMAGE}"), []byte(w.image))
		b = bytes.ReplaceAll(b, []byte("${QUALITY_URL}"), []byte(st.env["QUALITY_URL"]))
		files["base/"+e.Name()] = b
	}
	for _, s := range []string{"dev", "int", "us", "eu"} {
		files["overlays/"+s+"/kustomization.yaml"] = []byte("resources:\n- ../../base\nlabels:\n- pairs: {station: " + s + "}\n")
	}
	return files
}

// install creates the namespace, the ProviderConfig, the Applications (in
// argocd, opted in), the sections and the Track.
func (w *world) install() {
	w.t.Helper()
	ctx := context.Background()
	w.apply(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: w.ns}})
	w.applyYAML(fmt.Sprintf("apiVersion: provider.k8sta.io/v1alpha1\nkind: ProviderConfig\nmetadata: {name: default, namespace: %s}\nspec: {}\n", w.ns))
	for _, s := range w.stations() {
		for _, app := range s.apps {
			w.applyYAML(w.application(app, s.track, s.branch))
		}
	}
	for _, sec := range []string{"us", "eu"} {
		w.applyYAML(fmt.Sprintf(`apiVersion: k8sta.io/v1alpha1
kind: Track
metadata: {name: guestbook-%s, namespace: %s}
spec:
  repo: {url: %s}
  stations:
  - {name: %s, overlay: overlays/%s, applications: [{name: %s-%s, namespace: argocd}]}
`, sec, w.ns, w.git.URL(w.repo), sec, sec, w.ns, sec))
	}
	w.applyYAML(fmt.Sprintf(`apiVersion: k8sta.io/v1alpha1
kind: Track
metadata: {name: guestbook, namespace: %s}
spec:
  repo: {url: %s, sourceBranch: main}
  subscriptions:
    images: [{repository: %s, strategy: SemVer}]
    git: {}
  stations:
  - {name: dev, overlay: overlays/dev, applications: [{name: %s-dev, namespace: argocd}]%s%s}
  - {name: int, overlay: overlays/int, applications: [{name: %s-int-a, namespace: argocd}, {name: %s-int-b, namespace: argocd}]%s}
  - {name: regions, tracks: [guestbook-us, guestbook-eu]}
  providerConfigRef: {name: default}
`, w.ns, w.git.URL(w.repo), w.image, w.ns, soak(w.devSoak), w.approval("dev"), w.ns, w.ns, w.approval("int")))
	_ = ctx
}

func soak(d string) string {
	if d == "" {
		return ""
	}
	return ", soak: " + d
}

// approval is the approval field of the root Track's station name.
func (w *world) approval(station string) string {
	if w.manual != station {
		return ""
	}
	return ", approval: Manual"
}

// application is the Argo CD Application app, deploying the rendered
// branch of w's config repository into the namespace app, and opted in for
// the Track (or claim) track of w's namespace.
func (w *world) application(app, track, branch string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
  annotations: {k8sta.io/authorized-tracks: %s/%s}
spec:
  project: default
  source: {repoURL: %s, targetRevision: %s, path: .}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
`, app, w.ns, track, w.git.URL(w.repo), branch, app)
}

// installWith pushes the image's first tag, installs the Track and waits
// until every station is Ready for it: where every scenario starts.
func (w *world) installWith(tag string) {
	w.t.Helper()
	w.push(tag)
	w.install()
	w.waitAllReady(tag)
}

// waitAllReady waits until every station's Ticket is Ready for tag.
func (w *world) waitAllReady(tag string) {
	w.t.Helper()
	eventually(w.t, 8*time.Minute, "every station Ready for "+tag, func() (bool, string) {
		return w.allReady(tag)
	})
}

func (w *world) apply(o any) {
	w.t.Helper()
	b, err := yaml.Marshal(o)
	must(w.t, err)
	w.applyYAML(string(b))
}

func (w *world) applyYAML(doc string) {
	w.t.Helper()
	u := &unstructured.Unstructured{}
	must(w.t, yaml.Unmarshal([]byte(doc), &u.Object))
	gvk := u.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
	var err error
	if u.GetNamespace() == "" {
		_, err = st.kube.Resource(gvr).Create(context.Background(), u, metav1.CreateOptions{})
	} else {
		_, err = st.kube.Resource(gvr).Namespace(u.GetNamespace()).Create(context.Background(), u, metav1.CreateOptions{})
	}
	if err != nil {
		w.t.Fatalf("cannot create %s %s/%s: %v", gvk.Kind, u.GetNamespace(), u.GetName(), err)
	}
}

// push pushes a new image as tag to the stack's registry and returns its
// digest.
func (w *world) push(tag string) string {
	w.t.Helper()
	img, err := random.Image(256, 1)
	must(w.t, err)
	ref, err := name.ParseReference(w.image+":"+tag, name.Insecure)
	must(w.t, err)
	must(w.t, remote.Write(ref, img))
	d, err := img.Digest()
	must(w.t, err)
	return d.String()
}

// subscription is the Track's composed Subscription.
func (w *world) subscription() *unstructured.Unstructured {
	w.t.Helper()
	var sub *unstructured.Unstructured
	eventually(w.t, 2*time.Minute, "the composed Subscription", func() (bool, string) {
		l, err := st.kube.Resource(subscriptionGVR).Namespace(w.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(l.Items) == 0 {
			return false, fmt.Sprint(err)
		}
		sub = &l.Items[0]
		return true, ""
	})
	return sub
}

// notifyRegistryPush sends the registry's push webhook to the provider, as
// a distribution registry would, authenticated by the key the
// Subscription's webhook Secret holds for distribution registries.
func (w *world) notifyRegistryPush(tag string) time.Time {
	w.t.Helper()
	sub := w.subscription()
	out, err := st.kubectl("get", "secret", "-n", w.ns, sub.GetName()+"-webhook", "-o", "jsonpath={.data.distribution}")
	must(w.t, err)
	token := decodeBase64(w.t, out)
	host, repo, _ := strings.Cut(w.image, "/")
	body := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":%q},"request":{"host":%q}}]}`, repo, tag, host)
	url := fmt.Sprintf("%s/hook/distribution/%s.%s/%s", st.webhook, w.ns, sub.GetName(), token)
	sent := time.Now()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		// The URL holds the token: say where, not what.
		w.t.Fatalf("cannot send the webhook to %s: %v", st.webhook, errors.Unwrap(err))
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("webhook: HTTP %d, want 200", resp.StatusCode)
	}
	return sent
}

// tickets returns the Track's Tickets by station path.
func (w *world) tickets() map[string]*unstructured.Unstructured {
	w.t.Helper()
	l, err := st.kube.Resource(ticketGVR).Namespace(w.ns).List(context.Background(), metav1.ListOptions{})
	must(w.t, err)
	out := map[string]*unstructured.Unstructured{}
	for i := range l.Items {
		p, _, _ := unstructured.NestedString(l.Items[i].Object, "spec", "forProvider", "station")
		out[p] = &l.Items[i]
	}
	return out
}

// readyFor reports whether a Ticket verified the change whose image has
// tag, by v1alpha1.Ticket.VerifiedFor, the predicate the function and the
// demo use.
func readyFor(t *unstructured.Unstructured, tag string) bool {
	if t == nil || ticketTag(t, "spec", "forProvider", "change") != tag {
		return false
	}
	_, ok := typedTicket(t).VerifiedFor(specChange(t, "id"))
	return ok
}

// typedTicket is t as a v1alpha1.Ticket, or nil when it does not convert.
func typedTicket(t *unstructured.Unstructured) *v1alpha1.Ticket {
	typed := &v1alpha1.Ticket{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(t.Object, typed); err != nil {
		return nil
	}
	return typed
}

func ticketTag(t *unstructured.Unstructured, fields ...string) string {
	imgs, _, _ := unstructured.NestedSlice(t.Object, append(fields, "images")...)
	if len(imgs) == 0 {
		return ""
	}
	m, _ := imgs[0].(map[string]any)
	tag, _ := m["tag"].(string)
	return tag
}

func (w *world) app(name string) *unstructured.Unstructured {
	w.t.Helper()
	u, err := st.kube.Resource(applicationGVR).Namespace("argocd").Get(context.Background(), name, metav1.GetOptions{})
	must(w.t, err)
	return u
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	kubeenv.EventuallyWithin(t, timeout, what, cond)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
