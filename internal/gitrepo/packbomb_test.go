package gitrepo

import (
	"bytes"
	"context"
	"crypto/sha1" // Git object ids
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// zeroReader yields zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// serverGit runs git in a server-side bare repository.
func serverGit(t testing.TB, s *gitserver.Server, repo string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = s.Path(repo)
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// commitTree points main at a commit whose tree holds blobs by name.
func commitTree(t testing.TB, s *gitserver.Server, repo string, blobs map[string]string) string {
	t.Helper()
	var tree strings.Builder
	for name, id := range blobs {
		fmt.Fprintf(&tree, "100644 blob %s\t%s\n", id, name)
	}
	tid := serverGit(t, s, repo, strings.NewReader(tree.String()), "mktree")
	commit := serverGit(t, s, repo, nil, "commit-tree", tid, "-m", "big")
	serverGit(t, s, repo, nil, "update-ref", "refs/heads/main", commit)
	return commit
}

// blobID is git's id of a blob of n zeros.
func blobID(n int64) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", n)
	_, _ = io.Copy(h, io.LimitReader(zeroReader{}, n))
	return fmt.Sprintf("%x", h.Sum(nil))
}

// allocatedDuring is what fn allocated on the heap, and the heap in use
// after it.
func allocatedDuring(fn func()) (allocated, inuse uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.HeapInuse
}

// TestFetchRefusesPackBombs: a tiny pack whose objects inflate past the
// bounds is refused with ErrTooLarge while it streams in, before go-git
// inflates them: the fetch allocates a small fraction of what the objects
// declare, and nothing of the refused fetch stays in the clone. Real git
// builds and serves both repositories over smart HTTP.
func TestFetchRefusesPackBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("serves a 400 MB blob")
	}
	ctx := context.Background()
	s := gitserver.New(t)

	// A 400 MB blob of zeros: about 400 KB on the wire.
	const zeroBytes = 400 << 20
	s.CreateEmptyRepo(t, "zeros")
	id := serverGit(t, s, "zeros", io.LimitReader(zeroReader{}, zeroBytes), "hash-object", "-w", "--stdin")
	commitTree(t, s, "zeros", map[string]string{"zeros.bin": id})
	serverGit(t, s, "zeros", nil, "repack", "-adq")

	// A 64 KiB blob, and a 256 MiB one stored as a 4 KB delta of it: 4096
	// copies of its 64 KiB. Real git indexes and serves the pack as is.
	const base, result = 64 << 10, 256 << 20
	s.CreateEmptyRepo(t, "delta")
	delta := append(varint(base), varint(result)...)
	delta = append(delta, bytes.Repeat([]byte{0x80}, result/base)...) // copy 64 KiB from offset 0
	pack := buildPack(-1, zeros(base), ofsDelta(0, delta))
	serverGit(t, s, "delta", bytes.NewReader(pack.bytes), "index-pack", "--stdin")
	commitTree(t, s, "delta", map[string]string{"base.bin": blobID(base), "big.bin": blobID(result)})

	cases := map[string]struct {
		repo     string
		declared int64
		flag     string
	}{
		"BlobOfZeros":     {repo: "zeros", declared: zeroBytes, flag: "--git-max-object-bytes"},
		"DeltaBuildsHuge": {repo: "delta", declared: result, flag: "--git-max-object-bytes"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRepo(t, s.URL(tc.repo), Auth{})
			var err error
			allocated, inuse := allocatedDuring(func() { err = r.Fetch(ctx) })
			t.Logf("fetch of %d declared bytes: allocated %d KiB, heap in use after %d KiB; error: %v", tc.declared, allocated>>10, inuse>>10, err)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Fetch: want %v, got %v", ErrTooLarge, err)
			}
			if !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %q does not name %s", err, tc.flag)
			}
			if limit := uint64(64 << 20); allocated > limit {
				t.Errorf("the refused fetch allocated %d MiB, more than %d MiB", allocated>>20, limit>>20)
			}
			if _, ok, _ := r.Head("main"); ok {
				t.Error("Head(main) after the refused fetch: ok")
			}
			left, _ := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*"))
			if len(left) != 0 {
				t.Errorf("the refused fetch left %v", left)
			}
		})
	}
}

// TestFetchRefusesTooManyObjects: a pack of more objects than the bound is
// refused at its header, before go-git indexes any.
func TestFetchRefusesTooManyObjects(t *testing.T) {
	s := gitserver.New(t)
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	l := DefaultPackLimits()
	l.MaxObjects = 3
	r := open(t, newCache(t, WithPackLimits(l)), s.URL("config"), Auth{})
	err := r.Fetch(context.Background())
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "--git-max-pack-objects") {
		t.Fatalf("Fetch with a bound of 3 objects: want %v naming --git-max-pack-objects, got %v", ErrTooLarge, err)
	}
	if _, ok, _ := r.Head("main"); ok {
		t.Error("Head(main) after the refused fetch: ok")
	}
}

// historyPack is the pack a first fetch of a repository of n commits of
// YAML changes brings.
func historyPack(b *testing.B, n int) []byte {
	b.Helper()
	s := gitserver.New(b)
	s.CreateRepo(b, "config", gitserver.KustomizeTree())
	for i := range n {
		var y strings.Builder
		for j := range 200 {
			fmt.Fprintf(&y, "key%d: value-%d-%d\n", j, j, i*j%97)
		}
		s.Commit(b, "config", "main", map[string][]byte{fmt.Sprintf("env/%d/values.yaml", i%10): []byte(y.String())}, "change")
	}
	r := newRepo(b, s.URL("config"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		b.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		b.Fatalf("packs: %v", packs)
	}
	p, err := os.ReadFile(packs[0])
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPackValidator is what the check adds to a fetch: inflating every
// object of an ordinary pack once more. MB/s are of the pack on the wire.
func BenchmarkPackValidator(b *testing.B) {
	pack := historyPack(b, 200)
	b.SetBytes(int64(len(pack)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, newPackValidator(bytes.NewReader(pack), DefaultPackLimits(), nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexPack is what go-git spends on the same pack, validator
// included: writing and indexing it into a clone's storage.
func BenchmarkIndexPack(b *testing.B) {
	pack := historyPack(b, 200)
	b.SetBytes(int64(len(pack)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		store := newLimitedStorage(b.TempDir(), DefaultPackLimits())
		store.setPackLimit(DefaultMaxRepoBytes)
		b.StartTimer()
		w, err := store.PackfileWriter()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(pack); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
