package gitserver

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func TestServerRoundTrip(t *testing.T) {
	s := New(t)
	first := s.CreateRepo(t, "acme/config", map[string][]byte{"a.txt": []byte("a\n"), "dir/b.txt": []byte("b\n")})
	if got := s.Head(t, "acme/config", "main"); got != first {
		t.Fatalf("Head: want %s, got %s", first, got)
	}
	second := s.Commit(t, "acme/config", "main", map[string][]byte{"a.txt": nil, "c.txt": []byte("c\n")}, "Second\n\nBody line")
	if second == first {
		t.Fatal("Commit did not move the branch")
	}
	if diff := cmp.Diff([]string{"Second\n\nBody line", "Initial commit"}, s.Log(t, "acme/config", "main")); diff != "" {
		t.Errorf("Log: -want +got:\n%s", diff)
	}
	want := map[string][]byte{"dir/b.txt": []byte("b\n"), "c.txt": []byte("c\n")}
	if diff := cmp.Diff(want, s.Files(t, "acme/config", "main")); diff != "" {
		t.Errorf("Files: -want +got:\n%s", diff)
	}
	if got := s.Head(t, "acme/config", "nope"); got != "" {
		t.Errorf("Head of a missing branch: want \"\", got %q", got)
	}

	// A real git client clones and pushes over smart HTTP.
	work := filepath.Join(t.TempDir(), "work")
	run(t, "", "git", "clone", "--quiet", s.URL("acme/config"), work)
	if err := os.WriteFile(filepath.Join(work, "d.txt"), []byte("d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, work, "git", "add", "d.txt")
	run(t, work, "git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "Pushed")
	run(t, work, "git", "push", "--quiet", "origin", "HEAD:refs/heads/env/dev")
	if got := s.Log(t, "acme/config", "env/dev"); got[0] != "Pushed" {
		t.Errorf("push over HTTP: want newest message Pushed, got %q", got)
	}
	// One clone and one push: one session of each service, counted by
	// repository.
	got := map[string]int64{
		UploadPack: s.Sessions("acme/config", UploadPack), ReceivePack: s.Sessions("acme/config", ReceivePack),
		"other repository": s.Sessions("acme/other", UploadPack),
	}
	if diff := cmp.Diff(map[string]int64{UploadPack: 1, ReceivePack: 1, "other repository": 0}, got); diff != "" {
		t.Errorf("Sessions: -want +got:\n%s", diff)
	}

	s.Reset(t, "acme/config", "main", first)
	if got := s.Head(t, "acme/config", "main"); got != first {
		t.Errorf("Reset: want %s, got %s", first, got)
	}
}

func TestBasicAuth(t *testing.T) {
	s := New(t, WithBasicAuth("alice", "s3cret"))
	s.CreateRepo(t, "r", map[string][]byte{"f": []byte("x")})
	cases := map[string]struct {
		user, pass string
		want       int
	}{
		"Good":          {"alice", "s3cret", http.StatusOK},
		"WrongPassword": {"alice", "nope", http.StatusUnauthorized},
		"None":          {"", "", http.StatusUnauthorized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL("r")+"/info/refs?service=git-upload-pack", nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if diff := cmp.Diff(tc.want, res.StatusCode); diff != "" {
				t.Errorf("status: -want +got:\n%s", diff)
			}
		})
	}
}

func TestKustomizeTreeBuilds(t *testing.T) {
	cases := map[string]struct {
		images  []string
		overlay string
		want    map[string]string // "Kind/name" -> first container image ("" for non-Deployments)
	}{
		"DevDefault": {
			overlay: "overlays/dev",
			want:    map[string]string{"Deployment/dev-guestbook": GuestbookImage, "Service/dev-guestbook": "", "ConfigMap/dev-guestbook": ""},
		},
		"ProdTwoImages": {
			images:  []string{"ghcr.io/acme/guestbook:1.2.0", "ghcr.io/acme/redis:7@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
			overlay: "overlays/prod",
			want:    map[string]string{"Deployment/guestbook": "ghcr.io/acme/guestbook:1.2.0", "Service/guestbook": "", "ConfigMap/guestbook": ""},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fs := filesys.MakeFsInMemory()
			for p, c := range KustomizeTree(tc.images...) {
				if err := fs.MkdirAll(filepath.Dir("/" + p)); err != nil {
					t.Fatal(err)
				}
				if err := fs.WriteFile("/"+p, c); err != nil {
					t.Fatal(err)
				}
			}
			m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+tc.overlay)
			if err != nil {
				t.Fatalf("kustomize build: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(t, m)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func summarize(t *testing.T, m resmap.ResMap) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, r := range m.Resources() {
		img := ""
		if r.GetKind() == "Deployment" {
			s, err := r.GetString("spec.template.spec.containers[0].image")
			if err != nil {
				t.Fatal(err)
			}
			img = s
			if r.GetName() == "guestbook" {
				if n, _ := r.GetFieldValue("spec.replicas"); n != 3 {
					t.Errorf("prod replicas: want 3, got %v", n)
				}
			}
		}
		got[r.GetKind()+"/"+r.GetName()] = img
	}
	return got
}

func TestContainerName(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io/acme/redis:7":           "redis",
		"localhost:5000/sidecar":         "sidecar",
		"localhost:5000/a/b@sha256:abcd": "b",
		"busybox":                        "busybox",
	} {
		if got := containerName(in); got != want {
			t.Errorf("containerName(%q): want %q, got %q", in, want, got)
		}
	}
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
