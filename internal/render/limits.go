package render

import (
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Limits bound what one render may read, expand, produce and spend. A
// tenant's overlay is hostile input: every bound is checked before kustomize
// runs where it can be, and the rest are enforced on the worker process that
// runs kustomize (see RunWorkerIfRequested).
type Limits struct {
	// Timeout is the wall-clock budget of one render, worker start included.
	// The worker is killed when it runs out; its CPU time is capped at twice
	// this (rounded up to whole seconds), should it outlive its parent.
	Timeout time.Duration
	// MaxMemory bounds the memory the worker's Go runtime holds: the
	// garbage collector works to stay below it, and the worker stops with
	// ErrMemoryLimit past it. Its resource limits (writable memory and
	// address space) sit a little above, for a render that outruns the
	// worker's watch.
	MaxMemory int64
	// MaxFileBytes bounds each file the render reads.
	MaxFileBytes int64
	// MaxOverlayBytes bounds the files a render reads, together: the
	// kustomizations the overlay reaches and every file in or below their
	// directories.
	MaxOverlayBytes int64
	// MaxFiles bounds how many files a render reads.
	MaxFiles int
	// MaxKustomizationBytes bounds each kustomization file, and each other
	// YAML file whose aliases are counted before the worker starts: the
	// provider itself parses those, at roughly a hundred times their size
	// in memory.
	MaxKustomizationBytes int64
	// MaxYAMLNodes bounds the YAML nodes of the documents that use aliases,
	// counted with every alias expanded, summed over the overlay: a few
	// hundred bytes of nested aliases expand to billions of nodes.
	MaxYAMLNodes int64
	// MaxOutputBytes bounds the rendered manifests.
	MaxOutputBytes int64
	// MaxParallel bounds how many renders run at once; the provider's
	// memory must allow MaxParallel × MaxMemory for its render workers.
	MaxParallel int
	// MaxParallelPerTenant bounds how many of those one tenant (the key a
	// render is built for: a namespace) may hold at once, so that a tenant
	// whose renders run to their time limit never holds every slot. A
	// render past it is refused at once with ErrTenantBusy, rather than
	// waiting: a waiting render would hold its caller's goroutine too.
	MaxParallelPerTenant int
}

// DefaultLimits are the bounds used unless the operator sets others.
func DefaultLimits() Limits {
	return Limits{
		Timeout:               30 * time.Second,
		MaxMemory:             512 << 20,
		MaxFileBytes:          4 << 20,
		MaxOverlayBytes:       32 << 20,
		MaxFiles:              5000,
		MaxKustomizationBytes: 256 << 10,
		MaxYAMLNodes:          1_000_000,
		MaxOutputBytes:        32 << 20,
		MaxParallel:           2,
		MaxParallelPerTenant:  1,
	}
}

// withDefaults returns l with every unset (zero or negative) bound taken
// from DefaultLimits: a bound is never "unlimited".
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault(&l.Timeout, d.Timeout)
	orDefault(&l.MaxMemory, d.MaxMemory)
	orDefault(&l.MaxFileBytes, d.MaxFileBytes)
	orDefault(&l.MaxOverlayBytes, d.MaxOverlayBytes)
	orDefault(&l.MaxFiles, d.MaxFiles)
	orDefault(&l.MaxKustomizationBytes, d.MaxKustomizationBytes)
	orDefault(&l.MaxYAMLNodes, d.MaxYAMLNodes)
	orDefault(&l.MaxOutputBytes, d.MaxOutputBytes)
	orDefault(&l.MaxParallel, d.MaxParallel)
	orDefault(&l.MaxParallelPerTenant, d.MaxParallelPerTenant)
	l.MaxParallelPerTenant = min(l.MaxParallelPerTenant, l.MaxParallel)
	return l
}

// orDefault sets *v to d when *v is unset (zero or negative).
func orDefault[T ~int | ~int64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// ErrLimitExceeded is matched (errors.Is) by every *LimitError.
var ErrLimitExceeded = errors.New("render limit exceeded")

// The bound a *LimitError names; each is matched by errors.Is.
var (
	ErrFileTooLarge          = errors.New("file too large")
	ErrKustomizationTooLarge = errors.New("kustomization file too large")
	ErrOverlayTooLarge       = errors.New("overlay too large")
	ErrTooManyFiles          = errors.New("too many files")
	ErrAliasExpansion        = errors.New("YAML aliases expand too far")
	ErrOutputTooLarge        = errors.New("rendered output too large")
	ErrTimeLimit             = errors.New("render took too long")
	ErrMemoryLimit           = errors.New("render used too much memory")
)

// LimitError says which bound a render exceeded, and where.
type LimitError struct {
	// Bound is one of ErrFileTooLarge, ErrKustomizationTooLarge,
	// ErrOverlayTooLarge, ErrTooManyFiles,
	// ErrAliasExpansion, ErrOutputTooLarge, ErrTimeLimit, ErrMemoryLimit.
	Bound error
	// File is the repository-relative file to blame, if there is one.
	File string
	// Field is the field of File to blame, if there is one (an inline
	// patch or plugin configuration of a kustomization).
	Field string
	// Limit is the bound's value, in Unit.
	Limit int64
	// Unit names what Limit counts: "bytes", "files", "nodes", or
	// "nanoseconds" for ErrTimeLimit.
	Unit string
}

func (e *LimitError) Error() string {
	at := ""
	if e.File != "" {
		at = e.File + ": "
	}
	if e.Field != "" {
		at += e.Field + ": "
	}
	switch {
	case errors.Is(e.Bound, ErrFileTooLarge):
		return fmt.Sprintf("%sthe file is larger than %s, the most a render reads from one file: make it smaller, or split it", at, bytesText(e.Limit))
	case errors.Is(e.Bound, ErrKustomizationTooLarge):
		return fmt.Sprintf("%sthe kustomization file is larger than %s: move inline patches and generator input into files next to it", at, bytesText(e.Limit))
	case errors.Is(e.Bound, ErrOverlayTooLarge):
		return fmt.Sprintf("%sthe files the overlay reaches are larger than %s together (every file in or below the directory of each kustomization it reaches counts): move files the overlay does not use out of those directories, or make the overlay smaller", at, bytesText(e.Limit))
	case errors.Is(e.Bound, ErrTooManyFiles):
		return fmt.Sprintf("%sthe overlay reaches more than %d files (every file in or below the directory of each kustomization it reaches counts): move files the overlay does not use out of those directories", at, e.Limit)
	case errors.Is(e.Bound, ErrAliasExpansion):
		return fmt.Sprintf("%sYAML aliases (*name) expand the overlay's documents to more than %d nodes: write the repeated content out, or use fewer nested aliases", at, e.Limit)
	case errors.Is(e.Bound, ErrOutputTooLarge):
		return fmt.Sprintf("%sthe rendered manifests are larger than %s: render fewer or smaller resources per station", at, bytesText(e.Limit))
	case errors.Is(e.Bound, ErrTimeLimit):
		return fmt.Sprintf("%srendering took longer than %s: make the overlay simpler", at, time.Duration(e.Limit))
	case errors.Is(e.Bound, ErrMemoryLimit):
		return fmt.Sprintf("%srendering needed more than %s of memory: make the overlay smaller or simpler", at, bytesText(e.Limit))
	}
	return fmt.Sprintf("%s%v (limit %d %s)", at, e.Bound, e.Limit, e.Unit)
}

// Is makes errors.Is(err, ErrLimitExceeded) and errors.Is(err, e.Bound) true.
func (e *LimitError) Is(target error) bool {
	return target == ErrLimitExceeded || target == e.Bound
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
