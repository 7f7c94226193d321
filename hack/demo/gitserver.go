package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serveGit serves the bare repositories under -root over smart HTTP with
// git's own http-backend, as a git host would: Argo CD's repo-server clones
// from it and the provider pushes rendered branches to it. It runs until
// SIGTERM (hack/stack/down.sh).
func serveGit(args []string) error {
	fs := flag.NewFlagSet("serve-git", flag.ExitOnError)
	root := fs.String("root", "", "directory holding the bare repositories (NAME.git)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on; loopback only")
	_ = fs.Parse(args)
	if *root == "" {
		return errors.New("serve-git: -root is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("cannot parse -addr %q: %w", *addr, err)
	}
	// Anyone who can reach this server can push: it must never leave the machine.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q is not a loopback address: the server has no authentication", *addr)
	}
	dir, err := filepath.Abs(*root)
	if err != nil {
		return fmt.Errorf("cannot resolve -root %q: %w", *root, err)
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return fmt.Errorf("cannot find git's exec path (is git installed?): %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return fmt.Errorf("cannot find git http-backend: %w", err)
	}

	logger := log.New(os.Stderr, "", log.LstdFlags)
	cgiHandler := &cgi.Handler{
		Path: backend,
		Dir:  dir,
		Env: []string{
			"GIT_PROJECT_ROOT=" + dir,
			"GIT_HTTP_EXPORT_ALL=1",
			// The user's git configuration has no say in what this server does.
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + dir,
		},
		InheritEnv: []string{"PATH"},
		Logger:     logger,
		Stderr:     os.Stderr,
	}
	// One line per request, parsed by hack/bench-fleet to count requests by
	// repository, service (?service= names it for info/refs) and client.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		cgiHandler.ServeHTTP(rec, r)
		logger.Printf("%s %s %d %s service=%q ua=%q", r.Method, r.URL.Path, rec.code,
			time.Since(start).Round(time.Millisecond), r.URL.Query().Get("service"), r.UserAgent())
	})

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	logger.Printf("serving %s on http://%s", dir, l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("cannot serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("cannot shut down: %w", err)
	}
	return nil
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
