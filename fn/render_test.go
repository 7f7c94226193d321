package fn

import (
	"bytes"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestRender")

// renderClock is the clock of the function the golden tests run: the
// examples' observed states are written against it.
var renderClock = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// renderCases are the examples, rendered exactly with the commands
// examples/README.md shows (run from the repository root), plus -r so that
// results are included.
var renderCases = []struct {
	name string
	args string
}{
	{"linear-0-nothing-observed", "examples/linear/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml"},
	{"linear-1-new-change", "examples/linear/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/linear/observed-1-new-change.yaml"},
	{"linear-2-dev-verified", "examples/linear/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/linear/observed-2-dev-verified.yaml"},
	{"linear-3-int-soaking", "examples/linear/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/linear/observed-3-int-soaking.yaml"},
	{"linear-4-newer-change", "examples/linear/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/linear/observed-4-newer-change.yaml"},
	{"junction-0-nothing-observed", "examples/junction/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --required-resources=examples/junction/sections.yaml"},
	{"junction-1-fan-out", "examples/junction/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --required-resources=examples/junction/sections.yaml --observed-resources=examples/junction/observed-1-fan-out.yaml"},
	{"junction-2-one-section-fails", "examples/junction/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --required-resources=examples/junction/sections.yaml --observed-resources=examples/junction/observed-2-one-section-fails.yaml"},
	{"junction-missing-sections", "examples/junction/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/junction/observed-1-fan-out.yaml"},
	{"controls-1-awaiting-approval", "examples/controls/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/controls/observed-1-int-verified.yaml"},
	{"controls-2-approved", "examples/controls/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --required-resources=examples/controls/approval.yaml --observed-resources=examples/controls/observed-1-int-verified.yaml"},
	{"controls-3-outside-window", "examples/controls/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --observed-resources=examples/controls/observed-2-newer-change.yaml"},
	{"controls-4-frozen", "examples/controls/track.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml --required-resources=examples/controls/freeze.yaml --observed-resources=examples/controls/observed-2-newer-change.yaml"},
	{"legacy", "examples/legacy/xtrack.yaml examples/legacy/composition.yaml examples/functions.yaml --xrd=examples/legacy/xrd.yaml --observed-resources=examples/legacy/observed.yaml"},
	{"section-alone", "examples/junction/sections.yaml package/configuration/composition.yaml examples/functions.yaml --xrd=package/configuration/xrd.yaml"},
}

// TestRender runs the real `crossplane render` (the CLI at $CROSSPLANE_CLI,
// built by hack/crossplane-cli.sh) on every example against this function,
// served in process on a free port, and compares the output with the golden
// files in testdata/render (go test -run TestRender -update rewrites them).
func TestRender(t *testing.T) {
	cli := os.Getenv("CROSSPLANE_CLI")
	if cli == "" {
		if os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("CROSSPLANE_CLI is not set: set it to the output of hack/crossplane-cli.sh")
		}
		t.Skip("CROSSPLANE_CLI is not set: CROSSPLANE_CLI=$(hack/crossplane-cli.sh) runs this test")
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	srv := grpc.NewServer()
	fnv1.RegisterFunctionRunnerServiceServer(srv, New(WithClock(func() time.Time { return renderClock })))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"render"}, strings.Fields(tc.args)...)
			// Point the Development runtime of examples/functions.yaml at
			// the function served above instead of localhost:9443.
			args = append(args, "--include-function-results", "--timeout=30s",
				"--function-annotations=render.crossplane.io/runtime-development-target="+lis.Addr().String())
			cmd := exec.Command(cli, args...)
			cmd.Dir = root
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("crossplane %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			got := normalize(stdout.String())

			golden := filepath.Join("testdata", "render", tc.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("cannot read golden file (go test ./fn -run TestRender -update writes it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("crossplane %s: -want, +got:\n%s", strings.Join(args, " "), diff)
			}
		})
	}
}

// volatile are the fields of render's output that change from run to run.
var volatile = regexp.MustCompile(`(?m)^(\s*(?:- )?lastTransitionTime:) .*$`)

func normalize(s string) string {
	return volatile.ReplaceAllString(s, "$1 <volatile>")
}
