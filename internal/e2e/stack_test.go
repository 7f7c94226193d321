//go:build e2e

// Package e2e proves K8sTA against the real tiers it sits on: real Crossplane
// core composing Tracks through the function, the provider delivering
// Tickets, real Argo CD (application-controller and repo-server) syncing them
// into a real kube-apiserver with a real kube-controller-manager, and real
// Argo Rollouts running canaries on kwok's node. The whole stack runs as
// local processes on 127.0.0.1 (hack/stack); this test starts it and stops
// it. Run it with `make e2e`.
package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// stack is the running stack: its environment, as hack/stack writes it.
type stack struct {
	dir     string
	env     map[string]string
	kube    dynamic.Interface
	webhook string // the provider's webhook receiver, http://127.0.0.1:PORT
}

var st *stack

func TestMain(m *testing.M) {
	s, err := startStack()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the stack:", err)
		if s != nil {
			s.stop(false)
		}
		os.Exit(1)
	}
	st = s
	code := m.Run()
	if os.Getenv("K8STA_E2E_KEEP") == "" {
		// A passing run leaves nothing behind (about 115 MB of etcd data,
		// logs and packages); a failing one keeps its logs to read.
		s.stop(code == 0)
		if code != 0 {
			fmt.Fprintf(os.Stderr, "the stack's logs: %s/logs\n", s.dir)
		}
	} else {
		fmt.Fprintf(os.Stderr, "stack left running: source %s/env; stop it with hack/stack/down.sh %s\n", s.dir, s.dir)
	}
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func startStack() (*stack, error) {
	dir, err := os.MkdirTemp("", "k8sta-e2e-")
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, env: map[string]string{}}
	root := repoRoot()
	for _, step := range []struct {
		script string
		env    []string
	}{
		{"hack/stack/up.sh", nil},
		{"hack/stack/install-packages.sh", []string{"K8STA_REQUIRE_PACKAGES=1", "K8STA_PROVIDER_ARGS=--min-subscription-interval=1s --poll=30s"}},
	} {
		cmd := exec.Command("bash", filepath.Join(root, step.script), dir)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), step.env...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return s, fmt.Errorf("%s: %w", step.script, err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "env"), filepath.Join(dir, "packages", "env")} {
		if err := readEnv(f, s.env); err != nil {
			return s, err
		}
	}
	s.webhook = s.env["PROVIDER_WEBHOOK_URL"]
	cfg, err := clientcmd.BuildConfigFromFlags("", s.env["KUBECONFIG"])
	if err != nil {
		return s, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	if s.kube, err = dynamic.NewForConfig(cfg); err != nil {
		return s, err
	}
	return s, nil
}

func (s *stack) stop(purge bool) {
	args := []string{filepath.Join(repoRoot(), "hack/stack/down.sh"), s.dir}
	if purge {
		args = []string{args[0], "--purge", s.dir}
	}
	cmd := exec.Command("bash", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	_ = cmd.Run()
}

// kubectl runs the stack's kubectl.
func (s *stack) kubectl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.env["KUBE_BIN_DIR"], "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.env["KUBECONFIG"])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kubectlWithPath runs the stack's kubectl with dir first on its PATH, where
// it finds plugins.
func (s *stack) kubectlWithPath(dir string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.env["KUBE_BIN_DIR"], "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.env["KUBECONFIG"], "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// crossplane runs the crossplane CLI against the stack.
func (s *stack) crossplane(args ...string) (string, error) {
	cmd := exec.Command(s.env["CROSSPLANE_CLI"], args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.env["KUBECONFIG"])
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readEnv(path string, into map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			into[k] = v
		}
	}
	return sc.Err()
}

var (
	applicationGVR  = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	trackGVR        = schema.GroupVersionResource{Group: "k8sta.io", Version: "v1alpha1", Resource: "tracks"}
	ticketGVR       = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "tickets"}
	subscriptionGVR = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "subscriptions"}
)
