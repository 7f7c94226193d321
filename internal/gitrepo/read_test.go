package gitrepo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

func TestFetchIncremental(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	s.Commit(t, "config", "env/dev", map[string][]byte{"manifests.yaml": []byte("a: 1\n")}, "Render dev")
	r := newRepo(t, s.URL("config"), Auth{})

	if _, ok, err := r.Head("main"); err != nil || ok {
		t.Fatalf("Head before the first Fetch: want not ok, got ok=%v err=%v", ok, err)
	}
	start := time.Now()
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	t.Logf("first Fetch (clone): %v", time.Since(start))
	packs := packFiles(t, r)
	if len(packs) == 0 {
		t.Fatal("no pack after the first Fetch")
	}

	start = time.Now()
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("Fetch with nothing new: %v", err)
	}
	t.Logf("Fetch with nothing new: %v", time.Since(start))

	c1 := s.Commit(t, "config", "main", map[string][]byte{"base/configmap.yaml": []byte("x: y\n")}, "Change the base")
	start = time.Now()
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	t.Logf("Fetch of one new commit: %v", time.Since(start))
	after := packFiles(t, r)
	// Incremental: the first pack is still there, untouched, and one more
	// (small) pack came in beside it. A re-clone would have replaced it.
	for name, info := range packs {
		if got, ok := after[name]; !ok || !got.ModTime().Equal(info.ModTime()) {
			t.Errorf("pack %s from the first Fetch was replaced or rewritten", name)
		}
	}
	if len(after) <= len(packs) && !hasLooseObjects(t, r) {
		t.Errorf("second Fetch brought no new objects: packs %d → %d", len(packs), len(after))
	}

	// The branch is deleted upstream: pruned.
	s.Reset(t, "config", "env/dev", "")
	if err := r.Fetch(ctx); err != nil {
		t.Fatalf("Fetch after a branch deletion: %v", err)
	}

	type head struct {
		Commit string
		OK     bool
	}
	cases := map[string]struct {
		branch string
		want   head
		err    error
	}{
		"Main":          {branch: "main", want: head{c1, true}},
		"Pruned":        {branch: "env/dev", want: head{"", false}},
		"Missing":       {branch: "env/prod", want: head{"", false}},
		"Empty":         {branch: "", err: ErrInvalidBranch},
		"DoubleDot":     {branch: "env..dev", err: ErrInvalidBranch},
		"Space":         {branch: "env dev", err: ErrInvalidBranch},
		"Lock":          {branch: "env/dev.lock", err: ErrInvalidBranch},
		"LeadingDash":   {branch: "-dev", err: ErrInvalidBranch},
		"TrailingSlash": {branch: "env/", err: ErrInvalidBranch},
		"AtBrace":       {branch: "env@{1}", err: ErrInvalidBranch},
		"Tilde":         {branch: "env~1", err: ErrInvalidBranch},
		"Colon":         {branch: "env:dev", err: ErrInvalidBranch},
		"HEAD":          {branch: "HEAD", err: ErrInvalidBranch},
	}
	for name, tc := range cases {
		t.Run("Head/"+name, func(t *testing.T) {
			c, ok, err := r.Head(tc.branch)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Head(%q): want error %v, got %v", tc.branch, tc.err, err)
			}
			if diff := cmp.Diff(tc.want, head{c, ok}); diff != "" {
				t.Errorf("Head(%q): -want +got:\n%s", tc.branch, diff)
			}
		})
	}
	for sha, want := range map[string]bool{c0: true, c1: true, "0123456789012345678901234567890123456789": false, "main": false, c1[:7]: false} {
		if got := r.HasCommit(sha); got != want {
			t.Errorf("HasCommit(%q): want %v, got %v", sha, want, got)
		}
	}
}

func packFiles(t *testing.T, r *Repo) map[string]os.FileInfo {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]os.FileInfo{}
	for _, p := range m {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = info
	}
	return out
}

func hasLooseObjects(t *testing.T, r *Repo) bool {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(r.dir, "objects", "??", "*"))
	return len(m) > 0
}

func TestFilesAndReadFile(t *testing.T) {
	s := gitserver.New(t)
	tree := gitserver.KustomizeTree()
	c0 := s.CreateRepo(t, "config", tree)
	c1 := s.Commit(t, "config", "main", map[string][]byte{"overlays/prod/deployment-patch.yaml": nil, "empty.txt": {}}, "Drop the patch")
	r := newRepo(t, s.URL("config"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}

	want1 := map[string][]byte{}
	for p, c := range tree {
		want1[p] = c
	}
	delete(want1, "overlays/prod/deployment-patch.yaml")
	want1["empty.txt"] = []byte{}

	filesCases := map[string]struct {
		commit string
		want   map[string][]byte
		err    error
	}{
		"Initial":   {commit: c0, want: tree},
		"Second":    {commit: c1, want: want1},
		"Missing":   {commit: "0123456789012345678901234567890123456789", err: ErrCommitNotFound},
		"NotAHash":  {commit: "main", err: ErrCommitNotFound},
		"ShortHash": {commit: c0[:8], err: ErrCommitNotFound},
	}
	for name, tc := range filesCases {
		t.Run("Files/"+name, func(t *testing.T) {
			got, err := r.Files(tc.commit)
			if !errors.Is(err, tc.err) {
				t.Fatalf("want error %v, got %v", tc.err, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}

	type file struct {
		Content string
		OK      bool
	}
	readCases := map[string]struct {
		commit, path string
		want         file
		err          error
	}{
		"Present":        {commit: c0, path: "base/deployment.yaml", want: file{string(tree["base/deployment.yaml"]), true}},
		"DeletedLater":   {commit: c1, path: "overlays/prod/deployment-patch.yaml"},
		"StillThere":     {commit: c0, path: "overlays/prod/deployment-patch.yaml", want: file{string(tree["overlays/prod/deployment-patch.yaml"]), true}},
		"Empty":          {commit: c1, path: "empty.txt", want: file{"", true}},
		"Absent":         {commit: c0, path: "nope.yaml"},
		"AbsentDir":      {commit: c0, path: "nope/nope.yaml"},
		"Directory":      {commit: c0, path: "base"},
		"MissingCommit":  {commit: "0123456789012345678901234567890123456789", path: "a", err: ErrCommitNotFound},
		"UnderAFilePath": {commit: c0, path: "base/deployment.yaml/x"},
	}
	for name, tc := range readCases {
		t.Run("ReadFile/"+name, func(t *testing.T) {
			b, ok, err := r.ReadFile(tc.commit, tc.path)
			if !errors.Is(err, tc.err) {
				t.Fatalf("want error %v, got %v", tc.err, err)
			}
			if diff := cmp.Diff(tc.want, file{string(b), ok}); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestCommitsSince(t *testing.T) {
	s := gitserver.New(t)
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	c1 := s.Commit(t, "config", "main", map[string][]byte{"base/deployment.yaml": gitserver.KustomizeTree("ghcr.io/acme/guestbook:1.1.0")["base/deployment.yaml"]}, "Bump the base")
	c2 := s.Commit(t, "config", "main", map[string][]byte{"overlays/dev/kustomization.yaml": []byte("resources: [../../base]\n")}, "Dev only")
	c3 := s.Commit(t, "config", "main", map[string][]byte{"overlays/prod/deployment-patch.yaml": nil, "overlays/prod/extra.yaml": []byte("x: 1\n"), "base/service.yaml": []byte("y: 2\n")}, "Mixed")
	// History rewritten: main forced back to c1 plus a different commit.
	s.Reset(t, "config", "main", c1)
	c2b := s.Commit(t, "config", "main", map[string][]byte{"README.md": []byte("hi\n")}, "Rewritten")
	s.Reset(t, "config", "keep", c3) // keep c3 reachable upstream too

	r := newRepo(t, s.URL("config"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}

	all := []string{}
	for p := range gitserver.KustomizeTree() {
		all = append(all, p)
	}
	commit := func(hash, msg string, parents []string, paths ...string) Commit {
		return Commit{Hash: hash, Message: msg, Parents: parents, Paths: paths}
	}
	cases := map[string]struct {
		since, until string
		want         []Commit
		err          error
	}{
		"NoSince": {until: c1, want: []Commit{commit(c1, "Bump the base", []string{c0}, "base/deployment.yaml")}},
		"Root":    {until: c0, want: []Commit{commit(c0, "Initial commit", []string{}, all...)}},
		"Three": {since: c0, until: c3, want: []Commit{
			commit(c1, "Bump the base", []string{c0}, "base/deployment.yaml"),
			commit(c2, "Dev only", []string{c1}, "overlays/dev/kustomization.yaml"),
			commit(c3, "Mixed", []string{c2}, "base/service.yaml", "overlays/prod/deployment-patch.yaml", "overlays/prod/extra.yaml"),
		}},
		"One":            {since: c2, until: c3, want: []Commit{commit(c3, "Mixed", []string{c2}, "base/service.yaml", "overlays/prod/deployment-patch.yaml", "overlays/prod/extra.yaml")}},
		"Same":           {since: c3, until: c3, want: []Commit{}},
		"Backwards":      {since: c3, until: c1, err: ErrNotAncestor},
		"ForcePushed":    {since: c3, until: c2b, err: ErrNotAncestor},
		"AfterRewrite":   {since: c1, until: c2b, want: []Commit{commit(c2b, "Rewritten", []string{c1}, "README.md")}},
		"MissingUntil":   {since: c0, until: "0123456789012345678901234567890123456789", err: ErrCommitNotFound},
		"MissingSince":   {since: "0123456789012345678901234567890123456789", until: c3, err: ErrCommitNotFound},
		"InvalidCommits": {since: "", until: "main", err: ErrCommitNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := r.CommitsSince(tc.since, tc.until)
			if !errors.Is(err, tc.err) {
				t.Fatalf("want error %v, got %v", tc.err, err)
			}
			for _, c := range got {
				if c.When.IsZero() {
					t.Errorf("commit %s has no time", c.Hash)
				}
			}
			opts := []cmp.Option{cmpopts.IgnoreFields(Commit{}, "When"), cmpopts.SortSlices(func(a, b string) bool { return a < b })}
			// Messages come back as git stored them: trailing newline trimmed for comparison.
			for i := range got {
				got[i].Message = trimNL(got[i].Message)
			}
			if diff := cmp.Diff(tc.want, got, opts...); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
