package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// fixture returns a source tree: a base with a Deployment (two containers,
// ghcr.io/acme/guestbook:1.0.0 and ghcr.io/acme/sidecar:0.1.0) and a
// Service; overlays dev and prod with namePrefix and replicas patches. Each
// mutator edits the tree before it is returned.
func fixture(mutate ...func(map[string][]byte)) map[string][]byte {
	f := map[string][]byte{
		"README.md": []byte("# guestbook config\n"),
		"base/kustomization.yaml": []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
`),
		"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 1
  selector:
    matchLabels: {app: guestbook}
  template:
    metadata:
      labels: {app: guestbook}
    spec:
      containers:
      - name: guestbook
        image: ghcr.io/acme/guestbook:1.0.0
      - name: sidecar
        image: ghcr.io/acme/sidecar:0.1.0
`),
		"base/service.yaml": []byte(`apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  selector: {app: guestbook}
  ports:
  - port: 80
`),
		"overlays/dev/kustomization.yaml": []byte(`resources:
- ../../base
namePrefix: dev-
patches:
- path: replicas.yaml
`),
		"overlays/dev/replicas.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 2
`),
		"overlays/prod/kustomization.yaml": []byte(`resources:
- ../../base
namePrefix: prod-
replicas:
- name: guestbook
  count: 5
`),
	}
	for _, m := range mutate {
		m(f)
	}
	return f
}

// rendered is the expected Build output for an overlay: the Service then
// the Deployment (kustomize's legacy order), named with prefix, with
// replicas and the two container images.
func rendered(prefix string, replicas int, guestbook, sidecar string) string {
	return `apiVersion: v1
kind: Service
metadata:
  name: ` + prefix + `guestbook
spec:
  ports:
  - port: 80
  selector:
    app: guestbook
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + prefix + `guestbook
spec:
  replicas: ` + string(rune('0'+replicas)) + `
  selector:
    matchLabels:
      app: guestbook
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
      - image: ` + guestbook + `
        name: guestbook
      - image: ` + sidecar + `
        name: sidecar
`
}

func TestBuild(t *testing.T) {
	type want struct {
		out string
		// errIs, errAs and errContains check a failing Build.
		errIs       error
		errAs       bool // *OverlayNotFoundError
		errContains []string
	}
	cases := map[string]struct {
		files   map[string][]byte
		overlay string
		images  []v1alpha1.Image
		want    want
	}{
		"DevOverlay": {
			files:   fixture(),
			overlay: "overlays/dev",
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ProdOverlay": {
			files:   fixture(),
			overlay: "overlays/prod",
			want:    want{out: rendered("prod-", 5, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"OverlayWithTrailingSlash": {
			files:   fixture(),
			overlay: "./overlays/prod/",
			want:    want{out: rendered("prod-", 5, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ImageByTag": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.2.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ImageByDigest": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Digest: digestA}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook@"+digestA, "ghcr.io/acme/sidecar:0.1.0")},
		},
		"DigestWinsOverTag": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0", Digest: digestA}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook@"+digestA, "ghcr.io/acme/sidecar:0.1.0")},
		},
		"TwoImages": {
			files:   fixture(),
			overlay: "overlays/prod",
			images: []v1alpha1.Image{
				{Repository: "ghcr.io/acme/sidecar", Digest: digestB},
				{Repository: "ghcr.io/acme/guestbook", Tag: "1.3.0"},
			},
			want: want{out: rendered("prod-", 5, "ghcr.io/acme/guestbook:1.3.0", "ghcr.io/acme/sidecar@"+digestB)},
		},
		"SameImageTwiceAlike": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}, {Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.2.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ImageNotInOverlayIsIgnored": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/other", Tag: "9.9.9"}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"OverlayImagesAreOverridden": {
			// The overlay sets its own image; the change's image wins.
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = append(f["overlays/dev/kustomization.yaml"],
					"images:\n- name: ghcr.io/acme/guestbook\n  newTag: 0.9.0\n"...)
			}),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}},
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.2.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"GeneratorFileAndComponent": {
			// Files a kustomization loads from its own directory, and a
			// component in a sibling directory, are in the trimmed tree.
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\ncomponents: [../../components/prefix]\nconfigMapGenerator:\n- name: cfg\n  files: [app.properties]\ngeneratorOptions: {disableNameSuffixHash: true}\n")
				f["overlays/dev/app.properties"] = []byte("a=1\n")
				f["components/prefix/kustomization.yaml"] = []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\n")
			}),
			overlay: "overlays/dev",
			want: want{out: "apiVersion: v1\ndata:\n  app.properties: |\n    a=1\nkind: ConfigMap\nmetadata:\n  name: c-cfg\n---\n" +
				rendered("c-", 1, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"RootOverlay": {
			files: fixture(func(f map[string][]byte) {
				f["kustomization.yml"] = []byte("resources: [base]\nnamePrefix: root-\n")
			}),
			overlay: ".",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}},
			want:    want{out: rendered("root-", 1, "ghcr.io/acme/guestbook:1.2.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"OverlaySortOptionsKept": {
			// sortOptions only act at the top level; Build carries the
			// overlay's over the synthetic kustomization.
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = append(f["overlays/dev/kustomization.yaml"],
					"sortOptions:\n  order: fifo\n"...)
			}),
			overlay: "overlays/dev",
			want: want{out: func() string {
				docs := strings.SplitN(rendered("dev-", 2, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0"), "---\n", 2)
				return docs[1] + "---\n" + docs[0]
			}()},
		},
		"PatchFileInOverlayLoads": {
			// Load restrictions stay on: a patch next to the overlay's
			// kustomization loads (DevOverlay), one above it does not.
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\npatches:\n- path: ../../base/service.yaml\n")
			}),
			overlay: "overlays/dev",
			want:    want{errContains: []string{"cannot build overlay \"overlays/dev\"", "security; file 'base/service.yaml' is not in or below 'overlays/dev'"}},
		},
		"OverlayMissing": {
			files:   fixture(),
			overlay: "overlays/qa",
			want: want{
				errIs:       ErrOverlayNotFound,
				errAs:       true,
				errContains: []string{`overlay "overlays/qa" does not exist: name a directory holding a kustomization.yaml`},
			},
		},
		"OverlayWithoutKustomization": {
			files:   fixture(func(f map[string][]byte) { f["overlays/qa/README.md"] = []byte("todo\n") }),
			overlay: "overlays/qa",
			want: want{
				errIs:       ErrOverlayNotFound,
				errAs:       true,
				errContains: []string{`overlay "overlays/qa" holds no kustomization.yaml`},
			},
		},
		"OverlayIsAFile": {
			files:   fixture(),
			overlay: "overlays/dev/kustomization.yaml",
			want:    want{errIs: ErrOverlayNotFound, errAs: true},
		},
		"OverlayEscapesRepo": {
			files:   fixture(),
			overlay: "overlays/../../x",
			want:    want{errIs: ErrOverlayOutsideRepo, errContains: []string{`overlay "overlays/../../x" leaves the repository`}},
		},
		"OverlayParent": {
			files:   fixture(),
			overlay: "..",
			want:    want{errIs: ErrOverlayOutsideRepo},
		},
		"OverlayAbsolute": {
			files:   fixture(),
			overlay: "/overlays/dev",
			want:    want{errIs: ErrOverlayOutsideRepo, errContains: []string{`overlay "/overlays/dev" is absolute`}},
		},
		"OverlayEmpty": {
			files: fixture(),
			want:  want{errIs: ErrOverlayOutsideRepo, errContains: []string{"overlay is empty"}},
		},
		"KustomizationSyntaxError": {
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base\nnamePrefix: dev-\n")
			}),
			overlay: "overlays/dev",
			want:    want{errContains: []string{`cannot build overlay "overlays/dev": overlays/dev/kustomization.yaml: invalid Kustomization: yaml: line 1: did not find expected ',' or ']'`}},
		},
		"BaseKustomizationSyntaxError": {
			// Another kustomization with the same error elsewhere in the
			// tree is not blamed.
			files: fixture(func(f map[string][]byte) {
				f["base/kustomization.yaml"] = []byte("resources: [deployment.yaml\n")
				f["unrelated/kustomization.yaml"] = []byte("resources: [deployment.yaml\n")
			}),
			overlay: "overlays/prod",
			want:    want{errContains: []string{"cannot build overlay \"overlays/prod\": base/kustomization.yaml: ", "invalid Kustomization"}},
		},
		"ResourceSyntaxError": {
			files: fixture(func(f map[string][]byte) {
				f["base/service.yaml"] = []byte("apiVersion: v1\nkind: Service\nmetadata: {name: guestbook\n")
			}),
			overlay: "overlays/dev",
			want:    want{errContains: []string{`cannot build overlay "overlays/dev": accumulating resources: accumulation err='accumulating resources from '../../base': 'base' must resolve to a file': recursed accumulation of path 'base': accumulating resources: accumulating resources from 'service.yaml': MalformedYAMLError:`, "in File: service.yaml"}},
		},
		"MissingResource": {
			files:   fixture(func(f map[string][]byte) { delete(f, "base/service.yaml") }),
			overlay: "overlays/dev",
			want:    want{errContains: []string{"'base/service.yaml' doesn't exist"}},
		},
		"UnknownKustomizationField": {
			files:   fixture(func(f map[string][]byte) { f["overlays/dev/kustomization.yaml"] = []byte("resourcez: [../../base]\n") }),
			overlay: "overlays/dev",
			want:    want{errContains: []string{`cannot build overlay "overlays/dev": overlays/dev/kustomization.yaml: invalid Kustomization: json: unknown field "resourcez"`}},
		},
		"RootKustomizationSyntaxError": {
			files:   fixture(func(f map[string][]byte) { f["kustomization.yaml"] = []byte("resources: [base\n") }),
			overlay: ".",
			want:    want{errContains: []string{`cannot build overlay ".": kustomization.yaml: invalid Kustomization`}},
		},
		"RemoteGitBase": {
			files: fixture(func(f map[string][]byte) {
				f["base/kustomization.yaml"] = []byte("resources:\n- deployment.yaml\n- https://github.com/acme/shared//base?ref=v1\n")
			}),
			overlay: "overlays/dev",
			want:    want{errIs: ErrRemoteReference, errContains: []string{`cannot build overlay "overlays/dev": base/kustomization.yaml: resources[1] "https://github.com/acme/shared//base?ref=v1" is a remote reference: vendor what it names into the repository`}},
		},
		"RemoteSCPComponent": {
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\ncomponents: [git@github.com:acme/shared.git//c]\n")
			}),
			overlay: "overlays/dev",
			want:    want{errIs: ErrRemoteReference},
		},
		"RemotePatchFile": {
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\npatches:\n- path: https://example.com/p.yaml\n")
			}),
			overlay: "overlays/dev",
			want:    want{errIs: ErrRemoteReference, errContains: []string{`overlays/dev/kustomization.yaml: patches[0].path "https://example.com/p.yaml" is a URL: copy the file into the repository`}},
		},
		"InlinePatchNamingAURL": {
			// A one-line inline strategic-merge patch whose value is a URL
			// is a patch, not a reference.
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\npatchesStrategicMerge:\n- '{apiVersion: v1, kind: Service, metadata: {name: guestbook, annotations: {docs: \"https://example.com/x\"}}}'\n")
			}),
			overlay: "overlays/dev",
			want:    want{out: strings.Replace(rendered("", 1, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0"), "kind: Service\nmetadata:\n", "kind: Service\nmetadata:\n  annotations:\n    docs: https://example.com/x\n", 1)},
		},
		"RemoteInUnreachableOverlayIgnored": {
			files: fixture(func(f map[string][]byte) {
				f["overlays/other/kustomization.yaml"] = []byte("resources: [github.com/acme/shared//base]\n")
			}),
			overlay: "overlays/dev",
			want:    want{out: rendered("dev-", 2, "ghcr.io/acme/guestbook:1.0.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ImageWithTagInRepository": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook:1.0.0", Tag: "1.2.0"}},
			want:    want{errContains: []string{`cannot set image "ghcr.io/acme/guestbook:1.0.0": the repository must hold no tag`}},
		},
		"ImageRegistryWithPort": {
			files: fixture(func(f map[string][]byte) {
				f["base/deployment.yaml"] = bytes.ReplaceAll(f["base/deployment.yaml"], []byte("ghcr.io/acme/guestbook"), []byte("localhost:5000/guestbook"))
			}),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "localhost:5000/guestbook", Tag: "1.2.0"}},
			want:    want{out: rendered("dev-", 2, "localhost:5000/guestbook:1.2.0", "ghcr.io/acme/sidecar:0.1.0")},
		},
		"ImageWithoutTagOrDigest": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook"}},
			want:    want{errContains: []string{`cannot set image "ghcr.io/acme/guestbook": it has neither tag nor digest`}},
		},
		"SameImageTwiceDiffering": {
			files:   fixture(),
			overlay: "overlays/dev",
			images:  []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0"}, {Repository: "ghcr.io/acme/guestbook", Tag: "1.3.0"}},
			want:    want{errContains: []string{`cannot set image "ghcr.io/acme/guestbook": it is given twice`}},
		},
		"SourcePathOutsideRepo": {
			files:   fixture(func(f map[string][]byte) { f["../evil.yaml"] = []byte("x: y\n") }),
			overlay: "overlays/dev",
			want:    want{errContains: []string{`cannot read source file "../evil.yaml"`}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Build(MapSource(tc.files), tc.overlay, tc.images)
			wantErr := tc.want.errIs != nil || tc.want.errAs || len(tc.want.errContains) > 0
			if !wantErr {
				if err != nil {
					t.Fatalf("Build(...): unexpected error: %v", err)
				}
				if diff := cmp.Diff(tc.want.out, string(got)); diff != "" {
					t.Errorf("Build(...): -want, +got:\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("Build(...): want error, got output:\n%s", got)
			}
			if tc.want.errIs != nil && !errors.Is(err, tc.want.errIs) {
				t.Errorf("Build(...): errors.Is(%v, %v) = false", err, tc.want.errIs)
			}
			if tc.want.errAs {
				var nf *OverlayNotFoundError
				if !errors.As(err, &nf) {
					t.Errorf("Build(...): errors.As(%v, *OverlayNotFoundError) = false", err)
				} else if diff := cmp.Diff(tc.overlay, nf.Overlay); diff != "" {
					t.Errorf("OverlayNotFoundError.Overlay: -want, +got:\n%s", diff)
				}
			}
			for _, s := range tc.want.errContains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Build(...): error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestOverlayNotFoundErrorWithCommit(t *testing.T) {
	_, err := Build(MapSource(fixture()), "overlays/qa", nil)
	var nf *OverlayNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Build(...): errors.As(%v, *OverlayNotFoundError) = false", err)
	}
	nf.Commit = "0123456789abcdef0123456789abcdef01234567"
	want := `overlay "overlays/qa" does not exist at commit 0123456789ab: name a directory holding a kustomization.yaml`
	if diff := cmp.Diff(want, nf.Error()); diff != "" {
		t.Errorf("Error(): -want, +got:\n%s", diff)
	}
}

func TestBuildDeterministic(t *testing.T) {
	images := []v1alpha1.Image{
		{Repository: "ghcr.io/acme/guestbook", Tag: "1.3.0"},
		{Repository: "ghcr.io/acme/sidecar", Digest: digestB},
		{Repository: "ghcr.io/acme/unused", Tag: "2.0.0"},
	}
	files := benchFixture(20)
	for k, v := range fixture() {
		files[k] = v
	}
	for _, overlay := range []string{"overlays/dev", "overlays/prod", "overlays/bench"} {
		first, err := Build(MapSource(files), overlay, images)
		if err != nil {
			t.Fatalf("Build(%q): %v", overlay, err)
		}
		perms := [][]v1alpha1.Image{
			images,
			{images[2], images[0], images[1]},
			{images[1], images[2], images[0]},
		}
		for i := 0; i < 10; i++ {
			got, err := Build(MapSource(files), overlay, perms[i%len(perms)])
			if err != nil {
				t.Fatalf("Build(%q) run %d: %v", overlay, i, err)
			}
			if diff := cmp.Diff(string(first), string(got)); diff != "" {
				t.Fatalf("Build(%q) run %d differs from the first: -first, +got:\n%s", overlay, i, diff)
			}
		}
	}
}

func TestBuildDoesNotModifyInput(t *testing.T) {
	files := fixture()
	want := fixture()
	images := []v1alpha1.Image{{Repository: "ghcr.io/acme/sidecar", Tag: "2"}, {Repository: "ghcr.io/acme/guestbook", Tag: "1"}}
	wantImages := append([]v1alpha1.Image(nil), images...)
	if _, err := Build(MapSource(files), "overlays/dev", images); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(wantImages, images); diff != "" {
		t.Errorf("images: -want, +got:\n%s", diff)
	}
}

// TestTrimmedTreeBuildsAlike checks that building from only the directories
// the overlay reaches gives the bytes the whole tree gives.
func TestTrimmedTreeBuildsAlike(t *testing.T) {
	files := benchFixture(12)
	for k, v := range fixture() {
		files[k] = v
	}
	files["unrelated/kustomization.yaml"] = []byte("resources: [[[\n")
	r := NewRenderer(Limits{})
	for _, overlay := range []string{"overlays/dev", "overlays/prod", "overlays/bench"} {
		w := newWalker(MapSource(files), r.Limits())
		if err := w.walk(overlay); err != nil {
			t.Fatal(err)
		}
		if w.dirs["unrelated"] || w.dirs["."] {
			t.Errorf("walk(%q) = %v: reaches directories the overlay does not", overlay, w.dirs)
		}
		trimmed, err := w.readReached()
		if err != nil {
			t.Fatal(err)
		}
		sk := []byte("resources: [../repo/" + overlay + "]\n")
		build := func(files map[string][]byte) string {
			t.Helper()
			req := &workerRequest{Files: map[string][]byte{renderRoot + "/kustomization.yaml": sk}, Dir: renderRoot, NodesLeft: 1, NodeLimit: 1}
			for p, c := range files {
				req.Files[repoRoot+"/"+p] = c
			}
			out, err := r.sandbox(context.Background(), "team-a", req)
			if err != nil {
				t.Fatalf("build(%q): %v", overlay, err)
			}
			return string(out)
		}
		if diff := cmp.Diff(build(files), build(trimmed)); diff != "" {
			t.Errorf("build(%q): -whole, +trimmed:\n%s", overlay, diff)
		}
	}
}

func TestUnderAny(t *testing.T) {
	dirs := map[string]bool{"base": true, "overlays/dev": true}
	cases := map[string]bool{
		"base/a.yaml":              true,
		"base/sub/b.yaml":          true,
		"overlays/dev/k.yaml":      true,
		"overlays/prod/k.yaml":     false,
		"baseline/a.yaml":          false,
		"kustomization.yaml":       false,
		"overlays/dev2/k.yaml":     false,
		"overlays/dev/deep/x.yaml": true,
	}
	for p, want := range cases {
		if diff := cmp.Diff(want, underAny(p, dirs)); diff != "" {
			t.Errorf("underAny(%q): -want, +got:\n%s", p, diff)
		}
	}
	if !underAny("anything", map[string]bool{".": true}) {
		t.Errorf("underAny with the root: want true")
	}
}

// TestBuildConcurrent runs Builds side by side (run with -race): a
// controller renders several Tickets at once.
func TestBuildConcurrent(t *testing.T) {
	files := fixture()
	want, err := Build(MapSource(files), "overlays/prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			got, err := Build(MapSource(files), "overlays/prod", nil)
			if err == nil && !bytes.Equal(want, got) {
				err = errors.New("concurrent Build gave different bytes")
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
