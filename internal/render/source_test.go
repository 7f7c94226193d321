package render

import (
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/google/go-cmp/cmp"
)

// recordingSource records what a render reads.
type recordingSource struct {
	Source
	mu    sync.Mutex
	read  []string // ReadFile paths
	under []string // FilesUnder dirs
	got   []string // files FilesUnder returned
}

func (s *recordingSource) ReadFile(p string) ([]byte, bool, error) {
	s.mu.Lock()
	s.read = append(s.read, p)
	s.mu.Unlock()
	return s.Source.ReadFile(p)
}

func (s *recordingSource) FilesUnder(dirs []string, maxFiles int, maxBytes int64) (map[string][]byte, error) {
	files, err := s.Source.FilesUnder(dirs, maxFiles, maxBytes)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.under = append(s.under, dirs...)
	for p := range files {
		s.got = append(s.got, p)
	}
	sort.Strings(s.got)
	return files, err
}

// TestBuildReadsOnlyWhatTheOverlayReaches proves a render reads the
// kustomization files it walks and the files under their directories, and
// nothing else of the source tree: not other overlays, not unrelated files.
func TestBuildReadsOnlyWhatTheOverlayReaches(t *testing.T) {
	files := fixture(func(f map[string][]byte) {
		f["overlays/dev/kustomization.yaml"] = []byte("resources: [../../base]\ncomponents: [../../components/prefix]\ntransformers: [../../transformers]\n")
		f["components/prefix/kustomization.yaml"] = []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamePrefix: c-\n")
		f["transformers/kustomization.yaml"] = []byte("resources: [labels.yaml]\n")
		f["transformers/labels.yaml"] = []byte("apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {team: a}\nfieldSpecs: [{path: metadata/labels, create: true}]\n")
		f["docs/big.md"] = make([]byte, 1<<20)
		f["components/other/kustomization.yaml"] = []byte("namePrefix: o-\n")
	})
	src := &recordingSource{Source: MapSource(files)}
	if _, err := Build(src, "overlays/dev", nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base", "components/prefix", "overlays/dev", "transformers"}, src.under); diff != "" {
		t.Errorf("FilesUnder dirs: -want, +got:\n%s", diff)
	}
	want := []string{
		"base/deployment.yaml", "base/kustomization.yaml", "base/service.yaml",
		"components/prefix/kustomization.yaml",
		"overlays/dev/kustomization.yaml", "overlays/dev/replicas.yaml",
		"transformers/kustomization.yaml", "transformers/labels.yaml",
	}
	if diff := cmp.Diff(want, src.got); diff != "" {
		t.Errorf("files read: -want, +got:\n%s", diff)
	}
	for _, p := range src.read {
		switch p {
		case "overlays/dev/kustomization.yaml", "base/kustomization.yaml", "components/prefix/kustomization.yaml", "transformers/kustomization.yaml":
		default:
			t.Errorf("ReadFile(%q): a render reads only the kustomization files it walks", p)
		}
	}
}

func TestMapSource(t *testing.T) {
	src := MapSource(map[string][]byte{"a/b/c.yaml": []byte("c"), "a/d.yaml": []byte("dd"), "e.yaml": []byte("eee")})
	for p, want := range map[string]bool{".": true, "a": true, "a/b": true, "a/b/c.yaml": false, "x": false} {
		if got, err := src.IsDir(p); err != nil || got != want {
			t.Errorf("IsDir(%q) = %v, %v, want %v", p, got, err, want)
		}
	}
	if c, found, err := src.ReadFile("a/d.yaml"); err != nil || !found || string(c) != "dd" {
		t.Errorf("ReadFile(a/d.yaml) = %q, %v, %v", c, found, err)
	}
	if _, found, err := src.ReadFile("a/x.yaml"); err != nil || found {
		t.Errorf("ReadFile(a/x.yaml): found %v, %v", found, err)
	}
	got, err := src.FilesUnder([]string{"a"}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]byte{"a/b/c.yaml": []byte("c"), "a/d.yaml": []byte("dd")}, got); diff != "" {
		t.Errorf("FilesUnder(a): -want, +got:\n%s", diff)
	}
	if _, err := src.FilesUnder([]string{"."}, 2, 100); !errors.Is(err, ErrTooManyFiles) {
		t.Errorf("FilesUnder(., 2 files): %v, want ErrTooManyFiles", err)
	}
	if _, err := src.FilesUnder([]string{"."}, 10, 5); !errors.Is(err, ErrOverlayTooLarge) {
		t.Errorf("FilesUnder(., 5 bytes): %v, want ErrOverlayTooLarge", err)
	}
	bad := MapSource(map[string][]byte{"../x": nil})
	if _, _, err := bad.ReadFile("x"); err == nil {
		t.Errorf("ReadFile on a MapSource with key ../x: want error")
	}
}

// TestBuildRefusesWithoutWorkerEntry: a program that never called
// RunWorkerIfRequested would run itself again, not a worker.
func TestBuildRefusesWithoutWorkerEntry(t *testing.T) {
	workerEntered.Store(false)
	defer workerEntered.Store(true)
	started := workersStarted.Load()
	_, err := NewRenderer(Limits{}).Build(context.Background(), "team-a", MapSource(fixture()), "overlays/dev", nil)
	if !errors.Is(err, errWorkerNotEntered) {
		t.Errorf("Build(...): %v, want errWorkerNotEntered", err)
	}
	if n := workersStarted.Load() - started; n != 0 {
		t.Errorf("%d workers started, want 0", n)
	}
}

// TestBuildStopsWithItsContext: a render whose reconcile is cancelled stops.
func TestBuildStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewRenderer(Limits{}).Build(ctx, "team-a", MapSource(slowFixture(500, 50)), "slow", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Build(...): %v, want context.Canceled", err)
	}
}
