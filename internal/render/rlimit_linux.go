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

// limitWorker caps the worker process: its address space may grow by at most
// memory bytes past what it holds now, its CPU time is cpuSeconds (the
// kernel kills it there), it may write no file, and it dumps no core.
func limitWorker(memory int64, cpuSeconds uint64) error {
	vm, err := addressSpace()
	if err != nil {
		return err
	}
	for _, l := range []struct {
		resource int
		value    uint64
	}{
		{syscall.RLIMIT_AS, uint64(vm + memory)}, //nolint:gosec // both are positive.
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

// addressSpace returns the process's virtual memory size in bytes.
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, errors.Wrap(err, "cannot read the worker's memory size")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmSize:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
		if err != nil {
			return 0, errors.Wrap(err, "cannot parse the worker's memory size")
		}
		return kb << 10, nil
	}
	return 0, errors.New("cannot find the worker's memory size")
}

// workerProcAttr kills the worker if the provider dies first.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
