// Package kubeenv starts a real kube-apiserver and etcd (controller-runtime
// envtest) with the provider's CRDs and Argo CD's Application CRD installed.
//
// The binaries come from hack/kube-binaries.sh (KUBEBUILDER_ASSETS) and the
// Argo CD CRDs from hack/argocd-crds.sh (ARGOCD_CRDS); `make test` sets both
// and K8STA_REQUIRE_INTEGRATION=1, under which a missing binary fails the run
// instead of skipping it.
package kubeenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// CRDs are CRDs a package's tests need besides the provider's and Argo CD's
// Application: Env names the variable that holds their directory, Script
// the hack script that prints it, Files the files installed from it.
type CRDs struct {
	Env, Script string
	Files       []string
}

// Rollouts are Argo Rollouts' CRDs (the Rollout only), from
// hack/rollouts-crds.sh.
var Rollouts = CRDs{Env: "ROLLOUTS_CRDS", Script: "hack/rollouts-crds.sh", Files: []string{"rollout-crd.yaml"}}

// Required reports whether integration tests must run rather than skip.
func Required() bool { return os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" }

// Missing returns why integration tests cannot run here, or "".
func Missing(extra ...CRDs) string {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return "KUBEBUILDER_ASSETS is not set (run `make test`, or point it at the output of hack/kube-binaries.sh)"
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return "KUBEBUILDER_ASSETS has no " + b + ": " + err.Error()
		}
	}
	if os.Getenv("ARGOCD_CRDS") == "" {
		return "ARGOCD_CRDS is not set (run `make test`, or point it at the output of hack/argocd-crds.sh)"
	}
	for _, c := range extra {
		if os.Getenv(c.Env) == "" {
			return c.Env + " is not set (run `make test`, or point it at the output of " + c.Script + ")"
		}
	}
	return ""
}

// Environment is a running apiserver.
type Environment struct {
	*envtest.Environment
	Config *rest.Config
}

// Start starts an apiserver for a TestMain. It returns nil and a reason when
// the binaries are absent and integration tests are not required.
func Start(extra ...CRDs) (*Environment, string, error) {
	if why := Missing(extra...); why != "" {
		return nil, why, nil
	}
	paths := []string{filepath.Join(repoRoot(), "package", "crds"), os.Getenv("ARGOCD_CRDS")}
	for _, c := range extra {
		for _, f := range c.Files {
			paths = append(paths, filepath.Join(os.Getenv(c.Env), f))
		}
	}
	env := &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              paths,
			ErrorIfPathMissing: true,
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, "", err
	}
	return &Environment{Environment: env, Config: cfg}, "", nil
}

// Main runs a package's tests against one apiserver shared by the package,
// Flux style: it skips every test (exit 0) when binaries are absent and not
// required, and fails when they are required. setup, if not nil, runs once
// the apiserver is up (to start controllers) and returns their teardown.
// extra are the CRDs the package needs besides the provider's and Argo CD's.
func Main(m *testing.M, env **Environment, setup func(*Environment) (func(), error), extra ...CRDs) {
	e, why, err := Start(extra...)
	switch {
	case err != nil:
		println("cannot start the test apiserver: " + err.Error())
		os.Exit(1)
	case e == nil && Required():
		println("integration tests are required (K8STA_REQUIRE_INTEGRATION=1) but " + why)
		os.Exit(1)
	case e == nil:
		println("skipping integration tests: " + why)
		os.Exit(0)
	}
	*env = e
	teardown := func() {}
	if setup != nil {
		t, err := setup(e)
		if err != nil {
			println("cannot set up the test environment: " + err.Error())
			_ = e.Stop()
			os.Exit(1)
		}
		teardown = t
	}
	code := m.Run()
	teardown()
	if err := e.Stop(); err != nil {
		println("cannot stop the test apiserver: " + err.Error())
	}
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Eventually polls cond until it holds, failing t after 30 s with what and
// cond's last word. Integration tests wait on the apiserver this way; they
// never assert on how long something took.
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	EventuallyWithin(t, 30*time.Second, what, cond)
}

// EventuallyWithin is Eventually with its own deadline, for waits on a
// whole stack (Argo CD syncs, Crossplane compositions).
func EventuallyWithin(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if ok, last := Poll(timeout, cond); !ok {
		t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
	}
}

// Poll asks cond every 20 ms until it holds or timeout passes, for a wait
// outside a test (a TestMain's), and returns whether it held and, if not,
// cond's last word on why.
func Poll(timeout time.Duration, cond func() (bool, string)) (ok bool, last string) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return true, ""
		}
		last = why
		time.Sleep(20 * time.Millisecond)
	}
	return false, last
}
