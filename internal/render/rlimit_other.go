//go:build !linux

package render

import (
	"syscall"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const selfExecutable = ""

// limitWorker refuses: the render worker's limits are Linux resource limits,
// and a worker without them is no sandbox.
func limitWorker(_ int64, _ uint64) error {
	return errors.New("the render sandbox needs Linux")
}

func workerProcAttr() *syscall.SysProcAttr { return nil }
