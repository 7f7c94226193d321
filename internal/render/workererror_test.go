package render

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestWorkerErrorIsBounded: kustomize's error quotes what the tenant wrote
// (here a resource named with 40,000 bytes of 'é'): the worker answers with at
// most maxWorkerError bytes of it, cut on a character, marked as cut.
func TestWorkerErrorIsBounded(t *testing.T) {
	name := strings.Repeat("é", 20000)
	res := build(&workerRequest{
		Files:          map[string][]byte{"/app/kustomization.yaml": []byte("resources: ['" + name + "']\n")},
		Dir:            "/app",
		MaxOutputBytes: 1 << 20,
		NodeLimit:      1000,
		NodesLeft:      1000,
	})
	if !strings.Contains(res.Error, "éé") {
		t.Fatalf("build(...): want kustomize's error naming the resource, got %q", res.Error[:min(len(res.Error), 200)])
	}
	if len(res.Error) > maxWorkerError {
		t.Errorf("build(...): an error of %d bytes, bound %d", len(res.Error), maxWorkerError)
	}
	if !utf8.ValidString(res.Error) {
		t.Errorf("build(...): the error was cut inside a character: ...%q", res.Error[len(res.Error)-8:])
	}
	if !strings.HasSuffix(res.Error, "…") {
		t.Errorf("build(...): a cut error does not say it was cut: ...%q", res.Error[len(res.Error)-8:])
	}
}
