package render

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ErrRemoteReference is wrapped by the error Build returns when a
// kustomization the overlay reaches refers to a remote git repository or
// URL. kustomize would fetch it from inside the provider (git fetch, HTTP
// GET) with no timeout, and the output would no longer be a function of the
// commit; a remote git base cannot even load from the in-memory tree.
var ErrRemoteReference = errors.New("remote kustomize references are not supported")

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksRemote mirrors how kustomize tells a git or HTTP reference from a
// local path: a scheme, an SCP-style user@, or a github.com/ prefix.
func looksRemote(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	if strings.ContainsAny(l, "\n") {
		return false // an inline patch or plugin config, not a reference
	}
	l = strings.TrimPrefix(l, "git::")
	return strings.Contains(l, "://") || scpUser.MatchString(l) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") ||
		strings.HasPrefix(l, "gh:")
}

// refuseRemote walks the kustomizations reachable from dir (through
// resources, components and bases that are local directories) and refuses
// any remote reference. A kustomization that cannot be read is skipped:
// kustomize reports it.
func refuseRemote(fs filesys.FileSystem, dir string) error {
	seen := map[string]bool{}
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		kf, name := readKustomization(fs, d)
		if kf == nil {
			continue
		}
		var k types.Kustomization
		if err := k.Unmarshal(kf); err != nil {
			continue
		}
		file := strings.TrimPrefix(d+"/"+name, repoRoot+"/")
		var refs []string
		refs = append(refs, k.Resources...)
		refs = append(refs, k.Components...)
		refs = append(refs, k.Bases...)
		for _, r := range refs {
			if looksRemote(r) {
				return errors.Wrapf(ErrRemoteReference, "cannot build %s: it refers to %q: vendor it into the repository and refer to it by a relative path", file, r)
			}
			p := path.Join(d, r)
			if strings.HasPrefix(p, repoRoot+"/") && fs.IsDir(p) {
				queue = append(queue, p)
			}
		}
		for _, r := range fileRefs(k) {
			if looksRemote(r) {
				return errors.Wrapf(ErrRemoteReference, "cannot build %s: it loads %q: copy the file into the repository and refer to it by a relative path", file, r)
			}
		}
	}
	return nil
}

// fileRefs returns the kustomization's fields that kustomize loads as files
// (and would fetch over HTTP if they were URLs).
func fileRefs(k types.Kustomization) []string {
	var out []string
	out = append(out, k.Crds...)
	out = append(out, k.Configurations...)
	out = append(out, k.Generators...)
	out = append(out, k.Transformers...)
	out = append(out, k.Validators...)
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

// readKustomization returns the content and name of dir's kustomization
// file, or nil.
func readKustomization(fs filesys.FileSystem, dir string) ([]byte, string) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := dir + "/" + n
		if fs.Exists(p) && !fs.IsDir(p) {
			if c, err := fs.ReadFile(p); err == nil {
				return c, n
			}
		}
	}
	return nil, ""
}
