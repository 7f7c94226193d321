package render

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
)

// ErrRemoteReference is matched (errors.Is) by the error Build returns when
// a kustomization the overlay reaches, or a plugin configuration it lists,
// names a remote git repository or URL. The render worker could not fetch
// it anyway (it has no network and no git); this error says which field to
// fix.
var ErrRemoteReference = errors.New("remote kustomize references are not supported")

// ErrHelmNotSupported is matched (errors.Is) by the error Build returns for
// an overlay that inflates a Helm chart: that runs helm and fetches charts.
var ErrHelmNotSupported = errors.New("helm charts are not supported")

// FieldError names the file and field a user fixes.
type FieldError struct {
	// File is the repository-relative file.
	File string
	// Field is the field of File, e.g. patchesJson6902[0].path.
	Field string
	// Problem says what is wrong and how to fix it.
	Problem string
	// Err is ErrRemoteReference or ErrHelmNotSupported.
	Err error
}

func (e *FieldError) Error() string { return e.File + ": " + e.Field + " " + e.Problem }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

func remoteDir(file, field, ref string) error {
	return &FieldError{File: file, Field: field, Err: ErrRemoteReference,
		Problem: fmt.Sprintf("%q is a remote reference: vendor what it names into the repository and refer to it by a relative path", ref)}
}

func remoteFile(file, field, ref string) error {
	return &FieldError{File: file, Field: field, Err: ErrRemoteReference,
		Problem: fmt.Sprintf("%q is a URL: copy the file into the repository and refer to it by a relative path", ref)}
}

func helm(file, field string) error {
	return &FieldError{File: file, Field: field, Err: ErrHelmNotSupported,
		Problem: "inflates a Helm chart, which K8sTA does not do: render the chart into the repository (helm template) and list the output under resources"}
}

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// looksRemote mirrors how kustomize tells a git or HTTP reference from a
// local path: a scheme, an SCP-style user@, or a github.com/ prefix. It is
// there for a clear message; the render worker cannot reach the network
// whatever a reference looks like.
func looksRemote(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "git::")
	return strings.Contains(l, "://") || strings.HasPrefix(l, "http:") || strings.HasPrefix(l, "https:") ||
		strings.HasPrefix(l, "file:") || scpUser.MatchString(l) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") ||
		strings.HasPrefix(l, "gh:")
}

// isHTTPURL is how kustomize tells a strategic-merge patch it fetches from
// one it reads from a file or takes inline: a one-line inline patch may well
// hold "https://" in a value.
func isHTTPURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

// walker finds what an overlay reaches: it visits the kustomizations
// reachable through resources, components, bases, generators, transformers
// and validators that are local directories, refuses remote references and
// Helm charts in every field kustomize loads from a path, and remembers the
// plugin configuration files to check once they are read. With load
// restrictions on, kustomize reads no file outside the directories visited.
type walker struct {
	src    Source
	limits Limits
	budget *nodeBudget

	read    int64           // bytes of kustomization files read
	charged map[string]bool // files whose aliases are counted
	dirs    map[string]bool // kustomization directories visited
	// pluginFiles are plugin configuration files (repository path) with
	// the kustomization and field that list them.
	pluginFiles map[string]fileRef
}

type fileRef struct{ file, field string }

func newWalker(src Source, l Limits) *walker {
	return &walker{
		src:         src,
		limits:      l,
		budget:      newNodeBudget(l.MaxYAMLNodes),
		charged:     map[string]bool{},
		dirs:        map[string]bool{},
		pluginFiles: map[string]fileRef{},
	}
}

// kustomization returns the content and path of dir's kustomization file,
// or nil, bounded and with its aliases counted.
func (w *walker) kustomization(dir string) ([]byte, string, error) {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, n)
		c, found, err := w.src.ReadFile(p)
		if err != nil {
			return nil, "", errors.Wrapf(err, "cannot read %s", p)
		}
		if !found {
			continue
		}
		if int64(len(c)) > w.limits.MaxKustomizationBytes {
			return nil, "", &LimitError{Bound: ErrKustomizationTooLarge, File: p, Limit: w.limits.MaxKustomizationBytes, Unit: "bytes"}
		}
		w.read += int64(len(c))
		if w.read > w.limits.MaxOverlayBytes {
			return nil, "", &LimitError{Bound: ErrOverlayTooLarge, File: p, Limit: w.limits.MaxOverlayBytes, Unit: "bytes"}
		}
		if err := w.charge(p, c); err != nil {
			return nil, "", err
		}
		return c, p, nil
	}
	return nil, "", nil
}

func (w *walker) charge(p string, c []byte) error {
	if w.charged[p] {
		return nil
	}
	w.charged[p] = true
	return w.budget.charge(p, "", c)
}

type dirVisit struct {
	dir string
	// plugins is true for a directory reached as a generator, transformer
	// or validator: its resources are plugin configurations.
	plugins bool
}

// walk visits the kustomizations reachable from dir. A kustomization that
// cannot be read is not followed further: kustomize stops there with its
// own error.
func (w *walker) walk(dir string) error {
	seen := map[dirVisit]bool{}
	queue := []dirVisit{{dir: dir}}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if seen[v] {
			continue
		}
		seen[v] = true
		w.dirs[v.dir] = true
		if len(w.dirs) > w.limits.MaxFiles {
			return &LimitError{Bound: ErrTooManyFiles, File: v.dir, Limit: int64(w.limits.MaxFiles), Unit: "files"}
		}
		kf, file, err := w.kustomization(v.dir)
		if err != nil {
			return err
		}
		if kf == nil {
			continue
		}
		var k types.Kustomization
		if err := k.Unmarshal(kf); err != nil {
			continue
		}
		next, err := w.check(v, file, &k)
		if err != nil {
			return err
		}
		queue = append(queue, next...)
	}
	return nil
}

// check refuses what kustomization k (at file, in v.dir) may not do and
// returns the directories it reaches.
func (w *walker) check(v dirVisit, file string, k *types.Kustomization) ([]dirVisit, error) {
	var next []dirVisit
	dirs := func(field string, refs []string, plugins bool) error {
		for i, r := range refs {
			f := fmt.Sprintf("%s[%d]", field, i)
			if looksRemote(r) {
				return remoteDir(file, f, r)
			}
			p := path.Join(v.dir, r)
			isDir, err := w.isDir(p)
			if err != nil {
				return err
			}
			switch {
			case isDir:
				next = append(next, dirVisit{dir: p, plugins: plugins})
			case plugins:
				w.pluginFiles[p] = fileRef{file: file, field: f}
			}
		}
		return nil
	}
	if err := dirs("resources", k.Resources, v.plugins); err != nil {
		return nil, err
	}
	if err := dirs("components", k.Components, v.plugins); err != nil {
		return nil, err
	}
	if err := dirs("bases", k.Bases, v.plugins); err != nil {
		return nil, err
	}
	for _, pl := range []struct {
		field string
		refs  []string
	}{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		var paths []string
		var fields []string
		for i, r := range pl.refs {
			f := fmt.Sprintf("%s[%d]", pl.field, i)
			docs, inline, err := w.inlineConfigs(file, f, r)
			if err != nil {
				return nil, err
			}
			if !inline {
				paths = append(paths, r)
				fields = append(fields, f)
				continue
			}
			for j, d := range docs {
				if err := checkPluginConfig(file, docField(f, j, len(docs))+".", d, w.budget); err != nil {
					return nil, err
				}
			}
		}
		for i, r := range paths {
			if looksRemote(r) {
				return nil, remoteFile(file, fields[i], r)
			}
			p := path.Join(v.dir, r)
			isDir, err := w.isDir(p)
			if err != nil {
				return nil, err
			}
			if isDir {
				next = append(next, dirVisit{dir: p, plugins: true})
				continue
			}
			w.pluginFiles[p] = fileRef{file: file, field: fields[i]}
		}
	}
	return next, checkFileFields(file, k, w.budget)
}

func (w *walker) isDir(p string) (bool, error) {
	if p == ".." || strings.HasPrefix(p, "../") {
		return false, nil // kustomize refuses it
	}
	ok, err := w.src.IsDir(p)
	return ok, errors.Wrapf(err, "cannot read directory %s", p)
}

// inlineConfigs parses a generators, transformers or validators entry the
// way kustomize tells an inline plugin configuration from a path: an entry
// that parses as YAML objects is inline.
func (w *walker) inlineConfigs(file, field, entry string) ([]map[string]any, bool, error) {
	if err := w.budget.charge(file, field, []byte(entry)); err != nil {
		return nil, false, err
	}
	docs, ok := yamlObjects([]byte(entry))
	return docs, ok, nil
}

// yamlObjects returns the documents of content, if it parses as YAML
// objects.
func yamlObjects(content []byte) ([]map[string]any, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var docs []map[string]any
	for {
		var d any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Not YAML that kustomize could read as objects either.
			return nil, false
		}
		if d == nil {
			continue
		}
		m, ok := d.(map[string]any)
		if !ok {
			return nil, false
		}
		docs = append(docs, m)
	}
	return docs, len(docs) > 0
}

func docField(field string, i, n int) string {
	if n <= 1 {
		return field
	}
	return fmt.Sprintf("%s(document %d)", field, i+1)
}

// checkPluginFiles checks the plugin configuration files the overlay lists,
// now that they are read: files holds what the render read. A file that is
// not there is left for kustomize to report.
func (w *walker) checkPluginFiles(files map[string][]byte) error {
	paths := make([]string, 0, len(w.pluginFiles))
	for p := range w.pluginFiles {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		c, ok := files[p]
		if !ok {
			continue
		}
		if int64(len(c)) > w.limits.MaxKustomizationBytes {
			return &LimitError{Bound: ErrKustomizationTooLarge, File: p, Limit: w.limits.MaxKustomizationBytes, Unit: "bytes"}
		}
		if err := w.charge(p, c); err != nil {
			return err
		}
		docs, ok := yamlObjects(c)
		if !ok {
			continue
		}
		for j, d := range docs {
			prefix := ""
			if len(docs) > 1 {
				prefix = fmt.Sprintf("(document %d) ", j+1)
			}
			if err := checkPluginConfig(p, prefix, d, w.budget); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPluginConfig refuses remote paths and Helm in one builtin plugin
// configuration: every file-valued field of kustomize's builtin plugins. A
// kind that is not builtin is refused by kustomize itself (plugins are
// disabled). Its fields are named in file
// appended to prefix ("" at the top of a file, "transformers[0]." inline).
func checkPluginConfig(file, prefix string, cfg map[string]any, b *nodeBudget) error {
	kind, _ := cfg["kind"].(string)
	sub := func(name string) string { return prefix + name }
	str := func(name string) error {
		if s, ok := cfg[name].(string); ok && looksRemote(s) {
			return remoteFile(file, sub(name), s)
		}
		return nil
	}
	strs := func(name string) error {
		l, _ := cfg[name].([]any)
		for i, e := range l {
			if s, ok := e.(string); ok && looksRemote(s) {
				return remoteFile(file, fmt.Sprintf("%s[%d]", sub(name), i), s)
			}
		}
		return nil
	}
	inline := func(name string) error {
		if s, ok := cfg[name].(string); ok {
			return b.charge(file, sub(name), []byte(s))
		}
		return nil
	}
	switch kind {
	case "PatchTransformer", "PatchJson6902Transformer":
		if err := inline("patch"); err != nil {
			return err
		}
		if err := inline("jsonOp"); err != nil {
			return err
		}
		return str("path")
	case "PatchStrategicMergeTransformer":
		if err := inline("patches"); err != nil {
			return err
		}
		l, _ := cfg["paths"].([]any)
		for i, e := range l {
			s, _ := e.(string)
			f := fmt.Sprintf("%s[%d]", sub("paths"), i)
			if isHTTPURL(s) {
				return remoteFile(file, f, s)
			}
			if err := b.charge(file, f, []byte(s)); err != nil {
				return err
			}
		}
	case "ReplacementTransformer":
		l, _ := cfg["replacements"].([]any)
		for i, e := range l {
			m, _ := e.(map[string]any)
			if s, ok := m["path"].(string); ok && looksRemote(s) {
				return remoteFile(file, fmt.Sprintf("%s[%d].path", sub("replacements"), i), s)
			}
		}
	case "ConfigMapGenerator", "SecretGenerator":
		l, _ := cfg["files"].([]any)
		for i, e := range l {
			if s, ok := e.(string); ok && (looksRemote(s) || looksRemote(fileSourcePath(s))) {
				return remoteFile(file, fmt.Sprintf("%s[%d]", sub("files"), i), s)
			}
		}
		if err := strs("envs"); err != nil {
			return err
		}
		return str("env")
	case "ValueAddTransformer":
		return str("targetFilePath")
	case "HelmChartInflationGenerator":
		return helm(file, sub("kind"))
	}
	return nil
}

// fileSourcePath returns the path of a generator's file source, "path" or
// "key=path".
func fileSourcePath(s string) string {
	if _, p, ok := strings.Cut(s, "="); ok {
		return p
	}
	return s
}

// checkFileFields refuses remote references and Helm in the fields of k
// that kustomize loads as files, and counts the aliases of inline patches.
func checkFileFields(file string, k *types.Kustomization, b *nodeBudget) error {
	if len(k.HelmCharts) > 0 {
		return helm(file, "helmCharts")
	}
	if k.HelmGlobals != nil {
		return helm(file, "helmGlobals")
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		return helm(file, "helmChartInflationGenerator")
	}
	list := func(field string, refs []string) error {
		for i, r := range refs {
			if looksRemote(r) {
				return remoteFile(file, fmt.Sprintf("%s[%d]", field, i), r)
			}
		}
		return nil
	}
	if err := list("crds", k.Crds); err != nil {
		return err
	}
	if err := list("configurations", k.Configurations); err != nil {
		return err
	}
	if p, ok := k.OpenAPI["path"]; ok && looksRemote(p) {
		return remoteFile(file, "openapi.path", p)
	}
	patches := func(field string, ps []types.Patch) error {
		for i, p := range ps {
			if looksRemote(p.Path) {
				return remoteFile(file, fmt.Sprintf("%s[%d].path", field, i), p.Path)
			}
			if err := b.charge(file, fmt.Sprintf("%s[%d].patch", field, i), []byte(p.Patch)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := patches("patches", k.Patches); err != nil {
		return err
	}
	if err := patches("patchesJson6902", k.PatchesJson6902); err != nil {
		return err
	}
	for i, p := range k.PatchesStrategicMerge {
		s := string(p)
		f := fmt.Sprintf("patchesStrategicMerge[%d]", i)
		if isHTTPURL(s) {
			return remoteFile(file, f, s)
		}
		if err := b.charge(file, f, []byte(s)); err != nil {
			return err
		}
	}
	for i, r := range k.Replacements {
		if looksRemote(r.Path) {
			return remoteFile(file, fmt.Sprintf("replacements[%d].path", i), r.Path)
		}
	}
	gen := func(field string, i int, s types.KvPairSources) error {
		for j, f := range s.FileSources {
			if looksRemote(f) || looksRemote(fileSourcePath(f)) {
				return remoteFile(file, fmt.Sprintf("%s[%d].files[%d]", field, i, j), f)
			}
		}
		for j, f := range s.EnvSources {
			if looksRemote(f) {
				return remoteFile(file, fmt.Sprintf("%s[%d].envs[%d]", field, i, j), f)
			}
		}
		if looksRemote(s.EnvSource) {
			return remoteFile(file, fmt.Sprintf("%s[%d].env", field, i), s.EnvSource)
		}
		return nil
	}
	for i, g := range k.ConfigMapGenerator {
		if err := gen("configMapGenerator", i, g.KvPairSources); err != nil {
			return err
		}
	}
	for i, g := range k.SecretGenerator {
		if err := gen("secretGenerator", i, g.KvPairSources); err != nil {
			return err
		}
	}
	return nil
}
