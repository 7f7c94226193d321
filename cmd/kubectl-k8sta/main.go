// Command kubectl-k8sta is kubectl k8sta, the kubectl plugin that shows a
// K8sTA Track as a transit map and controls it out of band. Copy the binary
// to a directory on PATH and kubectl finds it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/k8sta/k8sta/internal/kubectlk8sta"
)

// version is set at build time (-X main.version).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := kubectlk8sta.NewCommand(kubectlk8sta.Options{
		Out:     os.Stdout,
		Now:     time.Now,
		Color:   colors(),
		Version: version,
	})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: "+err.Error())
		os.Exit(1)
	}
}

// colors reports whether stdout is a terminal that wants colors: not when
// NO_COLOR is set (no-color.org) or TERM is dumb.
func colors() bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(os.Stdout.Fd()))
}
