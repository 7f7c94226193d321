package kubectlk8sta

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the commands print")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cannot read the golden file (go test -run %s -update writes it): %v", t.Name(), err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s: -want +got:\n%s", path, diff)
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestStatus prints the linear and the junction Track as a transit map,
// plain (not a terminal) and as JSON, and compares both with golden files:
// stations in order, sections drawn as branches of their junction, each
// station's change by tag (from its history or its Ticket) or short commit,
// its phase, since when on the fixed clock, and what holds it. On a terminal
// the same text is colored.
func TestStatus(t *testing.T) {
	cases := map[string]struct {
		fixture func(*testing.T, string)
		track   string
	}{
		"linear":   {fixture: linear, track: "guestbook"},
		"junction": {fixture: junction, track: "shop"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := namespaceNamed(t, "status-"+name)
			tc.fixture(t, ns)

			text, err := run(t, "alice", "status", tc.track, "-n", ns)
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			golden(t, "status-"+name+".txt", text)
			if strings.Contains(text, "\x1b") {
				t.Errorf("status wrote an escape character when not on a terminal:\n%q", text)
			}

			j, err := run(t, "alice", "status", tc.track, "-n", ns, "-o", "json")
			if err != nil {
				t.Fatalf("status -o json: %v", err)
			}
			golden(t, "status-"+name+".json", j)

			colored, err := runWith(t, Options{Color: true}, "alice", nil, "status", tc.track, "-n", ns)
			if err != nil {
				t.Fatalf("status on a terminal: %v", err)
			}
			if !strings.Contains(colored, "\x1b[32mVerified\x1b[0m") {
				t.Errorf("status on a terminal: want Verified in green, got:\n%q", colored)
			}
			if diff := cmp.Diff(text, ansi.ReplaceAllString(colored, "")); diff != "" {
				t.Errorf("status on a terminal, colors removed: -plain +colored:\n%s", diff)
			}
		})
	}
}

// TestStatusJunctionApproval: the stations a junction that says approval:
// Manual holds back are approved through the junction, and status says so
// once, naming the junction's path; an Approval of a station's own path
// would let nothing in.
func TestStatusJunctionApproval(t *testing.T) {
	ns := namespace(t)
	junction(t, ns)
	heldAtRegions(t, ns)
	got, err := run(t, "alice", "status", "shop", "-n", ns)
	if err != nil {
		t.Fatal(err)
	}
	var hints []string
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "waits for approval: ") {
			hints = append(hints, l)
		}
	}
	want := []string{"regions waits for approval: kubectl k8sta approve shop regions -n " + ns}
	if diff := cmp.Diff(want, hints); diff != "" {
		t.Errorf("status: what to approve: -want +got:\n%s", diff)
	}
}

// TestStatusErrors covers what status says of a Track it cannot show.
func TestStatusErrors(t *testing.T) {
	ns := namespace(t)
	junction(t, ns)
	createTrack(t, ns, `
metadata: {name: fresh}
spec:
  repo: {url: https://git.example.com/acme/fresh.git}
  subscriptions: {git: {}}
  stations: [{name: dev, overlay: overlays/dev, applications: [{name: fresh-dev}]}]
`, "")
	createTrack(t, ns, `
metadata: {name: broken}
spec:
  repo: {url: https://git.example.com/acme/broken.git}
  subscriptions: {git: {}}
  stations: [{name: dev, tracks: [missing]}]
`, `
conditions:
- {type: Valid, status: "False", reason: SectionNotFound, message: "spec.stations[0].tracks[0]: Track missing does not exist", lastTransitionTime: "`+at(-time.Hour)+`"}
`)
	cases := map[string]struct {
		args    []string
		want    string
		wantErr string
	}{
		"Invalid": {
			args: []string{"status", "broken", "-n", ns},
			want: "Track broken in namespace " + ns + "\nValid: False, SectionNotFound: spec.stations[0].tracks[0]: Track missing does not exist\n",
		},
		"ApproveOnInvalid": {
			args:    []string{"approve", "broken", "dev", "-n", ns},
			wantErr: `Track broken has no station "dev": its status lists no stations yet (function-k8sta has not composed it: spec.stations[0].tracks[0]: Track missing does not exist)`,
		},
		"NoSuchTrack": {
			args:    []string{"status", "nope", "-n", ns},
			wantErr: "Track nope does not exist in namespace " + ns + " (kubectl get tracks -n " + ns + " lists its Tracks; -n picks another namespace)",
		},
		"Section": {
			args: []string{"status", "eu", "-n", ns},
			want: "Track eu in namespace " + ns + "\n\nTrack eu is a section: its stations show in the status of the Track whose junction feeds it.\n",
		},
		"NotYetComposed": {
			args: []string{"status", "fresh", "-n", ns},
			want: "Track fresh in namespace " + ns + "\nfunction-k8sta has not reported on this Track yet\n",
		},
		"NoTrack": {
			args:    []string{"status", "-n", ns},
			wantErr: "usage: kubectl k8sta status TRACK [flags] (got 0 arguments)",
		},
		"BadOutput": {
			args:    []string{"status", "shop", "-n", ns, "-o", "yaml"},
			wantErr: `--output "yaml" is not a format kubectl k8sta writes: use text or json`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := run(t, "alice", tc.args...)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("output: -want +got:\n%s", diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
