package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

var bot = Signature{Name: "K8sTA", Email: "k8sta@example.com"}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	rendered := map[string][]byte{"manifests.yaml": []byte("kind: List\n"), ".k8sta/change.yaml": []byte("id: abc\n")}
	rendered2 := map[string][]byte{"manifests.yaml": []byte("kind: List\nitems: []\n")}

	type want struct {
		Pushed   bool
		NewHead  bool     // the branch moved
		Log      []string // server log of the branch afterwards
		Files    map[string][]byte
		Proposed []string // heads propose saw ("" for new branch, "old" for the prior head)
	}
	cases := map[string]struct {
		branch  string
		prior   map[string][]byte // branch content before, nil: no branch
		files   map[string][]byte
		propErr error
		want    want
		err     error
	}{
		"NewBranch": {
			branch: "env/dev", files: rendered,
			want: want{Pushed: true, NewHead: true, Log: []string{"render"}, Files: rendered, Proposed: []string{""}},
		},
		"OnTop": {
			branch: "env/dev", prior: rendered, files: rendered2,
			want: want{Pushed: true, NewHead: true, Log: []string{"render", "prior"}, Files: rendered2, Proposed: []string{"old"}},
		},
		"IdenticalTree": {
			branch: "env/dev", prior: rendered, files: rendered,
			want: want{Log: []string{"prior"}, Files: rendered, Proposed: []string{"old"}},
		},
		"NothingToDo": {
			branch: "env/dev", prior: rendered, files: nil,
			want: want{Log: []string{"prior"}, Files: rendered, Proposed: []string{"old"}},
		},
		"EmptyTree": {
			branch: "env/dev", prior: rendered, files: map[string][]byte{},
			want: want{Pushed: true, NewHead: true, Log: []string{"render", "prior"}, Files: map[string][]byte{}, Proposed: []string{"old"}},
		},
		"ProposeFails": {
			branch: "env/dev", prior: rendered, propErr: errors.New("boom"),
			want: want{Log: []string{"prior"}, Files: rendered, Proposed: []string{"old"}},
			err:  errBoom,
		},
		"BadPath": {
			branch: "env/dev", prior: rendered, files: map[string][]byte{"../escape": []byte("x")},
			want: want{Log: []string{"prior"}, Files: rendered, Proposed: []string{"old"}},
			err:  errAny,
		},
		"FileAndDir": {
			branch: "env/dev", files: map[string][]byte{"a": []byte("x"), "a/b": []byte("y")},
			want: want{Proposed: []string{""}},
			err:  errAny,
		},
		"InvalidBranch": {
			branch: "env..dev", files: rendered,
			err: ErrInvalidBranch,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := gitserver.New(t)
			s.CreateRepo(t, "config", gitserver.KustomizeTree())
			old := ""
			if tc.prior != nil {
				old = s.Commit(t, "config", tc.branch, tc.prior, "prior")
			}
			r := newRepo(t, s.URL("config"), Auth{})
			var proposed []string
			commit, pushed, err := r.Publish(ctx, tc.branch, bot, func(head string) (map[string][]byte, string, error) {
				if head == old && head != "" {
					proposed = append(proposed, "old")
				} else {
					proposed = append(proposed, head)
				}
				if tc.propErr != nil {
					return nil, "", fmt.Errorf("%w: %w", errBoom, tc.propErr)
				}
				return tc.files, "render", nil
			})
			switch {
			case errors.Is(tc.err, errAny):
				if err == nil {
					t.Fatal("want an error, got none")
				}
			case !errors.Is(err, tc.err):
				t.Fatalf("want error %v, got %v", tc.err, err)
			}
			if tc.branch == "env..dev" {
				return
			}
			head := s.Head(t, "config", tc.branch)
			got := want{Pushed: pushed, NewHead: head != old, Proposed: proposed}
			if head != "" {
				got.Log = s.Log(t, "config", tc.branch)
				got.Files = s.Files(t, "config", tc.branch)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
			if err != nil {
				return
			}
			if commit != head {
				t.Errorf("Publish returned %s, the branch is at %s", commit, head)
			}
			// The cache knows the pushed head without another fetch.
			if h, _, _ := r.Head(tc.branch); h != head {
				t.Errorf("Head after Publish: want %s, got %s", head, h)
			}
			if tc.want.Pushed {
				cs, err := r.CommitsSince("", commit)
				if err != nil {
					t.Fatal(err)
				}
				wantParents := []string{}
				if old != "" {
					wantParents = []string{old}
				}
				if diff := cmp.Diff(wantParents, cs[0].Parents); diff != "" {
					t.Errorf("parents: -want +got:\n%s", diff)
				}
			}
		})
	}
}

var (
	errBoom = errors.New("boom")
	errAny  = errors.New("any error")
)

// TestPublishRaceInterleaved: writer A reads the head, writer B pushes
// before A does; A's push is rejected, A is asked again with B's head, and
// both commits end up on the branch.
func TestPublishRaceInterleaved(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	h0 := s.Commit(t, "config", "env/dev", map[string][]byte{"base.txt": []byte("0")}, "start")
	gitConfig(t, s, "config", "receive.denyNonFastForwards", "true")

	a := newRepo(t, s.URL("config"), Auth{})
	b := newRepo(t, s.URL("config"), Auth{})

	var hB string
	var seenA []string
	commitA, pushedA, err := a.Publish(ctx, "env/dev", Signature{"A", "a@example.com"}, func(head string) (map[string][]byte, string, error) {
		seenA = append(seenA, head)
		if len(seenA) == 1 {
			// B wins the race while A is busy proposing.
			var err error
			hB, _, err = b.Publish(ctx, "env/dev", Signature{"B", "b@example.com"}, addFile(b, "b.txt", "B"))
			if err != nil {
				return nil, "", err
			}
		}
		return addFile(a, "a.txt", "A")(head)
	})
	if err != nil || !pushedA {
		t.Fatalf("A: Publish: pushed=%v err=%v", pushedA, err)
	}
	if diff := cmp.Diff([]string{h0, hB}, seenA); diff != "" {
		t.Errorf("heads A proposed on: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A", "B", "start"}, s.Log(t, "config", "env/dev")); diff != "" {
		t.Errorf("log: -want +got:\n%s", diff)
	}
	cs, err := a.CommitsSince(h0, commitA)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Hash != hB || cs[1].Parents[0] != hB {
		t.Errorf("A's commit is not on top of B's: %+v", cs)
	}
	want := map[string][]byte{"base.txt": []byte("0"), "a.txt": []byte("A"), "b.txt": []byte("B")}
	if diff := cmp.Diff(want, s.Files(t, "config", "env/dev")); diff != "" {
		t.Errorf("files: -want +got:\n%s", diff)
	}
}

// TestPublishRaceConcurrent: two writers with their own caches publish to one
// branch at the same time; every commit survives.
func TestPublishRaceConcurrent(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	gitConfig(t, s, "config", "receive.denyNonFastForwards", "true")
	const perWriter = 4

	var wg sync.WaitGroup
	errs := make(chan error, 2*perWriter)
	for _, w := range []string{"a", "b"} {
		r := newRepo(t, s.URL("config"), Auth{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				name := fmt.Sprintf("%s-%d", w, i)
				if _, _, err := r.Publish(ctx, "env/dev", Signature{w, w + "@example.com"}, addFile(r, name+".txt", name)); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	files := s.Files(t, "config", "env/dev")
	log := s.Log(t, "config", "env/dev")
	if len(files) != 2*perWriter || len(log) != 2*perWriter {
		t.Errorf("want %d files and commits, got files %d, log %q", 2*perWriter, len(files), log)
	}
	for _, w := range []string{"a", "b"} {
		for i := range perWriter {
			name := fmt.Sprintf("%s-%d", w, i)
			if string(files[name+".txt"]) != name {
				t.Errorf("lost %s", name)
			}
		}
	}
}

// addFile proposes head's content plus one file, as a careful writer does.
func addFile(r *Repo, path, content string) Proposal {
	return func(head string) (map[string][]byte, string, error) {
		files := map[string][]byte{}
		if head != "" {
			var err error
			if files, err = r.Files(head); err != nil {
				return nil, "", err
			}
		}
		files[path] = []byte(content)
		return files, content, nil
	}
}

func TestPublishToEmptyRepo(t *testing.T) {
	s := gitserver.New(t)
	s.CreateEmptyRepo(t, "empty")
	r := newRepo(t, s.URL("empty"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatalf("Fetch of an empty repository: %v", err)
	}
	c, pushed, err := r.Publish(context.Background(), "main", bot, func(head string) (map[string][]byte, string, error) {
		return map[string][]byte{"a": []byte("a")}, "first", nil
	})
	if err != nil || !pushed || c != s.Head(t, "empty", "main") {
		t.Fatalf("Publish: commit=%s pushed=%v err=%v", c, pushed, err)
	}
}
