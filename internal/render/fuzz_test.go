package render

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
)

// maxFuzzInput bounds the inputs the fuzz targets try: the properties are
// about structure, and small inputs keep each execution fast.
const maxFuzzInput = 4 << 10

// FuzzExpandedNodes checks the alias counter against a plain recursive
// count that expands every alias, on any YAML: for every bound limit, the
// counter says min(expanded nodes, limit+1) (an alias that reaches itself
// expands without end); a document without aliases counts its nodes.
// charge never lets the budget go negative, and refuses only with
// ErrAliasExpansion.
func FuzzExpandedNodes(f *testing.F) {
	for _, s := range []string{
		lol,
		"a: 1\nb: [x, y, {c: d}]\n",
		"a: &a {x: 1}\nb: *a\nc: [*a, *a]\n",
		"base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  z: 3\n",
		"data: &a {x: [*a]}\n",
		"---\na: &a [1, 2]\n---\nb: &b [3]\nc: [*b, *b]\n",
		"- &a [&b [x], *b]\n- *a\n- *a\n",
	} {
		f.Add([]byte(s), int64(100))
	}
	f.Fuzz(func(t *testing.T, content []byte, limit int64) {
		if len(content) > maxFuzzInput {
			return
		}
		// Bounds small enough for the plain count to reach them quickly.
		limit = 1 + abs(limit)%2000
		dec := yaml.NewDecoder(bytes.NewReader(content))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				break
			}
			const big = 4000
			want := plainCount(&doc, big+1, nil)
			memo := map[*yaml.Node]int64{}
			got := expandedNodes(&doc, memo, big)
			if want <= big && got != want {
				t.Fatalf("expandedNodes(limit %d) = %d, the plain count is %d", big, got, want)
			}
			if want > big && got != big+1 {
				t.Fatalf("expandedNodes(limit %d) = %d, want %d: the plain count exceeds limit", big, got, big+1)
			}
			if want <= big && !usesAlias(memo) && want != nodes(&doc) {
				t.Fatalf("a document without aliases counts %d, it has %d nodes", want, nodes(&doc))
			}
			if small := expandedNodes(&doc, map[*yaml.Node]int64{}, limit); small != min(got, limit+1) {
				t.Fatalf("expandedNodes(limit %d) = %d, want min(%d, %d): not monotone in limit", limit, small, got, limit+1)
			}
		}

		b := newNodeBudget(limit)
		err := b.charge("f.yaml", "", content)
		if b.left < 0 || b.left > limit {
			t.Fatalf("budget left %d of %d", b.left, limit)
		}
		if err != nil && !errors.Is(err, ErrAliasExpansion) {
			t.Fatalf("charge(...): %v, want nil or ErrAliasExpansion", err)
		}
	})
}

// plainCount counts the nodes n stands for, expanding each alias again
// wherever it appears, up to limit (returned once reached); an alias inside
// its own anchor counts as limit. It is the definition expandedNodes
// memoises.
func plainCount(n *yaml.Node, limit int64, open map[*yaml.Node]bool) int64 {
	if n == nil {
		return 0
	}
	if open == nil {
		open = map[*yaml.Node]bool{}
	}
	if open[n] {
		return limit
	}
	open[n] = true
	defer delete(open, n)
	if n.Kind == yaml.AliasNode {
		return plainCount(n.Alias, limit, open)
	}
	c := int64(1)
	for _, child := range n.Content {
		if c += plainCount(child, limit-c, open); c >= limit {
			return limit
		}
	}
	return c
}

// nodes counts the nodes of n's tree, aliases as one node each.
func nodes(n *yaml.Node) int64 {
	c := int64(1)
	for _, child := range n.Content {
		c += nodes(child)
	}
	return c
}

func abs(n int64) int64 {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}

// httpURL is a plain http(s) URL: what kustomize fetches, written in any of
// the fields it loads from a path.
var httpURL = regexp.MustCompile(`^https?://[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$`)

// FuzzWalk walks an overlay whose kustomization is any bytes: the walk
// never panics, fails only with a *LimitError or a *FieldError, and never
// passes a kustomization that names an http(s) URL in a field kustomize
// loads from a path.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{
		"resources: [../../base]\n",
		"resources: [../../base, https://example.com/x.yaml]\n",
		"resources: [../../base]\npatches:\n- path: https://example.com/p.yaml\n",
		"resources: [../../base]\npatchesJson6902:\n- target: {kind: Deployment, name: guestbook}\n  path: http://127.0.0.1:1/p\n",
		"resources: [../../base]\npatchesStrategicMerge:\n- https://example.com/p.yaml\n",
		"resources: [../../base]\ncomponents: [https://example.com/c]\n",
		"resources: [../../base]\ncrds: [http://example.com/crd.json]\nconfigurations: [https://example.com/c.yaml]\n",
		"resources: [../../base]\nconfigMapGenerator:\n- name: x\n  files: [k=https://example.com/f]\n  envs: [http://example.com/e]\n",
		"resources: [../../base]\nreplacements:\n- path: https://example.com/r.yaml\n",
		"resources: [../../base]\nopenapi: {path: https://example.com/s.json}\n",
		"resources: [../../base]\ntransformers: [https://example.com/t.yaml]\n",
		"resources: [../../base]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: https://example.com/p.yaml\n",
		"resources: [../../base]\nhelmCharts: [{name: x, repo: https://charts.example.com}]\n",
		"resources: [../../base]\ncommonAnnotations:\n" + indent(lol, "  "),
		"bases: [../../base]\nimages: [{name: x, newTag: y}]\n",
		"not: [a kustomization\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, kustomization []byte) {
		if len(kustomization) > maxFuzzInput {
			return
		}
		src := MapSource(fixture(func(f map[string][]byte) { f["overlays/dev/kustomization.yaml"] = kustomization }))
		err := newWalker(src, Limits{}.withDefaults()).walk("overlays/dev")
		var le *LimitError
		var fe *FieldError
		if err != nil && !errors.As(err, &le) && !errors.As(err, &fe) {
			t.Fatalf("walk(...): %v (%T), want a *LimitError or a *FieldError", err, err)
		}
		var k types.Kustomization
		if k.Unmarshal(kustomization) != nil {
			return // kustomize refuses it itself
		}
		if field, u := remoteField(&k); field != "" && err == nil {
			t.Fatalf("walk(...) passed %s: %q", field, u)
		}
	})
}

// remoteField returns a field of k that kustomize loads from a path and
// that holds an http(s) URL, with the URL.
func remoteField(k *types.Kustomization) (string, string) {
	type ref struct{ field, value string }
	var refs []ref
	add := func(field string, values ...string) {
		for _, v := range values {
			refs = append(refs, ref{field, v})
		}
	}
	add("resources", k.Resources...)
	add("components", k.Components...)
	add("bases", k.Bases...)
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	add("generators", k.Generators...)
	add("transformers", k.Transformers...)
	add("validators", k.Validators...)
	add("openapi.path", k.OpenAPI["path"])
	for _, p := range k.Patches {
		add("patches[].path", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902[].path", p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		add("patchesStrategicMerge", string(p))
	}
	for _, r := range k.Replacements {
		add("replacements[].path", r.Path)
	}
	var gens []types.GeneratorArgs
	for _, g := range k.ConfigMapGenerator {
		gens = append(gens, g.GeneratorArgs)
	}
	for _, g := range k.SecretGenerator {
		gens = append(gens, g.GeneratorArgs)
	}
	for _, g := range gens {
		for _, s := range g.FileSources {
			add("files", fileSourcePath(s))
		}
		add("envs", g.EnvSources...)
		add("env", g.EnvSource)
	}
	for _, r := range refs {
		if httpURL.MatchString(strings.TrimSpace(r.value)) {
			return r.field, r.value
		}
	}
	return "", ""
}
