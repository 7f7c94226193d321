package render

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// lol is a "billion laughs" YAML alias bomb: 9 levels of 9 aliases, 9^9
// (387 M) strings once expanded.
const lol = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// lolConfigMap is the bomb as a resource.
var lolConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n" + indent(lol, "  ")

// slowFixture is an overlay, "slow", that costs kustomize seconds of CPU
// for tens of kilobytes of input: resources ConfigMaps, each patched by
// patches patches.
func slowFixture(resources, patches int) map[string][]byte {
	var b strings.Builder
	for i := 0; i < resources; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {k: v}\n", i)
	}
	var k strings.Builder
	k.WriteString("resources: [cms.yaml]\npatches:\n")
	for i := 0; i < patches; i++ {
		fmt.Fprintf(&k, "- target: {kind: ConfigMap}\n  patch: |\n    - {op: add, path: /data/p%d, value: x}\n", i)
	}
	return map[string][]byte{"slow/cms.yaml": []byte(b.String()), "slow/kustomization.yaml": []byte(k.String())}
}

// outputBomb is an overlay, "bomb", whose replacements copy one 16 KiB value
// into targets ConfigMaps: the output is targets times the input.
func outputBomb(targets int) map[string][]byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: source}\ndata: {v: %s}\n", strings.Repeat("x", 16<<10))
	for i := 0; i < targets; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: t%d}\ndata: {v: short}\n", i)
	}
	return map[string][]byte{
		"bomb/cms.yaml": []byte(b.String()),
		"bomb/kustomization.yaml": []byte(`resources: [cms.yaml]
replacements:
- source: {kind: ConfigMap, name: source, fieldPath: data.v}
  targets:
  - select: {kind: ConfigMap}
    reject: [{name: source}]
    fieldPaths: [data.v]
`),
	}
}

// wideFixture is an overlay, "wide", of one ConfigMap with keys keys.
func wideFixture(keys int) map[string][]byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\ndata:\n")
	for i := 0; i < keys; i++ {
		fmt.Fprintf(&b, "  k%06d: v\n", i)
	}
	return map[string][]byte{"wide/cm.yaml": []byte(b.String()), "wide/kustomization.yaml": []byte("resources: [cm.yaml]\nnamePrefix: x-\n")}
}

// TestMemoryLimitLeavesRoomToRender renders the bench overlay within the
// memory limit TestLimits/MemoryLimit exceeds: that limit stops a render
// for what it does, not the worker for starting.
func TestMemoryLimitLeavesRoomToRender(t *testing.T) {
	if _, err := NewRenderer(Limits{MaxMemory: 32 << 20}).Build(context.Background(), "team-a", MapSource(benchFixture(50)), "overlays/bench", benchImages); err != nil {
		t.Fatalf("Build(...): %v", err)
	}
}

// TestLimits feeds Build overlays that exceed each bound: each is refused
// with a *LimitError naming the bound and, where there is one, the file
// (and field) to fix; the test process lives on.
func TestLimits(t *testing.T) {
	const dev = "overlays/dev/kustomization.yaml"
	type want struct {
		bound       error
		file, field string
	}
	cases := map[string]struct {
		limits  Limits
		files   map[string][]byte
		overlay string
		want    want
	}{
		"AliasBombResource": {
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base, lol.yaml]\n")
				f["overlays/dev/lol.yaml"] = []byte(lolConfigMap)
			}),
			want: want{bound: ErrAliasExpansion, file: "overlays/dev/lol.yaml"},
		},
		"AliasBombInKustomization": {
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base]\ncommonAnnotations:\n" + indent(lol, "  "))
			}),
			want: want{bound: ErrAliasExpansion, file: dev},
		},
		"AliasBombInInlinePatch": {
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base]\npatches:\n- patch: |\n" + indent(lolConfigMap, "    "))
			}),
			want: want{bound: ErrAliasExpansion, file: dev, field: "patches[0].patch"},
		},
		"AliasBombInInlineTransformer": {
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base]\ntransformers:\n- |\n" + indent("apiVersion: builtin\nkind: AnnotationsTransformer\nmetadata: {name: x}\nannotations:\n"+indent(lol, "  "), "  "))
			}),
			want: want{bound: ErrAliasExpansion, file: dev, field: "transformers[0]"},
		},
		"AliasBombInUnreadBase": {
			// A base too large to parse in the provider is counted by the
			// worker.
			limits: Limits{MaxKustomizationBytes: 1 << 10},
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base, lol.yaml]\n")
				f["overlays/dev/lol.yaml"] = []byte("# " + strings.Repeat("padding ", 256) + "\n" + lolConfigMap)
			}),
			want: want{bound: ErrAliasExpansion, file: "overlays/dev/lol.yaml"},
		},
		"AliasReferringToItself": {
			files: fixture(func(f map[string][]byte) {
				f[dev] = []byte("resources: [../../base, self.yaml]\n")
				f["overlays/dev/self.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: self}\ndata: &a {x: [*a]}\n")
			}),
			want: want{bound: ErrAliasExpansion, file: "overlays/dev/self.yaml"},
		},
		"FileTooLarge": {
			limits: Limits{MaxFileBytes: 1 << 10},
			files: fixture(func(f map[string][]byte) {
				f["base/service.yaml"] = append(f["base/service.yaml"], "# "+strings.Repeat("x", 1<<10)+"\n"...)
			}),
			want: want{bound: ErrFileTooLarge, file: "base/service.yaml"},
		},
		"UnusedFileTooLarge": {
			// Every file under a directory the overlay reaches counts:
			// kustomize may read any of them.
			limits: Limits{MaxFileBytes: 1 << 10},
			files:  fixture(func(f map[string][]byte) { f["base/notes/big.txt"] = make([]byte, 2<<10) }),
			want:   want{bound: ErrFileTooLarge, file: "base/notes/big.txt"},
		},
		"KustomizationTooLarge": {
			limits: Limits{MaxKustomizationBytes: 1 << 10},
			files: fixture(func(f map[string][]byte) {
				f["base/kustomization.yaml"] = append(f["base/kustomization.yaml"], "# "+strings.Repeat("x", 1<<10)+"\n"...)
			}),
			want: want{bound: ErrKustomizationTooLarge, file: "base/kustomization.yaml"},
		},
		"OverlayTooLarge": {
			limits: Limits{MaxOverlayBytes: 4 << 10},
			files: fixture(func(f map[string][]byte) {
				for i := 0; i < 8; i++ {
					f[fmt.Sprintf("base/notes/%d.txt", i)] = make([]byte, 1<<10)
				}
			}),
			want: want{bound: ErrOverlayTooLarge},
		},
		"TooManyFiles": {
			limits: Limits{MaxFiles: 4},
			files:  fixture(),
			want:   want{bound: ErrTooManyFiles},
		},
		"OutputTooLarge": {
			// 64 copies of 16 KiB: 1 MiB of output from 18 KiB of input.
			limits:  Limits{MaxOutputBytes: 256 << 10},
			files:   outputBomb(64),
			overlay: "bomb",
			want:    want{bound: ErrOutputTooLarge},
		},
		"TimeBudget": {
			// 500 ConfigMaps × 50 patches takes kustomize seconds of CPU.
			limits:  Limits{Timeout: 300 * time.Millisecond},
			files:   slowFixture(500, 50),
			overlay: "slow",
			want:    want{bound: ErrTimeLimit},
		},
		"MemoryLimit": {
			// 500 KiB of YAML that kustomize holds as 80,000 nodes; the
			// bench overlay renders within the same limit
			// (TestMemoryLimitLeavesRoomToRender).
			limits:  Limits{MaxMemory: 32 << 20},
			files:   wideFixture(40000),
			overlay: "wide",
			want:    want{bound: ErrMemoryLimit},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			overlay := tc.overlay
			if overlay == "" {
				overlay = "overlays/dev"
			}
			out, err := NewRenderer(tc.limits).Build(context.Background(), "team-a", MapSource(tc.files), overlay, nil)
			if err == nil {
				t.Fatalf("Build(...): want error, got %d bytes of output", len(out))
			}
			for _, target := range []error{ErrLimitExceeded, tc.want.bound} {
				if !errors.Is(err, target) {
					t.Errorf("Build(...): errors.Is(%v, %v) = false", err, target)
				}
			}
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("Build(...): errors.As(%v, *LimitError) = false", err)
			}
			if diff := cmp.Diff(tc.want, want{bound: le.Bound, file: le.File, field: le.Field}, cmp.AllowUnexported(want{}), cmpopts.EquateErrors()); diff != "" {
				t.Errorf("Build(...): -want, +got:\n%s", diff)
			}
			if tc.want.file != "" && !strings.Contains(err.Error(), tc.want.file+": ") {
				t.Errorf("Build(...): error %q does not name %s", err, tc.want.file)
			}
		})
	}
}

// TestAliasBombIsRefusedCheaply proves the alias bomb is refused before any
// worker starts, for a bounded amount of memory: what the provider
// allocates to refuse it is reported.
func TestAliasBombIsRefusedCheaply(t *testing.T) {
	files := fixture(func(f map[string][]byte) {
		f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base, lol.yaml]\n")
		f["overlays/dev/lol.yaml"] = []byte(lolConfigMap)
	})
	src := MapSource(files)
	r := NewRenderer(Limits{})
	started := workersStarted.Load()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := r.Build(context.Background(), "team-a", src, "overlays/dev", nil)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrAliasExpansion) {
		t.Fatalf("Build(...): errors.Is(%v, ErrAliasExpansion) = false", err)
	}
	if n := workersStarted.Load() - started; n != 0 {
		t.Errorf("%d render workers started, want 0", n)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte alias bomb (%d bytes as a ConfigMap) refused in %v, %d KiB allocated", len(lol), len(lolConfigMap), took, alloc>>10)
	if alloc > 50<<20 {
		t.Errorf("refusing the alias bomb allocated %d MiB, want < 50 MiB", alloc>>20)
	}
}
