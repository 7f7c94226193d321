package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// stations are every Track's stations, in order.
var stations = []string{"dev", "staging", "prod"}

// A fleet is N apps, each a Track of three stations, on one monorepo, one
// image and one namespace.
type fleet struct {
	n       int
	ns      string // the Tracks' namespace
	appsNS  string // where the Applications deploy
	repo    string // the monorepo's bare directory
	work    string // a working clone the scenarios commit in
	repoURL string
	image   string // REGISTRY/acme/fleet
	tag     string // the first image
	helper  string
	mode    string // -webhook
}

func newFleet(o options, env map[string]string) *fleet {
	return &fleet{
		n:       o.n,
		ns:      "fleet",
		appsNS:  "fleet-apps",
		repo:    filepath.Join(o.gitRoot, "fleet-config.git"),
		work:    filepath.Join(o.state, "bench", "work"),
		repoURL: strings.TrimSuffix(o.gitURL, "/") + "/fleet-config.git",
		image:   env["REGISTRY"] + "/acme/fleet",
		tag:     "1.0.0",
		helper:  o.helper,
		mode:    o.mode,
	}
}

// app is the name of app i: its Track, and the prefix of its Applications,
// rendered branches and overlay directories.
func (f *fleet) app(i int) string {
	w := len(fmt.Sprint(f.n - 1))
	return fmt.Sprintf("app-%0*d", w, i)
}

func (f *fleet) branch(app, station string) string  { return "env/" + app + "/" + station }
func (f *fleet) overlay(app, station string) string { return "apps/" + app + "/" + station }
func (f *fleet) application(app, station string) string {
	return app + "-" + station
}

// files are the monorepo's first commit: a shared base (a ConfigMap and a
// Deployment with no replicas: no kubelet runs here, and a Deployment with
// none is Healthy at once, so Argo CD's work per sync is small) and one
// overlay per app per station.
func (f *fleet) files() map[string]string {
	files := map[string]string{
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- configmap.yaml\n",
		"base/configmap.yaml":     baseConfigMap("hello"),
		"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: fleet
spec:
  replicas: 0
  selector: {matchLabels: {app: fleet}}
  template:
    metadata: {labels: {app: fleet}}
    spec:
      containers:
      - name: fleet
        image: ` + f.image + `:0.0.0
`,
	}
	for i := 0; i < f.n; i++ {
		for _, s := range stations {
			files[f.overlay(f.app(i), s)+"/kustomization.yaml"] = overlayKustomization(f.app(i), s, "1")
		}
	}
	return files
}

func baseConfigMap(greeting string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fleet\ndata:\n  greeting: " + greeting + "\n"
}

// overlayKustomization is one station's overlay: the base under the app's
// and station's name prefix, and a revision scenario C bumps.
func overlayKustomization(app, station, revision string) string {
	return fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../../base
namePrefix: %s-%s-
labels:
- pairs: {app.kubernetes.io/part-of: %s, station: %s}
patches:
- patch: |-
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: fleet}
    data: {overlay-revision: "%s"}
`, app, station, app, station, revision)
}

// git runs the git command line with no user or system configuration.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=K8sTA bench", "GIT_AUTHOR_EMAIL=bench@k8sta.invalid",
		"GIT_COMMITTER_NAME=K8sTA bench", "GIT_COMMITTER_EMAIL=bench@k8sta.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// createRepo creates the bare monorepo under the git server's root (the
// provider pushes the rendered branches over HTTP) and its first commit, from
// a working clone on disk: the harness's own git traffic never reaches the
// server, whose requests are counted.
func (f *fleet) createRepo() error {
	for _, d := range []string{f.repo, f.work} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("cannot remove %s: %w", d, err)
		}
	}
	if _, err := git("", "init", "--quiet", "--bare", "--initial-branch=main", f.repo); err != nil {
		return err
	}
	if _, err := git(f.repo, "config", "http.receivepack", "true"); err != nil {
		return err
	}
	if _, err := git("", "init", "--quiet", "--initial-branch=main", f.work); err != nil {
		return err
	}
	_, err := f.commit(f.files(), "fleet: shared base, one overlay per app per station")
	return err
}

// commit writes files in the working clone, commits and pushes them to the
// bare repository's main, and returns the commit.
func (f *fleet) commit(files map[string]string, message string) (string, error) {
	for p, content := range files {
		full := filepath.Join(f.work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("cannot create %s: %w", filepath.Dir(full), err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", fmt.Errorf("cannot write %s: %w", full, err)
		}
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "--quiet", "-m", message}, {"push", "--quiet", f.repo, "main"}} {
		if _, err := git(f.work, args...); err != nil {
			return "", err
		}
	}
	return git(f.work, "rev-parse", "HEAD")
}

// heads are the rendered branches' heads, read from the bare repository's
// files (packed-refs, then loose refs, which win): no request to the server,
// and no git process, as this runs ten times a second while it measures.
func (f *fleet) heads() (map[string]string, error) {
	heads := map[string]string{}
	packed, err := os.ReadFile(filepath.Join(f.repo, "packed-refs"))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("cannot read packed-refs: %w", err)
	}
	for _, line := range strings.Split(string(packed), "\n") {
		if h, ref, ok := strings.Cut(line, " "); ok && strings.HasPrefix(ref, "refs/heads/env/") {
			heads[strings.TrimPrefix(ref, "refs/heads/")] = h
		}
	}
	root := filepath.Join(f.repo, "refs", "heads")
	err = filepath.WalkDir(filepath.Join(root, "env"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			// A ref packed or replaced between the walk and the read.
			return nil //nolint:nilerr // Such a ref is not a head.
		}
		if h := strings.TrimSpace(string(b)); len(h) == 40 {
			heads[filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))] = h
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("cannot read the rendered branches: %w", err)
	}
	return heads, nil
}

// pushImage pushes a new image as tag with the demo's helper.
func (f *fleet) pushImage(ctx context.Context, tag string) error {
	out, err := exec.CommandContext(ctx, f.helper, "push", "-image", f.image, "-tag", tag).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cannot push %s:%s: %w: %s", f.image, tag, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// manifests are what a platform team applies: the namespace, the
// ProviderConfig, each station's Application (opted in to its Track) and
// each Track.
func (f *fleet) manifests() []string {
	docs := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + f.ns + "}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: " + f.appsNS + "}\n",
	}
	// -webhook=namespace: one webhook for the whole namespace, whose Secret
	// the provider creates.
	pc := "apiVersion: provider.k8sta.io/v1alpha1\nkind: ProviderConfig\nmetadata: {name: default, namespace: " + f.ns + "}\nspec: {}\n"
	if f.mode == "namespace" {
		pc = strings.Replace(pc, "spec: {}", "spec: {webhook: {secretRef: {name: "+providerConfigWebhookSecret+"}}}", 1)
	}
	docs = append(docs, pc)
	for i := 0; i < f.n; i++ {
		app := f.app(i)
		for _, s := range stations {
			docs = append(docs, fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: argocd
  annotations: {k8sta.io/authorized-tracks: %s/%s}
spec:
  project: default
  source: {repoURL: %s, targetRevision: %s, path: .}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
`, f.application(app, s), f.ns, app, f.repoURL, f.branch(app, s), f.appsNS))
		}
		var st strings.Builder
		for _, s := range stations {
			fmt.Fprintf(&st, "  - {name: %s, overlay: %s, branch: %s, applications: [{name: %s, namespace: argocd}]}\n",
				s, f.overlay(app, s), f.branch(app, s), f.application(app, s))
		}
		docs = append(docs, fmt.Sprintf(`apiVersion: k8sta.io/v1alpha1
kind: Track
metadata: {name: %s, namespace: %s}
spec:
  repo: {url: %s, sourceBranch: main}
  subscriptions:
    images: [{repository: %s, strategy: SemVer}]
    # The shared base and this app's directory: another app's commit is no
    # change for this Track.
    git: {paths: [base/, apps/%s/]}
  stations:
%s  providerConfigRef: {name: default}
`, app, f.ns, f.repoURL, f.image, app, st.String()))
	}
	return docs
}
