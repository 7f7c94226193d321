package gitrepo

import (
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectCacheBytes bounds the decoded objects each open clone keeps in
// memory (go-git's default is 96 MiB per clone).
const objectCacheBytes = 8 * cache.MiByte

// errPackTooLarge stops a packfile that passes the limit as it arrives.
var errPackTooLarge = errors.New("packfile larger than the limit")

// limitedStorage is a clone's object storage that refuses a fetched
// packfile once it passes a byte limit, whatever the transport: go-git
// streams every fetched pack through PackfileWriter.
type limitedStorage struct {
	*filesystem.Storage
	dir   string
	packs PackLimits
	limit atomic.Int64 // bytes the next fetched pack may have; <= 0 refuses any
}

func newLimitedStorage(dir string, packs PackLimits) *limitedStorage {
	fs := osfs.New(dir, osfs.WithBoundOS())
	return &limitedStorage{Storage: filesystem.NewStorage(fs, cache.NewObjectLRU(objectCacheBytes)), dir: dir, packs: packs}
}

// setPackLimit bounds the packs fetched from now on; n <= 0 refuses any.
// Only fetches write packs through the storage, and each sets its limit.
func (s *limitedStorage) setPackLimit(n int64) { s.limit.Store(n) }

// PackfileWriter returns the filesystem storage's writer, cut off at the
// limit, behind a check of the pack's objects against the pack limits: the
// filesystem storage indexes the pack as it is written, inflating every
// object into memory.
func (s *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	known := func(h plumbing.Hash) bool { return s.HasEncodedObject(h) == nil }
	return newCheckedPackWriter(&limitedWriter{WriteCloser: w, left: s.limit.Load()}, s.packs, known), nil
}

// removeTempPacks deletes what a refused or failed fetch left of its pack.
func (s *limitedStorage) removeTempPacks() {
	m, _ := filepath.Glob(filepath.Join(s.dir, "objects", "pack", "tmp_pack_*"))
	for _, p := range m {
		_ = os.Remove(p)
	}
}

type limitedWriter struct {
	io.WriteCloser
	left int64
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.left {
		return 0, errPackTooLarge
	}
	w.left -= int64(len(p))
	return w.WriteCloser.Write(p)
}

// checkedPackWriter passes a pack on to dst only as far as a packValidator
// has checked it. The validator reads what is written through a pipe, so a
// writer waits while it checks and gets its error once it refuses.
type checkedPackWriter struct {
	pw   *io.PipeWriter
	dst  io.WriteCloser
	done chan error
}

func newCheckedPackWriter(dst io.WriteCloser, l PackLimits, known func(plumbing.Hash) bool) *checkedPackWriter {
	pr, pw := io.Pipe()
	w := &checkedPackWriter{pw: pw, dst: dst, done: make(chan error, 1)}
	go func() {
		_, err := io.Copy(dst, newPackValidator(pr, l, known))
		// A Write waiting on the pipe returns err (io.ErrClosedPipe if the
		// pack was complete).
		_ = pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

func (w *checkedPackWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close ends the pack, waits for the check and closes dst, which indexes
// what it was given. The check's error comes first.
func (w *checkedPackWriter) Close() error {
	_ = w.pw.Close()
	err := <-w.done
	if cerr := w.dst.Close(); err == nil {
		err = cerr
	}
	return err
}
