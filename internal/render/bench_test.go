package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// benchFixture returns a tree whose overlays/bench overlay renders n
// resources (Deployments, Services and ConfigMaps in turn) from base-bench,
// with a namePrefix, a label, and a replicas patch.
func benchFixture(n int) map[string][]byte {
	f := map[string][]byte{}
	var res []string
	for i := 0; i < n; i++ {
		var name, doc string
		switch i % 3 {
		case 0:
			name = fmt.Sprintf("deployment-%02d.yaml", i)
			doc = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%02d
spec:
  replicas: 1
  selector:
    matchLabels: {app: app-%02d}
  template:
    metadata:
      labels: {app: app-%02d}
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app-%d:1.0.0
        envFrom:
        - configMapRef: {name: config-%02d}
        ports:
        - containerPort: 8080
      - name: sidecar
        image: ghcr.io/acme/sidecar:0.1.0
`, i, i, i, i%5, i+2)
		case 1:
			name = fmt.Sprintf("service-%02d.yaml", i)
			doc = fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: app-%02d
spec:
  selector: {app: app-%02d}
  ports:
  - port: 80
    targetPort: 8080
`, i-1, i-1)
		case 2:
			name = fmt.Sprintf("configmap-%02d.yaml", i)
			doc = fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config-%02d
data:
  LOG_LEVEL: info
  FEATURE_X: "true"
  GREETING: hello from %d
`, i, i)
		}
		f["base-bench/"+name] = []byte(doc)
		res = append(res, "- "+name)
	}
	f["base-bench/kustomization.yaml"] = []byte("resources:\n" + strings.Join(res, "\n") + "\n")
	f["overlays/bench/kustomization.yaml"] = []byte(`resources:
- ../../base-bench
namePrefix: bench-
labels:
- pairs: {env: bench}
patches:
- target: {kind: Deployment}
  patch: |
    - op: replace
      path: /spec/replicas
      value: 3
`)
	return f
}

var benchImages = []v1alpha1.Image{
	{Repository: "ghcr.io/acme/app-0", Tag: "1.2.0"},
	{Repository: "ghcr.io/acme/app-1", Digest: digestA},
	{Repository: "ghcr.io/acme/sidecar", Tag: "0.2.0"},
}

func BenchmarkRender(b *testing.B) {
	files := benchFixture(50)
	images := benchImages
	rec := Record{Track: "bench", Station: "bench", Overlay: "overlays/bench", Change: v1alpha1.Change{ID: "c0ffee", Commit: "0123456789abcdef", Images: images}}
	out, err := Build(MapSource(files), "overlays/bench", images)
	if err != nil {
		b.Fatal(err)
	}
	if got := strings.Count(string(out), "\n---\n") + 1; got != 50 {
		b.Fatalf("rendered %d resources, want 50", got)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := Build(MapSource(files), "overlays/bench", images)
		if err != nil {
			b.Fatal(err)
		}
		_ = Tree(m, rec)
	}
}

// BenchmarkRenderLargeRepo is BenchmarkRender in a tree that also holds
// 2000 files (8 MB) no kustomization refers to, which a render does not
// read.
func BenchmarkRenderLargeRepo(b *testing.B) {
	files := benchFixture(50)
	blob := []byte(strings.Repeat("0123456789abcdef", 256)) // 4 KiB
	for i := 0; i < 2000; i++ {
		files[fmt.Sprintf("docs/d%02d/f%04d.md", i%40, i)] = blob
	}
	images := benchImages
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(MapSource(files), "overlays/bench", images); err != nil {
			b.Fatal(err)
		}
	}
}
