//go:build linux

package render

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// selfExecutable is the running program, even if its file was replaced or
// removed since it started.
const selfExecutable = "/proc/self/exe"

// addressSpaceSlack is how far the worker's address space may grow past its
// data limit: the Go runtime reserves address space (inaccessible, costing
// no memory) in 64 MiB steps ahead of the heap.
const addressSpaceSlack = 256 << 20

// limitWorker caps the worker process: its writable memory (heap, stacks)
// may grow by at most memory bytes past what it holds now, and its address
// space by little more; its CPU time is cpuSeconds (the kernel kills it
// there); it may write no file, and it dumps no core.
func limitWorker(memory int64, cpuSeconds uint64) error {
	data, err := statusBytes("VmData:")
	if err != nil {
		return err
	}
	vm, err := statusBytes("VmSize:")
	if err != nil {
		return err
	}
	for _, l := range []struct {
		resource int
		value    uint64
	}{
		{syscall.RLIMIT_DATA, uint64(data + memory)},                 // All are positive.
		{syscall.RLIMIT_AS, uint64(vm + memory + addressSpaceSlack)}, // All are positive.
		{syscall.RLIMIT_CPU, cpuSeconds},
		{syscall.RLIMIT_FSIZE, 0},
		{syscall.RLIMIT_CORE, 0},
	} {
		if err := syscall.Setrlimit(l.resource, &syscall.Rlimit{Cur: l.value, Max: l.value}); err != nil {
			return errors.Wrapf(err, "cannot set resource limit %d", l.resource)
		}
	}
	return nil
}

// statusBytes returns a size, in bytes, of /proc/self/status: VmData (the
// process's writable private memory) or VmSize (its address space).
func statusBytes(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, errors.Wrap(err, "cannot read the worker's memory size")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field))
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
		if err != nil {
			return 0, errors.Wrap(err, "cannot parse the worker's memory size")
		}
		return kb << 10, nil
	}
	return 0, errors.Errorf("cannot find the worker's %s", field)
}

// workerProcAttr kills the worker if the provider dies first.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
