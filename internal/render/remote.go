package render

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
)

// ErrRemoteReference is wrapped by the error Build returns when a
// kustomization the overlay reaches refers to a remote git repository or
// URL. kustomize would fetch it from inside the provider (git fetch, HTTP
// GET) with no timeout, and the output would no longer be a function of the
// commit; a remote git base cannot even load from the in-memory tree.
var ErrRemoteReference = errors.New("remote kustomize references are not supported")

// tree is the source tree: clean repository-relative paths.
type tree struct {
	files map[string][]byte
	paths []string        // sorted
	dirs  map[string]bool // every directory holding a file, "." included
}

func newTree(files map[string][]byte) (*tree, error) {
	t := &tree{
		files: make(map[string][]byte, len(files)),
		paths: make([]string, 0, len(files)),
		dirs:  map[string]bool{".": true},
	}
	for k, c := range files {
		p, err := cleanRepoPath(k)
		if err != nil {
			return nil, err
		}
		if _, dup := t.files[p]; dup {
			return nil, errors.Errorf("cannot read source file %q: another key names the same path %q", k, p)
		}
		t.files[p] = c
		t.paths = append(t.paths, p)
		for d := path.Dir(p); d != "." && !t.dirs[d]; d = path.Dir(d) {
			t.dirs[d] = true
		}
	}
	sort.Strings(t.paths)
	return t, nil
}

func (t *tree) isDir(p string) bool { return t.dirs[p] }

// kustomization returns the content and name of dir's kustomization file,
// or nil.
func (t *tree) kustomization(dir string) ([]byte, string) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if c, ok := t.files[path.Join(dir, n)]; ok {
			return c, n
		}
	}
	return nil, ""
}

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksRemote mirrors how kustomize tells a git or HTTP reference from a
// local path: a scheme, an SCP-style user@, or a github.com/ prefix.
func looksRemote(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(l, "\n") {
		return false // an inline patch or plugin config, not a reference
	}
	l = strings.TrimPrefix(l, "git::")
	return strings.Contains(l, "://") || scpUser.MatchString(l) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") ||
		strings.HasPrefix(l, "gh:")
}

// walk visits the kustomizations reachable from dir through resources,
// components, bases, generators, transformers and validators that are
// local directories, refuses any remote reference, and returns the
// directories visited: with load restrictions on, kustomize reads no file
// outside them. A kustomization that cannot be read is not followed
// further: kustomize stops there with its own error.
func (t *tree) walk(dir string) (map[string]bool, error) {
	seen := map[string]bool{}
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		kf, name := t.kustomization(d)
		if kf == nil {
			continue
		}
		var k types.Kustomization
		if err := k.Unmarshal(kf); err != nil {
			continue
		}
		file := path.Join(d, name)
		var refs []string
		refs = append(refs, k.Resources...)
		refs = append(refs, k.Components...)
		refs = append(refs, k.Bases...)
		refs = append(refs, k.Generators...)
		refs = append(refs, k.Transformers...)
		refs = append(refs, k.Validators...)
		for _, r := range refs {
			if looksRemote(r) {
				return nil, errors.Wrapf(ErrRemoteReference, "cannot build %s: it refers to %q: vendor it into the repository and refer to it by a relative path", file, r)
			}
			if strings.Contains(r, "\n") {
				continue // inline plugin configuration
			}
			if p := path.Join(d, r); t.isDir(p) {
				queue = append(queue, p)
			}
		}
		for _, r := range fileRefs(k) {
			if looksRemote(r) {
				return nil, errors.Wrapf(ErrRemoteReference, "cannot build %s: it loads %q: copy the file into the repository and refer to it by a relative path", file, r)
			}
		}
	}
	return seen, nil
}

// fileRefs returns the kustomization's fields that kustomize loads as files
// (and would fetch over HTTP if they were URLs).
func fileRefs(k types.Kustomization) []string {
	var out []string
	out = append(out, k.Crds...)
	out = append(out, k.Configurations...)
	for _, p := range k.Patches {
		out = append(out, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		out = append(out, string(p))
	}
	for _, r := range k.Replacements {
		out = append(out, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		out = append(out, kvFiles(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		out = append(out, kvFiles(g.KvPairSources)...)
	}
	keys := make([]string, 0, len(k.OpenAPI))
	for key := range k.OpenAPI {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		out = append(out, k.OpenAPI[key])
	}
	return out
}

func kvFiles(s types.KvPairSources) []string {
	out := make([]string, 0, len(s.FileSources)+len(s.EnvSources)+1)
	for _, f := range s.FileSources {
		// A file source is "path" or "key=path".
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, s.EnvSources...)
	return append(out, s.EnvSource)
}
