package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
)

func TestCLI(t *testing.T) {
	cases := map[string]struct {
		reason string
		args   []string
		env    map[string]string
		want   CLI
	}{
		"Defaults": {
			reason: "By default the function serves mTLS on :9443, the way Crossplane runs it.",
			want:   CLI{Network: "tcp", Address: ":9443", MaxRecvMessageSize: 4, MetricsAddress: ":8080"},
		},
		"Development": {
			reason: "--insecure and --address serve it for crossplane render's Development runtime.",
			args:   []string{"--insecure", "--address=localhost:9443", "--metrics-address=", "-d"},
			want:   CLI{Debug: true, Network: "tcp", Address: "localhost:9443", Insecure: true, MaxRecvMessageSize: 4},
		},
		"CertsFromEnvironment": {
			reason: "The certificates directory comes from TLS_SERVER_CERTS_DIR, as the function runtime sets it, or --tls-certs-dir.",
			env:    map[string]string{"TLS_SERVER_CERTS_DIR": "/tls/server"},
			want:   CLI{Network: "tcp", Address: ":9443", TLSCertsDir: "/tls/server", MaxRecvMessageSize: 4, MetricsAddress: ":8080"},
		},
		"CertsFlag": {
			args: []string{"--tls-certs-dir=/certs"},
			want: CLI{Network: "tcp", Address: ":9443", TLSCertsDir: "/certs", MaxRecvMessageSize: 4, MetricsAddress: ":8080"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("TLS_SERVER_CERTS_DIR", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got := CLI{}
			p, err := kong.New(&got)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Parse(tc.args); err != nil {
				t.Fatalf("Parse(%v): %v", tc.args, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nParse(%v): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

// TestEmbedsTimeZones checks that the function's binary carries the IANA
// time zone database: its image has no /usr/share/zoneinfo, and a Track's
// windows name time zones.
func TestEmbedsTimeZones(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if deps := strings.Fields(string(out)); !slices.Contains(deps, "time/tzdata") {
		t.Errorf("the function does not import time/tzdata: time zones would not load in its image")
	}
}
