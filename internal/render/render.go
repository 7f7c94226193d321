// Package render turns a change into the content of a station's rendered
// branch: the station's kustomize overlay built with the change's images set,
// in a sandboxed worker process, the record of the change, and the commit
// message whose K8sta-Change trailer marks K8sTA's own commits.
package render

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// ErrOverlayNotFound is matched (errors.Is) by every *OverlayNotFoundError.
var ErrOverlayNotFound = errors.New("overlay not found")

// ErrOverlayOutsideRepo is wrapped by the error Build returns for an overlay
// that is empty, absolute, or leaves the repository (../x).
var ErrOverlayOutsideRepo = errors.New("overlay must be a relative path inside the repository")

// OverlayNotFoundError says the overlay is not a kustomization directory in
// the source tree. Build does not know the commit; a caller that does sets
// Commit (errors.As) and the message names it.
type OverlayNotFoundError struct {
	// Overlay is the overlay as given to Build.
	Overlay string
	// Commit is the source commit, if the caller knows it.
	Commit string
	// NoKustomization is true when the directory exists but holds no
	// kustomization file.
	NoKustomization bool
}

func (e *OverlayNotFoundError) Error() string {
	what := "does not exist"
	if e.NoKustomization {
		what = "holds no kustomization.yaml"
	}
	at := ""
	if e.Commit != "" {
		at = " at commit " + v1alpha1.ShortCommit(e.Commit)
	}
	return fmt.Sprintf("overlay %q %s%s: name a directory holding a kustomization.yaml", e.Overlay, what, at)
}

// Is makes errors.Is(err, ErrOverlayNotFound) true.
func (e *OverlayNotFoundError) Is(target error) bool { return target == ErrOverlayNotFound }

const (
	// repoRoot is where the source tree is laid out in the in-memory file
	// system; kustomize's error messages name files under it.
	repoRoot = "/repo"
	// renderRoot holds the synthetic kustomization that sets the images on
	// the user's overlay. It is outside repoRoot, so it never collides with a
	// user file.
	renderRoot = "/k8sta-render"
)

// Renderer builds overlays in render workers, within its Limits. It is safe
// for concurrent use; at most Limits.MaxParallel renders run at once, and at
// most Limits.MaxParallelPerTenant of them for one tenant.
type Renderer struct {
	limits Limits
	slots  chan struct{}
	// workerStarted, if set, is called as each render worker starts.
	workerStarted func(tenant string)
	// observe, if set, is told of each render.
	observe BuildObserver

	mu sync.Mutex
	// running counts the renders of each tenant that has any.
	running map[string]int
	// freed are called, with the tenant, each time one of a tenant's
	// renders ends.
	freed []func(tenant string)
}

// A RendererOption configures a Renderer.
type RendererOption func(*Renderer)

// WithWorkerStarted has the Renderer call f, with the render's tenant, each
// time it starts a render worker: renders refused before kustomize runs
// start none.
func WithWorkerStarted(f func(tenant string)) RendererOption {
	return func(r *Renderer) { r.workerStarted = f }
}

// A BuildObserver is told of each render a Renderer runs, from the moment
// it holds a render slot to its output: its result (BuildResult's words)
// and how long it took. Builds refused before they hold a slot (a busy
// tenant, an invalid overlay path or image) are no renders. It must not
// block.
type BuildObserver func(result string, took time.Duration)

// WithBuildObserver has the Renderer tell o of every render.
func WithBuildObserver(o BuildObserver) RendererOption {
	return func(r *Renderer) { r.observe = o }
}

// Results of a render, as BuildResult words them.
const (
	ResultRendered      = "rendered"
	ResultInvalid       = "invalid"
	ResultLimitExceeded = "limit_exceeded"
	ResultError         = "error"
)

// BuildResult is the outcome of a render that returned err, in one word of
// a few: rendered, invalid (the overlay's own fault: IsOverlayError),
// limit_exceeded (ErrLimitExceeded) or error (anything else: the provider's
// or the worker's trouble, or the render stopped).
func BuildResult(err error) string {
	switch {
	case err == nil:
		return ResultRendered
	case errors.Is(err, ErrLimitExceeded):
		return ResultLimitExceeded
	case IsOverlayError(err):
		return ResultInvalid
	}
	return ResultError
}

// NewRenderer returns a Renderer with limits; a bound left unset takes its
// DefaultLimits value.
func NewRenderer(limits Limits, opts ...RendererOption) *Renderer {
	l := limits.withDefaults()
	r := &Renderer{limits: l, slots: make(chan struct{}, l.MaxParallel), running: map[string]int{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ErrTenantBusy is wrapped by the error Build returns when the tenant
// already runs Limits.MaxParallelPerTenant renders. Nothing was read or
// rendered: build again once one of them is done.
var ErrTenantBusy = errors.New("the tenant's renders are all running")

// enter counts a render of tenant, unless tenant runs as many as it may.
// An empty tenant is no tenant (a tool or a test rendering on its own
// behalf): its renders only queue for the shared slots.
func (r *Renderer) enter(tenant string) error {
	if tenant == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[tenant] >= r.limits.MaxParallelPerTenant {
		return errors.Wrapf(ErrTenantBusy, "%s already runs %d render(s), the most one may run at once", tenant, r.running[tenant])
	}
	r.running[tenant]++
	return nil
}

func (r *Renderer) leave(tenant string) {
	if tenant == "" {
		return
	}
	r.mu.Lock()
	if r.running[tenant]--; r.running[tenant] <= 0 {
		delete(r.running, tenant)
	}
	freed := r.freed
	r.mu.Unlock()
	for _, f := range freed {
		f(tenant)
	}
}

// Busy reports whether tenant runs as many renders as it may, so that its
// next Build would be refused with ErrTenantBusy. It reserves nothing: a
// caller that finds the tenant free may still be refused.
func (r *Renderer) Busy(tenant string) bool {
	if tenant == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[tenant] >= r.limits.MaxParallelPerTenant
}

// OnTenantFreed has r call f, with the tenant, each time one of a tenant's
// renders ends, so that a caller Busy turned away can be told to try again
// instead of polling. f must not block.
func (r *Renderer) OnTenantFreed(f func(tenant string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.freed = append(r.freed, f)
}

// Limits returns the bounds r renders within.
func (r *Renderer) Limits() Limits { return r.limits }

var (
	defaultRendererOnce sync.Once
	defaultRenderer     *Renderer
)

// Build is NewRenderer(DefaultLimits()).Build for no tenant, with one
// Renderer shared by every call.
func Build(src Source, overlay string, images []v1alpha1.Image) ([]byte, error) {
	defaultRendererOnce.Do(func() { defaultRenderer = NewRenderer(DefaultLimits()) })
	return defaultRenderer.Build(context.Background(), "", src, overlay, images)
}

// Build runs kustomize over src (the source tree at a commit) building
// overlay with images set as kustomize image overrides, and returns plain
// multi-document YAML (documents separated by "---\n") in kustomize's output
// order. The same input gives the same bytes; the order of images does not
// matter.
//
// The user's overlay is not modified: a synthetic kustomization outside the
// source tree takes the overlay as its only resource and sets the images.
// The overlay's sortOptions and buildMetadata are carried to it, so the
// output is what `kustomize build <overlay>` would print with the images set.
// kustomize's error messages name paths relative to the repository root.
//
// Build reads from src only the kustomization files the overlay reaches and
// the files in or below their directories (kustomize, with load restrictions
// on, reads nothing else), within r's Limits; a bound exceeded is a
// *LimitError, a remote reference or a Helm chart a *FieldError. kustomize
// runs in a worker process with no network (see RunWorkerIfRequested).
//
// tenant names whom the render is for (the Ticket's namespace): a tenant
// that already runs Limits.MaxParallelPerTenant renders is refused with
// ErrTenantBusy, so that no tenant holds every render slot.
func (r *Renderer) Build(ctx context.Context, tenant string, src Source, overlay string, images []v1alpha1.Image) (out []byte, err error) {
	dir, err := cleanOverlay(overlay)
	if err != nil {
		return nil, err
	}
	imgs, err := kustomizeImages(images)
	if err != nil {
		return nil, err
	}
	if !workerEntered.Load() {
		return nil, errWorkerNotEntered
	}
	if err := r.enter(tenant); err != nil {
		return nil, err
	}
	defer r.leave(tenant)
	// The slot is held while files are read and parsed, too: that is
	// memory the provider itself spends. A tenant waits here for its turn
	// with at most MaxParallelPerTenant renders: the slots go round the
	// tenants waiting, in the order they came.
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return nil, errors.Wrap(ctx.Err(), "render stopped")
	}
	if r.observe != nil {
		start := time.Now()
		defer func() { r.observe(BuildResult(err), time.Since(start)) }()
	}

	isDir, err := src.IsDir(dir)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read overlay %q", overlay)
	}
	if !isDir {
		return nil, &OverlayNotFoundError{Overlay: overlay}
	}
	w := newWalker(src, r.limits)
	kf, _, err := w.kustomization(dir)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot build overlay %q", overlay)
	}
	if kf == nil {
		return nil, &OverlayNotFoundError{Overlay: overlay, NoKustomization: true}
	}
	if err := w.walk(dir); err != nil {
		return nil, errors.Wrapf(err, "cannot build overlay %q", overlay)
	}
	files, err := w.readReached()
	if err != nil {
		return nil, errors.Wrapf(err, "cannot build overlay %q", overlay)
	}

	overlayDir := repoRoot
	if dir != "." {
		overlayDir = repoRoot + "/" + dir
	}
	synth := types.Kustomization{
		TypeMeta: types.TypeMeta{
			APIVersion: types.KustomizationVersion,
			Kind:       types.KustomizationKind,
		},
		Resources: []string{".." + overlayDir},
		Images:    imgs,
	}
	// sortOptions and buildMetadata only take effect in the top-level
	// kustomization, which is now the synthetic one: carry them over. A
	// kustomization that cannot be read is left for kustomize to report.
	var user types.Kustomization
	if err := user.Unmarshal(kf); err == nil {
		synth.SortOptions = user.SortOptions
		synth.BuildMetadata = user.BuildMetadata
	}
	sk, err := yaml.Marshal(synth)
	if err != nil {
		return nil, errors.Wrap(err, "cannot write synthetic kustomization")
	}

	req := &workerRequest{
		Files:     make(map[string][]byte, len(files)+1),
		Dir:       renderRoot,
		Uncounted: map[string]string{},
		NodesLeft: w.budget.left,
		NodeLimit: w.budget.limit,
	}
	for p, c := range files {
		req.Files[repoRoot+"/"+p] = c
		if !w.charged[p] {
			req.Uncounted[repoRoot+"/"+p] = p
		}
	}
	req.Files[renderRoot+"/"+konfig.DefaultKustomizationFileName()] = sk
	out, err = r.sandbox(ctx, tenant, req)
	var we *workerError
	if errors.As(err, &we) {
		return nil, errors.Wrapf(explainKustomizeError(we, files, overlayDir), "cannot build overlay %q", overlay)
	}
	if err != nil {
		return nil, errors.Wrapf(err, "cannot build overlay %q", overlay)
	}
	return out, nil
}

// readReached reads every file in or below the kustomization directories
// the walk visited, bounded, counts the aliases of those small enough to
// parse here (the worker counts the others), and checks the plugin
// configuration files the overlay lists.
func (w *walker) readReached() (map[string][]byte, error) {
	roots := minimalDirs(w.dirs)
	files, err := w.src.FilesUnder(roots, w.limits.MaxFiles, w.limits.MaxOverlayBytes)
	switch {
	case errors.Is(err, ErrTooManyFiles):
		return nil, &LimitError{Bound: ErrTooManyFiles, Limit: int64(w.limits.MaxFiles), Unit: "files"}
	case errors.Is(err, ErrOverlayTooLarge):
		return nil, &LimitError{Bound: ErrOverlayTooLarge, Limit: w.limits.MaxOverlayBytes, Unit: "bytes"}
	case err != nil:
		return nil, errors.Wrapf(err, "cannot read the files under %s", strings.Join(roots, ", "))
	}
	// A Source is trusted to bound what it returns, and checked anyway.
	if len(files) > w.limits.MaxFiles {
		return nil, &LimitError{Bound: ErrTooManyFiles, Limit: int64(w.limits.MaxFiles), Unit: "files"}
	}
	var total int64
	for _, p := range sortedKeys(files) {
		c := files[p]
		if int64(len(c)) > w.limits.MaxFileBytes {
			return nil, &LimitError{Bound: ErrFileTooLarge, File: p, Limit: w.limits.MaxFileBytes, Unit: "bytes"}
		}
		total += int64(len(c))
		if total > w.limits.MaxOverlayBytes {
			return nil, &LimitError{Bound: ErrOverlayTooLarge, Limit: w.limits.MaxOverlayBytes, Unit: "bytes"}
		}
	}
	if err := w.checkPluginFiles(files); err != nil {
		return nil, err
	}
	for _, p := range sortedKeys(files) {
		if c := files[p]; int64(len(c)) <= w.limits.MaxKustomizationBytes {
			if err := w.charge(p, c); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// minimalDirs returns dirs without those below another, sorted.
func minimalDirs(dirs map[string]bool) []string {
	out := make([]string, 0, len(dirs))
	for d := range dirs {
		if d != "." && (dirs["."] || underAny(d, dirs)) {
			continue
		}
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// cleanOverlay returns the overlay as a clean repository-relative path
// ("." for the root), or an error when it is empty or leaves the repository.
func cleanOverlay(overlay string) (string, error) {
	if strings.TrimSpace(overlay) == "" {
		return "", errors.Wrap(ErrOverlayOutsideRepo, "overlay is empty: name a directory holding a kustomization.yaml")
	}
	if strings.Contains(overlay, `\`) {
		return "", errors.Wrapf(ErrOverlayOutsideRepo, "overlay %q holds a backslash: name a slash-separated path inside the repository", overlay)
	}
	if path.IsAbs(overlay) {
		return "", errors.Wrapf(ErrOverlayOutsideRepo, "overlay %q is absolute: name a path relative to the repository root", overlay)
	}
	c := path.Clean(overlay)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.Wrapf(ErrOverlayOutsideRepo, "overlay %q leaves the repository: name a path inside the repository", overlay)
	}
	return c, nil
}

// kustomizeImages returns the image overrides sorted by repository, with
// the digest winning over the tag. The same repository twice with different
// values is an error.
func kustomizeImages(images []v1alpha1.Image) ([]types.Image, error) {
	sorted := make([]v1alpha1.Image, len(images))
	copy(sorted, images)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Repository != b.Repository {
			return a.Repository < b.Repository
		}
		if a.Tag != b.Tag {
			return a.Tag < b.Tag
		}
		return a.Digest < b.Digest
	})
	out := make([]types.Image, 0, len(sorted))
	for i, img := range sorted {
		if err := validateImage(img); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Repository == img.Repository {
			if sorted[i-1] == img {
				continue
			}
			return nil, errors.Errorf("cannot set image %q: it is given twice, as %q and %q", img.Repository, sorted[i-1].String(), img.String())
		}
		ki := types.Image{Name: img.Repository}
		if img.Digest != "" {
			ki.Digest = img.Digest
		} else {
			ki.NewTag = img.Tag
		}
		out = append(out, ki)
	}
	return out, nil
}

func validateImage(img v1alpha1.Image) error {
	if img.Repository == "" {
		return errors.Errorf("cannot set image %q: its repository is empty", img.String())
	}
	if img.Tag == "" && img.Digest == "" {
		return errors.Errorf("cannot set image %q: it has neither tag nor digest", img.Repository)
	}
	if strings.ContainsAny(img.Repository, "@ \t\n") || strings.Contains(img.Repository[strings.LastIndex(img.Repository, "/")+1:], ":") {
		return errors.Errorf("cannot set image %q: the repository must hold no tag, digest or space", img.Repository)
	}
	if strings.ContainsAny(img.Tag, ":@/ \t\n") {
		return errors.Errorf("cannot set image %q: tag %q is not a valid tag", img.Repository, img.Tag)
	}
	if img.Digest != "" && (!strings.Contains(img.Digest, ":") || strings.ContainsAny(img.Digest, "@/ \t\n")) {
		return errors.Errorf("cannot set image %q: digest %q is not of the form algorithm:hex", img.Repository, img.Digest)
	}
	return nil
}

// IsOverlayError tells whether err is the overlay's own fault: it does not
// exist or holds no kustomization, names what K8sTA does not render (remote
// references, Helm charts), or kustomize refused to build it. Rendering the
// same commit again fails the same way: its author must fix the overlay. A
// render over a bound is a LimitError, not this.
func IsOverlayError(err error) bool {
	var notFound *OverlayNotFoundError
	var field *FieldError
	var kustomize *kustomizeError
	var worker *workerError
	return errors.As(err, &notFound) || errors.As(err, &field) || errors.As(err, &kustomize) || errors.As(err, &worker) ||
		errors.Is(err, ErrOverlayNotFound) || errors.Is(err, ErrOverlayOutsideRepo)
}

// kustomizeError keeps kustomize's message, made to read as if kustomize
// had built the user's overlay directly: the layer the synthetic
// kustomization adds is cut, paths are shown relative to the repository
// root, and a kustomization that is not valid YAML or holds an unknown field
// (which kustomize reports without its path) is named.
type kustomizeError struct {
	msg string
	err error
}

func (e *kustomizeError) Error() string { return e.msg }
func (e *kustomizeError) Unwrap() error { return e.err }

var (
	repoPathInText = regexp.MustCompile(`(^|[\s'"(=])` + repoRoot + `/`)
	repoRootInText = regexp.MustCompile(`(^|[\s'"(=])` + repoRoot + `([\s'":)]|$)`)
)

func explainKustomizeError(err error, files map[string][]byte, overlayDir string) error {
	msg := err.Error()
	blamed := blameKustomization(msg, files)

	outer := "accumulating resources: accumulation err='accumulating resources from '.." + overlayDir + "': '" + overlayDir + "' must resolve to a file': "
	if rest, ok := strings.CutPrefix(msg, outer); ok {
		for _, inner := range []string{
			"recursed accumulation of path '" + overlayDir + "': ",
			"couldn't make target for path '" + overlayDir + "': ",
		} {
			if r, ok := strings.CutPrefix(rest, inner); ok {
				msg = r
				break
			}
		}
	}
	msg = repoPathInText.ReplaceAllString(msg, "$1")
	msg = repoRootInText.ReplaceAllString(msg, "$1.$2")
	if blamed != "" {
		msg = blamed + ": " + msg
	}
	return &kustomizeError{msg: msg, err: err}
}

// blameKustomization names the kustomization file(s) whose parse error msg
// holds, or returns "".
func blameKustomization(msg string, files map[string][]byte) string {
	if !strings.Contains(msg, "invalid Kustomization") {
		return ""
	}
	var bad []string
	for p, c := range files {
		switch path.Base(p) {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
		default:
			continue
		}
		var k types.Kustomization
		kerr := k.Unmarshal(c)
		if kerr != nil && strings.Contains(msg, kerr.Error()) {
			bad = append(bad, path.Clean(p))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	sort.Strings(bad)
	// Several files fail alike: prefer those kustomize was loading, whose
	// directory its message names.
	var named []string
	for _, p := range bad {
		d := repoRoot + "/" + path.Dir(p)
		if path.Dir(p) == "." {
			d = repoRoot
		}
		if strings.Contains(msg, d+"'") || strings.Contains(msg, d+":") {
			named = append(named, p)
		}
	}
	if len(named) > 0 {
		bad = named
	}
	return strings.Join(bad, " or ")
}
