package render

import (
	"path"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Source is the source tree a render reads: a commit of the config
// repository. Build reads only what the overlay reaches: the kustomization
// files it walks, then the files in or below their directories.
type Source interface {
	// ReadFile returns the file at a clean repository-relative path; found=false if absent.
	ReadFile(path string) (content []byte, found bool, err error)
	// IsDir reports whether a directory exists at a clean repository-relative path ("." is the root).
	IsDir(path string) (bool, error)
	// FilesUnder returns every file in or below the given directories (path → content), refusing with an error once more than maxFiles files or maxBytes bytes would be returned.
	FilesUnder(dirs []string, maxFiles int, maxBytes int64) (map[string][]byte, error)
}

// MapSource returns a Source holding files (repository-relative path →
// content). A key that is not a relative path inside the repository, or two
// keys naming the same path, make every read fail with an error naming it.
func MapSource(files map[string][]byte) Source {
	s := &mapSource{
		files: make(map[string][]byte, len(files)),
		paths: make([]string, 0, len(files)),
		dirs:  map[string]bool{".": true},
	}
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, err := cleanRepoPath(k)
		if err != nil {
			s.err = err
			return s
		}
		if _, dup := s.files[p]; dup {
			s.err = errors.Errorf("cannot read source file %q: another key names the same path %q", k, p)
			return s
		}
		s.files[p] = files[k]
		s.paths = append(s.paths, p)
		for d := path.Dir(p); d != "." && !s.dirs[d]; d = path.Dir(d) {
			s.dirs[d] = true
		}
	}
	sort.Strings(s.paths)
	return s
}

type mapSource struct {
	files map[string][]byte
	paths []string        // sorted
	dirs  map[string]bool // every directory holding a file, "." included
	err   error
}

func (s *mapSource) ReadFile(p string) ([]byte, bool, error) {
	if s.err != nil {
		return nil, false, s.err
	}
	c, ok := s.files[p]
	return c, ok, nil
}

func (s *mapSource) IsDir(p string) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	return s.dirs[p], nil
}

func (s *mapSource) FilesUnder(dirs []string, maxFiles int, maxBytes int64) (map[string][]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	in := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		in[d] = true
	}
	out := map[string][]byte{}
	var total int64
	for _, p := range s.paths {
		if !underAny(p, in) {
			continue
		}
		total += int64(len(s.files[p]))
		if len(out)+1 > maxFiles {
			return nil, errors.Wrapf(ErrTooManyFiles, "more than %d files", maxFiles)
		}
		if total > maxBytes {
			return nil, errors.Wrapf(ErrOverlayTooLarge, "more than %d bytes", maxBytes)
		}
		out[p] = s.files[p]
	}
	return out, nil
}

// underAny reports whether file p is in or below one of dirs.
func underAny(p string, dirs map[string]bool) bool {
	if dirs["."] {
		return true
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return false
}

// cleanRepoPath returns a source file's path, clean and relative.
func cleanRepoPath(p string) (string, error) {
	c := path.Clean(p)
	if p == "" || path.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.Errorf("cannot read source file %q: its path must be relative to the repository root", p)
	}
	return c, nil
}
