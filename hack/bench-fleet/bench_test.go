package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",group="provider.k8sta.io",resource="tickets",subresource="",verb="APPLY"} 7
apiserver_request_total{code="200",group="",resource="events",subresource="",verb="PATCH"} 2
apiserver_request_total{code="200",group="",resource="pods",subresource="",verb="GET"} 40
apiserver_request_total{code="409",group="provider.k8sta.io",resource="tickets",subresource="status",verb="PUT"} 1
argocd_app_sync_total{name="app-0-dev",message="a \"quoted\", comma"} 1e+00
process_cpu_seconds_total 3.5
`
	ss := parseMetrics(text)
	isWrite := func(l map[string]string) bool { return writeVerbs[l["verb"]] }
	byVerb := ss.by("apiserver_request_total", isWrite, func(l map[string]string) string { return l["verb"] + " " + l["resource"] + "/" + l["subresource"] })
	want := map[string]float64{"APPLY tickets/": 7, "PATCH events/": 2, "PUT tickets/status": 1}
	if diff := cmp.Diff(want, byVerb); diff != "" {
		t.Errorf("writes by verb: -want +got:\n%s", diff)
	}
	if got := ss.sum("argocd_app_sync_total", func(l map[string]string) bool { return l["message"] == `a "quoted", comma` }); got != 1 {
		t.Errorf("escaped label: sum %v, want 1", got)
	}
	if got := ss.sum("process_cpu_seconds_total", nil); got != 3.5 {
		t.Errorf("unlabelled sample: %v, want 3.5", got)
	}
}

func TestCountGit(t *testing.T) {
	lines := []string{
		`2026/11/30 08:05:35 GET /fleet-config.git/info/refs 200 4ms service="git-upload-pack" ua="go-git/5.x"`,
		`2026/11/30 08:05:35 POST /fleet-config.git/git-upload-pack 200 9ms service="" ua="go-git/5.x"`,
		`2026/11/30 08:05:36 GET /fleet-config.git/info/refs 200 4ms service="git-receive-pack" ua="go-git/5.x"`,
		`2026/11/30 08:05:36 POST /fleet-config.git/git-receive-pack 200 30ms service="" ua="go-git/5.x"`,
		`2026/11/30 08:05:37 POST /fleet-config.git/git-upload-pack 200 9ms service="" ua="git/2.39.5"`,
		`2026/11/30 08:05:37 POST /other.git/git-upload-pack 200 9ms service="" ua="git/2.39.5"`,
		`serving /x on http://127.0.0.1:1`,
	}
	want := gitCounts{
		"k8sta":  {"info/refs upload-pack": 1, "upload-pack": 1, "info/refs receive-pack": 1, "receive-pack": 1, "all": 4},
		"argocd": {"upload-pack": 1, "all": 1},
		"all":    {"info/refs upload-pack": 1, "upload-pack": 2, "info/refs receive-pack": 1, "receive-pack": 1, "all": 5},
	}
	if diff := cmp.Diff(want, countGit(lines, "fleet-config.git")); diff != "" {
		t.Errorf("countGit: -want +got:\n%s", diff)
	}
}

// heads reads packed and loose refs as git does: a loose ref wins.
func TestHeads(t *testing.T) {
	dir := t.TempDir()
	f := &fleet{repo: filepath.Join(dir, "b.git"), work: filepath.Join(dir, "w")}
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(git("", "init", "--quiet", "--bare", f.repo))
	must(git("", "init", "--quiet", f.work))
	must(git(f.work, "commit", "--quiet", "--allow-empty", "-m", "one"))
	first, err := git(f.work, "rev-parse", "HEAD")
	must(first, err)
	must(git(f.work, "push", "--quiet", f.repo, "HEAD:refs/heads/env/app-1/dev", "HEAD:refs/heads/env/app-2/prod", "HEAD:refs/heads/main"))
	must(git(f.repo, "pack-refs", "--all"))
	must(git(f.work, "commit", "--quiet", "--allow-empty", "-m", "two"))
	second, err := git(f.work, "rev-parse", "HEAD")
	must(second, err)
	must(git(f.work, "push", "--quiet", f.repo, "HEAD:refs/heads/env/app-1/dev"))
	if _, err := os.Stat(filepath.Join(f.repo, "refs", "heads", "env", "app-1", "dev")); err != nil {
		t.Fatalf("want env/app-1/dev loose after the second push: %v", err)
	}
	got, err := f.heads()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"env/app-1/dev": second, "env/app-2/prod": first}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("heads: -want +got:\n%s", diff)
	}
}
