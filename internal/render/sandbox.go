package render

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/k8sta/k8sta/internal/bounded"
)

// kustomize runs in a short-lived worker process: the program re-executed in
// worker mode. The sandbox is that process, not a pattern match on the
// kustomization:
//
//   - it has no network: http.DefaultTransport, which kustomize's loader
//     uses for every URL it is given, refuses every request;
//   - it has an empty environment: no PATH, so kustomize cannot run git (for
//     a remote base), helm or exec plugins, and no credentials or proxies;
//   - its memory, CPU time and file writes are capped by resource limits set
//     before it reads its input, it stops itself once its Go runtime holds
//     more than its memory budget, and the provider kills it when its time
//     budget runs out;
//   - its file system is kustomize's in-memory one, holding only the files
//     the provider sends it; its output is read back bounded.
//
// A render that runs away costs its worker, never the provider.

const (
	workerEnv       = "K8STA_RENDER_WORKER"
	workerMemoryEnv = "K8STA_RENDER_WORKER_MEMORY"
	workerCPUEnv    = "K8STA_RENDER_WORKER_CPU"

	// maxWorkerError bounds a kustomize error message, which can quote a
	// whole file.
	maxWorkerError = 16 << 10
	// maxWorkerStderr bounds what is kept of the worker's stderr: a Go
	// crash report.
	maxWorkerStderr = 64 << 10
)

var (
	workerEntered atomic.Bool
	// workersStarted counts the workers this process started.
	workersStarted atomic.Int64
)

// RunWorkerIfRequested turns this process into a render worker, which
// exits when done, if it was started as one; otherwise it returns at once.
// Every program that renders calls it first thing in main (and every test
// binary that renders, in TestMain): Build starts workers by re-executing
// the running program, and refuses to if this was not called.
func RunWorkerIfRequested() {
	if os.Getenv(workerEnv) != "1" {
		workerEntered.Store(true)
		return
	}
	os.Exit(runWorker(os.Stdin, os.Stdout))
}

// workerRequest is what the provider sends a worker on stdin.
type workerRequest struct {
	// Files are the files of kustomize's in-memory file system, by
	// absolute path.
	Files map[string][]byte
	// Dir is the kustomization directory built.
	Dir string
	// MaxOutputBytes bounds the rendered YAML.
	MaxOutputBytes int64
	// Uncounted are the files (absolute path → repository path) whose
	// aliases the provider did not count, being too large to parse there;
	// NodesLeft and NodeLimit are what is left of the budget, and the limit.
	Uncounted map[string]string
	NodesLeft int64
	NodeLimit int64
}

// workerResponse is what a worker writes on stdout.
type workerResponse struct {
	Output []byte
	// Error is kustomize's error message, if it failed.
	Error string
	// Limit is set when the worker refused a bound.
	Limit *limitRecord
}

// limitRecord is a *LimitError on the wire.
type limitRecord struct {
	Bound string
	File  string
	Field string
	Limit int64
	Unit  string
}

var bounds = map[string]error{
	"file":          ErrFileTooLarge,
	"kustomization": ErrKustomizationTooLarge,
	"overlay":       ErrOverlayTooLarge,
	"files":         ErrTooManyFiles,
	"aliases":       ErrAliasExpansion,
	"output":        ErrOutputTooLarge,
	"time":          ErrTimeLimit,
	"memory":        ErrMemoryLimit,
}

func toRecord(e *LimitError) *limitRecord {
	r := &limitRecord{File: e.File, Field: e.Field, Limit: e.Limit, Unit: e.Unit}
	for name, b := range bounds {
		if errors.Is(e.Bound, b) {
			r.Bound = name
		}
	}
	return r
}

func (r *limitRecord) err() *LimitError {
	return &LimitError{Bound: bounds[r.Bound], File: r.File, Field: r.Field, Limit: r.Limit, Unit: r.Unit}
}

// refuseNetwork is the worker's only HTTP transport.
type refuseNetwork struct{}

func (refuseNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, errors.Errorf("the render sandbox has no network: it cannot fetch %s", r.URL.Redacted())
}

func runWorker(stdin io.Reader, stdout io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "render worker:", err)
		return 3
	}
	memory, err := strconv.ParseInt(os.Getenv(workerMemoryEnv), 10, 64)
	if err != nil || memory <= 0 {
		return fail(errors.New("no memory limit given"))
	}
	cpu, err := strconv.ParseUint(os.Getenv(workerCPUEnv), 10, 64)
	if err != nil || cpu == 0 {
		return fail(errors.New("no CPU limit given"))
	}
	if err := limitWorker(memory+memoryLimitSlack, cpu); err != nil {
		return fail(err)
	}
	// The garbage collector works harder as the heap nears the limit, so a
	// render that fits is not stopped by garbage it left.
	debug.SetMemoryLimit(memory * 3 / 4)
	out := &responseWriter{w: stdout}
	go watchMemory(memory, out)
	os.Clearenv()
	http.DefaultTransport = refuseNetwork{}
	http.DefaultClient = &http.Client{Transport: refuseNetwork{}}

	var req workerRequest
	if err := gob.NewDecoder(stdin).Decode(&req); err != nil {
		return fail(errors.Wrap(err, "cannot read request"))
	}
	if err := out.write(build(&req)); err != nil {
		return fail(err)
	}
	return 0
}

// memoryLimitSlack is how far past its memory budget the worker's resource
// limits are set: the watchdog stops a worker that crosses the budget with a
// clear answer, and the resource limit stops one that outruns the watchdog.
// The Go runtime crashes, rather than fails an allocation, at a resource
// limit.
const memoryLimitSlack = 64 << 20

// responseWriter writes the worker's one response, whoever comes first: the
// render or the memory watchdog.
type responseWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (r *responseWriter) write(res *workerResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		// The watchdog answered and is exiting.
		select {}
	}
	r.done = true
	return errors.Wrap(gob.NewEncoder(r.w).Encode(res), "cannot write response")
}

// watchMemory answers with ErrMemoryLimit and exits once the Go runtime
// holds more than limit bytes.
func watchMemory(limit int64, out *responseWriter) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	for range time.Tick(5 * time.Millisecond) {
		metrics.Read(samples)
		held := int64(samples[0].Value.Uint64() - samples[1].Value.Uint64()) // Released is part of total.
		if held > limit {
			if err := out.write(&workerResponse{Limit: toRecord(&LimitError{Bound: ErrMemoryLimit, Limit: limit, Unit: "bytes"})}); err != nil {
				os.Exit(3)
			}
			os.Exit(0)
		}
	}
}

// build runs kustomize in the worker.
func build(req *workerRequest) *workerResponse {
	budget := &nodeBudget{limit: req.NodeLimit, left: req.NodesLeft}
	paths := make([]string, 0, len(req.Uncounted))
	for p := range req.Uncounted {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := budget.charge(req.Uncounted[p], "", req.Files[p]); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return &workerResponse{Limit: toRecord(le)}
			}
			return &workerResponse{Error: err.Error()}
		}
	}

	fs := filesys.MakeFsInMemory()
	for _, p := range sortedKeys(req.Files) {
		if err := fs.WriteFile(p, req.Files[p]); err != nil {
			return &workerResponse{Error: fmt.Sprintf("cannot write %s: %v", p, err)}
		}
	}
	opts := krusty.MakeDefaultOptions()
	// What the kustomize CLI does: legacy order unless the kustomization
	// sets sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	m, err := krusty.MakeKustomizer(opts).Run(fs, req.Dir)
	if err != nil {
		return &workerResponse{Error: bounded.Text(err.Error(), maxWorkerError)}
	}
	out, err := m.AsYaml()
	if err != nil {
		return &workerResponse{Error: bounded.Text(err.Error(), maxWorkerError)}
	}
	if int64(len(out)) > req.MaxOutputBytes {
		return &workerResponse{Limit: toRecord(&LimitError{Bound: ErrOutputTooLarge, Limit: req.MaxOutputBytes, Unit: "bytes"})}
	}
	return &workerResponse{Output: out}
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errWorkerNotEntered is returned when the program never called
// RunWorkerIfRequested: re-executing it would run the program again, not a
// worker.
var errWorkerNotEntered = errors.New("cannot start a render worker: the program must call render.RunWorkerIfRequested first thing in main (or TestMain)")

// sandbox runs one render in a worker and returns its output, a
// *LimitError, or kustomize's error (a *workerError).
func (r *Renderer) sandbox(ctx context.Context, tenant string, req *workerRequest) ([]byte, error) {
	if !workerEntered.Load() {
		return nil, errWorkerNotEntered
	}
	l := r.limits
	req.MaxOutputBytes = l.MaxOutputBytes
	// The request is streamed to the worker rather than encoded whole
	// first: the provider holds the files once, not twice. Closing the
	// reader when the worker is done ends the encoder should the worker
	// stop reading.
	in, encode := io.Pipe()
	defer in.Close() //nolint:errcheck // a pipe's Close returns nil.
	go func() { encode.CloseWithError(gob.NewEncoder(encode).Encode(req)) }()

	wctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	exe := selfExecutable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, errors.Wrap(err, "cannot find the program to run a render worker")
		}
	}
	cpu := uint64((2*l.Timeout + time.Second - 1) / time.Second) // Positive.
	cmd := exec.CommandContext(wctx, exe)
	cmd.Args = []string{"k8sta-render-worker"}
	cmd.Env = []string{
		workerEnv + "=1",
		workerMemoryEnv + "=" + strconv.FormatInt(l.MaxMemory, 10),
		workerCPUEnv + "=" + strconv.FormatUint(cpu, 10),
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = workerProcAttr()
	cmd.Stdin = in
	// The response is the output and a bounded error message: anything
	// longer is an output bomb, and the worker is stopped at once.
	stdout := &cappedBuffer{max: l.MaxOutputBytes + 2*maxWorkerError, overflow: cancel}
	stderr := &cappedBuffer{max: maxWorkerStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second

	workersStarted.Add(1)
	if r.workerStarted != nil {
		r.workerStarted(tenant)
	}
	err := cmd.Run()
	switch {
	case stdout.overflowed():
		return nil, &LimitError{Bound: ErrOutputTooLarge, Limit: l.MaxOutputBytes, Unit: "bytes"}
	case ctx.Err() != nil:
		return nil, errors.Wrap(ctx.Err(), "render stopped")
	case wctx.Err() != nil:
		return nil, &LimitError{Bound: ErrTimeLimit, Limit: int64(l.Timeout), Unit: "nanoseconds"}
	case err != nil:
		return nil, workerFailure(err, cmd.ProcessState, stderr.String(), l, cpu)
	}
	var res workerResponse
	if err := gob.NewDecoder(bytes.NewReader(stdout.Bytes())).Decode(&res); err != nil {
		return nil, errors.Wrap(err, "cannot read the render worker's response")
	}
	if res.Limit != nil {
		return nil, res.Limit.err()
	}
	if res.Error != "" {
		return nil, &workerError{msg: res.Error}
	}
	return res.Output, nil
}

// workerError is kustomize's error, as the worker reported it.
type workerError struct{ msg string }

func (e *workerError) Error() string { return e.msg }

// outOfMemory are what the Go runtime prints when the address space limit
// stops it: a heap that cannot grow, or (with cgo) a thread stack.
var outOfMemory = []string{"out of memory", "cannot allocate memory", "pthread_create failed"}

// workerFailure explains a worker that did not answer: it ran out of memory
// (the Go runtime reports that on stderr), was killed at its CPU limit, or
// crashed.
func workerFailure(err error, ps *os.ProcessState, stderr string, l Limits, cpu uint64) error {
	for _, s := range outOfMemory {
		if strings.Contains(stderr, s) {
			return &LimitError{Bound: ErrMemoryLimit, Limit: l.MaxMemory, Unit: "bytes"}
		}
	}
	if ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			if used >= time.Duration(cpu)*time.Second {
				return &LimitError{Bound: ErrTimeLimit, Limit: int64(l.Timeout), Unit: "nanoseconds"}
			}
		}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	return errors.Wrapf(err, "render worker failed: %s", bounded.Text(first, 512))
}

// cappedBuffer keeps at most max bytes; past that it calls overflow once
// and drops the rest.
type cappedBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	max      int64
	over     bool
	overflow func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return len(p), nil
	}
	if int64(b.buf.Len()+len(p)) > b.max {
		b.buf.Write(p[:b.max-int64(b.buf.Len())])
		b.over = true
		if b.overflow != nil {
			b.overflow()
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) overflowed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.over
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

func (b *cappedBuffer) String() string { return string(b.Bytes()) }
