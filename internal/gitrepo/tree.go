package gitrepo

import (
	"io"
	"path"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Bounds of what one read returns.
const (
	// MaxFileBytes is the largest file ReadFile and FilesUnder return.
	MaxFileBytes int64 = 8 << 20
	// DefaultMaxFiles and DefaultMaxTreeBytes bound Files.
	DefaultMaxFiles           = 10000
	DefaultMaxTreeBytes int64 = 64 << 20
)

// Tree reads the files of one commit, and only those asked for: a render
// reads the directories its overlay reaches, never the whole repository.
// Every method is safe for concurrent use.
type Tree struct {
	repo   *Repo
	epoch  uint64
	commit string
	root   *object.Tree
}

// errReset is returned by a Tree whose clone was reset (it grew past its
// bound, or was evicted) after the Tree was read.
var errReset = errors.New("the cached clone was reset since this tree was read: read the tree again")

// usable checks that the clone still holds what t read. Callers hold
// repo.mu.
func (t *Tree) usable() error {
	switch {
	case t.repo.gone:
		return errEvicted
	case t.repo.epoch != t.epoch || t.repo.repo == nil:
		return errReset
	}
	return nil
}

// Tree returns the tree of commit (40 hex digits); ErrCommitNotFound if the
// clone does not hold it.
func (r *Repo) Tree(commit string) (*Tree, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commit(commit)
	if err != nil {
		return nil, errors.Wrap(err, "cannot read tree")
	}
	t, err := c.Tree()
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read tree of commit %s", commit)
	}
	return &Tree{repo: r, epoch: r.epoch, commit: commit, root: t}, nil
}

// cleanPath turns a slash-separated relative path into the form git trees
// use; "" and "." are the root. It refuses absolute paths and "..".
func cleanPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return "", errors.Errorf("invalid path %q: use a path relative to the repository's root", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", errors.Errorf("invalid path %q: it leaves the repository", p)
		}
	}
	if c := path.Clean(p); c != "." {
		return c, nil
	}
	return "", nil
}

// entry finds path's tree entry; ok is false if there is none.
func (t *Tree) entry(p string) (*object.TreeEntry, bool, error) {
	e, err := t.root.FindEntry(p)
	switch {
	case err == nil:
		return e, true, nil
	case errors.Is(err, object.ErrFileNotFound), errors.Is(err, object.ErrDirectoryNotFound),
		errors.Is(err, object.ErrEntryNotFound), errors.Is(err, plumbing.ErrObjectNotFound):
		return nil, false, nil
	}
	return nil, false, err
}

// ReadFile returns the file at path; found is false if there is none (or it
// is a directory or a submodule). A file larger than MaxFileBytes is refused
// with ErrTooLarge before it is read.
func (t *Tree) ReadFile(p string) (content []byte, found bool, err error) {
	cp, err := cleanPath(p)
	if err != nil {
		return nil, false, err
	}
	t.repo.mu.Lock()
	defer t.repo.mu.Unlock()
	if err := t.usable(); err != nil {
		return nil, false, err
	}
	e, ok, err := t.entry(cp)
	if err != nil {
		return nil, false, errors.Wrapf(err, "cannot read file %q of commit %s", p, t.commit)
	}
	if !ok || !isFile(e.Mode) {
		return nil, false, nil
	}
	b, err := t.readBlob(e.Hash, MaxFileBytes, cp)
	if err != nil {
		return nil, false, errors.Wrapf(err, "cannot read file %q of commit %s", p, t.commit)
	}
	return b, true, nil
}

// IsDir reports whether path is a directory ("" and "." are the root).
func (t *Tree) IsDir(p string) (bool, error) {
	cp, err := cleanPath(p)
	if err != nil {
		return false, err
	}
	if cp == "" {
		return true, nil
	}
	t.repo.mu.Lock()
	defer t.repo.mu.Unlock()
	if err := t.usable(); err != nil {
		return false, err
	}
	e, ok, err := t.entry(cp)
	if err != nil {
		return false, errors.Wrapf(err, "cannot read %q of commit %s", p, t.commit)
	}
	return ok && e.Mode == filemode.Dir, nil
}

// FilesUnder returns every file under the directories dirs ("" or "." is the
// whole tree; a directory that does not exist adds nothing), path → content.
// It refuses with ErrTooLarge, before reading any blob, when more than
// maxFiles files (or directories) or more than maxBytes bytes would be
// returned; a single file is also bounded by MaxFileBytes.
func (t *Tree) FilesUnder(dirs []string, maxFiles int, maxBytes int64) (map[string][]byte, error) {
	type file struct {
		path string
		hash plumbing.Hash
		size int64
	}
	t.repo.mu.Lock()
	defer t.repo.mu.Unlock()
	if err := t.usable(); err != nil {
		return nil, err
	}
	var (
		files   []file
		seen    = map[string]bool{}
		total   int64
		visited int
	)
	tooMany := func() error {
		return kindf(ErrTooLarge, "more than %d files under %s at commit %s", maxFiles, strings.Join(dirs, ", "), t.commit)
	}
	for _, d := range dirs {
		cd, err := cleanPath(d)
		if err != nil {
			return nil, err
		}
		root := t.root
		if cd != "" {
			e, ok, err := t.entry(cd)
			if err != nil {
				return nil, errors.Wrapf(err, "cannot read directory %q of commit %s", d, t.commit)
			}
			if !ok || e.Mode != filemode.Dir {
				continue
			}
			if root, err = t.root.Tree(cd); err != nil {
				return nil, errors.Wrapf(err, "cannot read directory %q of commit %s", d, t.commit)
			}
		}
		type dir struct {
			prefix string
			tree   *object.Tree
		}
		stack := []dir{{cd, root}}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, e := range cur.tree.Entries {
				p := e.Name
				if cur.prefix != "" {
					p = cur.prefix + "/" + e.Name
				}
				if seen[p] {
					continue // dirs overlap
				}
				seen[p] = true
				if visited++; visited > 2*maxFiles {
					return nil, tooMany()
				}
				switch {
				case e.Mode == filemode.Dir:
					sub, err := object.GetTree(t.repo.repo.Storer, e.Hash)
					if err != nil {
						return nil, errors.Wrapf(err, "cannot read directory %q of commit %s", p, t.commit)
					}
					stack = append(stack, dir{p, sub})
				case isFile(e.Mode):
					if len(files) >= maxFiles {
						return nil, tooMany()
					}
					size, err := t.repo.repo.Storer.EncodedObjectSize(e.Hash)
					if err != nil {
						return nil, errors.Wrapf(err, "cannot read file %q of commit %s", p, t.commit)
					}
					if size > MaxFileBytes {
						return nil, kindf(ErrTooLarge, "file %q of commit %s has %d bytes, more than %d", p, t.commit, size, MaxFileBytes)
					}
					if total += size; total > maxBytes {
						return nil, kindf(ErrTooLarge, "the files under %s at commit %s have more than %d bytes", strings.Join(dirs, ", "), t.commit, maxBytes)
					}
					files = append(files, file{p, e.Hash, size})
				}
			}
		}
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := t.readBlob(f.hash, f.size, f.path)
		if err != nil {
			return nil, errors.Wrapf(err, "cannot read file %q of commit %s", f.path, t.commit)
		}
		out[f.path] = b
	}
	return out, nil
}

// isFile: regular, executable and symlink entries are files (a symlink's
// content is its target); submodules are not.
func isFile(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated || m == filemode.Symlink
}

// readBlob reads at most limit bytes of a blob, refusing a larger one before
// reading it. Callers hold repo.mu.
func (t *Tree) readBlob(h plumbing.Hash, limit int64, p string) ([]byte, error) {
	b, err := object.GetBlob(t.repo.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	if b.Size > limit {
		return nil, kindf(ErrTooLarge, "file %q has %d bytes, more than %d", p, b.Size, limit)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	buf, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return nil, kindf(ErrTooLarge, "file %q has more than %d bytes", p, limit)
	}
	return buf, nil
}

// Files returns every file of commit's tree, path → content, refusing with
// ErrTooLarge a tree of more than DefaultMaxFiles files or
// DefaultMaxTreeBytes bytes. Prefer Tree(commit).FilesUnder the directories
// needed.
func (r *Repo) Files(commit string) (map[string][]byte, error) {
	t, err := r.Tree(commit)
	if err != nil {
		return nil, errors.Wrap(err, "cannot read files")
	}
	files, err := t.FilesUnder([]string{""}, DefaultMaxFiles, DefaultMaxTreeBytes)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read files of commit %s", commit)
	}
	return files, nil
}

// ReadFile returns one file of commit's tree; ok is false if there is no file
// at path. A file larger than MaxFileBytes is refused with ErrTooLarge.
func (r *Repo) ReadFile(commit, p string) ([]byte, bool, error) {
	t, err := r.Tree(commit)
	if err != nil {
		return nil, false, errors.Wrapf(err, "cannot read file %q", p)
	}
	return t.ReadFile(p)
}
