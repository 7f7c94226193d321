package gitrepo

import (
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-billy/v5/osfs"
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
	limit atomic.Int64 // bytes the next fetched pack may have; <= 0 refuses any
}

func newLimitedStorage(dir string) *limitedStorage {
	fs := osfs.New(dir, osfs.WithBoundOS())
	return &limitedStorage{Storage: filesystem.NewStorage(fs, cache.NewObjectLRU(objectCacheBytes)), dir: dir}
}

// setPackLimit bounds the packs fetched from now on; n <= 0 refuses any.
// Only fetches write packs through the storage, and each sets its limit.
func (s *limitedStorage) setPackLimit(n int64) { s.limit.Store(n) }

// PackfileWriter returns the filesystem storage's writer, cut off at the
// limit.
func (s *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &limitedWriter{WriteCloser: w, left: s.limit.Load()}, nil
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
