package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// allocated is how many bytes fn allocates: the blobs a read reaches are
// inflated into memory, the ones it does not reach are not.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestTreeReadsOnlyWhatItIsAsked is hole 9's read side: a render reads the
// overlay's directories, not a big unrelated directory beside them, and a
// read over its bound is refused before the blobs are read.
func TestTreeReadsOnlyWhatItIsAsked(t *testing.T) {
	tree := gitserver.KustomizeTree()
	files := map[string][]byte{}
	for p, c := range tree {
		files[p] = c
	}
	// An unrelated directory of 40 files of 1 MiB (zeros, so the pack stays
	// small), a 9 MiB file and a nested directory.
	for i := range 40 {
		files[fmt.Sprintf("assets/video-%02d.bin", i)] = bytes.Repeat([]byte{0}, 1<<20)
	}
	files["huge.yaml"] = bytes.Repeat([]byte("#"), 9<<20)
	files["overlays/dev/nested/extra.yaml"] = []byte("a: 1\n")
	s := gitserver.New(t)
	commit := s.CreateRepo(t, "config", files)
	r := newRepo(t, s.URL("config"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr, err := r.Tree(commit)
	if err != nil {
		t.Fatal(err)
	}
	pick := func(paths ...string) map[string][]byte {
		m := map[string][]byte{}
		for _, p := range paths {
			m[p] = files[p]
		}
		return m
	}
	overlay := pick("overlays/dev/kustomization.yaml", "overlays/dev/nested/extra.yaml",
		"base/kustomization.yaml", "base/deployment.yaml", "base/service.yaml", "base/configmap.yaml")

	cases := map[string]struct {
		dirs     []string
		maxFiles int
		maxBytes int64
		want     map[string][]byte
		err      error
	}{
		"OverlayAndBase": {dirs: []string{"overlays/dev", "base"}, maxFiles: 10, maxBytes: 64 << 10, want: overlay},
		"Overlapping":    {dirs: []string{"base", "base/", "./base", "overlays/dev", "overlays/dev/nested"}, maxFiles: 10, maxBytes: 64 << 10, want: overlay},
		"Missing":        {dirs: []string{"overlays/nope"}, maxFiles: 10, maxBytes: 1024, want: map[string][]byte{}},
		"AFileIsNoDir":   {dirs: []string{"base/service.yaml"}, maxFiles: 10, maxBytes: 1024, want: map[string][]byte{}},
		"ExactBound":     {dirs: []string{"base"}, maxFiles: 4, maxBytes: size(tree, "base/"), want: pick("base/kustomization.yaml", "base/deployment.yaml", "base/service.yaml", "base/configmap.yaml")},
		"OneFileTooMany": {dirs: []string{"base"}, maxFiles: 3, maxBytes: 64 << 10, err: ErrTooLarge},
		"OneByteTooMany": {dirs: []string{"base"}, maxFiles: 10, maxBytes: size(tree, "base/") - 1, err: ErrTooLarge},
		"BigDirectory":   {dirs: []string{"assets"}, maxFiles: 1000, maxBytes: 1 << 20, err: ErrTooLarge},
		"ManyFiles":      {dirs: []string{"assets"}, maxFiles: 10, maxBytes: 1 << 30, err: ErrTooLarge},
		"WholeTree":      {dirs: []string{""}, maxFiles: 1000, maxBytes: 1 << 20, err: ErrTooLarge},
		"HugeFile":       {dirs: []string{"."}, maxFiles: 1000, maxBytes: 1 << 30, err: ErrTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got map[string][]byte
			var err error
			n := allocated(func() { got, err = tr.FilesUnder(tc.dirs, tc.maxFiles, tc.maxBytes) })
			if !errors.Is(err, tc.err) {
				t.Fatalf("FilesUnder(%q): want error %v, got %v", tc.dirs, tc.err, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("FilesUnder(%q): -want +got:\n%s", tc.dirs, diff)
			}
			t.Logf("FilesUnder(%q): %d bytes allocated", tc.dirs, n)
			// No read inflates any of the 1 MiB (or 9 MiB) blobs: refused
			// reads stop before reading blobs.
			if n > 1<<20 {
				t.Errorf("FilesUnder(%q) allocated %d bytes: it read blobs it was not asked for or refused", tc.dirs, n)
			}
		})
	}
	for _, bad := range []string{"../x", "/etc", "a/../../x"} {
		if _, err := tr.FilesUnder([]string{bad}, 10, 1024); err == nil {
			t.Errorf("FilesUnder(%q): want an error", bad)
		}
	}

	type file struct {
		Content string
		Found   bool
	}
	readCases := map[string]struct {
		path string
		want file
		err  error
	}{
		"File":      {path: "base/service.yaml", want: file{string(tree["base/service.yaml"]), true}},
		"Directory": {path: "base"},
		"Missing":   {path: "nope.yaml"},
		"UnderFile": {path: "base/service.yaml/x"},
		"TooLarge":  {path: "huge.yaml", err: ErrTooLarge},
	}
	for name, tc := range readCases {
		t.Run("ReadFile/"+name, func(t *testing.T) {
			var b []byte
			var found bool
			var err error
			n := allocated(func() { b, found, err = tr.ReadFile(tc.path) })
			if !errors.Is(err, tc.err) {
				t.Fatalf("ReadFile(%q): want error %v, got %v", tc.path, tc.err, err)
			}
			if diff := cmp.Diff(tc.want, file{string(b), found}); diff != "" {
				t.Errorf("ReadFile(%q): -want +got:\n%s", tc.path, diff)
			}
			if n > 1<<20 {
				t.Errorf("ReadFile(%q) allocated %d bytes", tc.path, n)
			}
		})
	}
	for p, want := range map[string]bool{"": true, ".": true, "base": true, "overlays/dev/nested": true, "base/service.yaml": false, "nope": false} {
		if got, err := tr.IsDir(p); err != nil || got != want {
			t.Errorf("IsDir(%q): want %v, got %v, %v", p, want, got, err)
		}
	}

	// The figure: what the overlay's read costs against reading every
	// directory, as Files did (it read huge.yaml too).
	under := allocated(func() { _, _ = tr.FilesUnder([]string{"overlays/dev", "base"}, 100, 1<<20) })
	all := allocated(func() { _, _ = tr.FilesUnder([]string{"assets", "base", "overlays"}, 1000, 1<<30) })
	t.Logf("bytes allocated: FilesUnder(overlays/dev, base) %d; every directory %d", under, all)
}

func size(files map[string][]byte, prefix string) int64 {
	var n int64
	for p, c := range files {
		if len(p) > len(prefix) && p[:len(prefix)] == prefix {
			n += int64(len(c))
		}
	}
	return n
}
