package gitrepo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// requests records what a RequestObserver is told, as "<operation> <result>".
type requests struct {
	mu   sync.Mutex
	seen []string
}

func (r *requests) observe(op, result string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if took < 0 {
		result += " (negative duration)"
	}
	r.seen = append(r.seen, op+" "+result)
}

func (r *requests) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// The observer is told of every request to a remote, once per request,
// with its result in a word: a shared fetch is one, a push refused because
// another writer moved the branch is "rejected", and the fetch and push
// that follow are told too.
func TestRequestObserverIsToldOfEveryRemoteRequest(t *testing.T) {
	ctx := context.Background()
	files := map[string][]byte{"manifests.yaml": []byte("kind: List\n")}
	cases := map[string]struct {
		repo     string
		password string // with one, the server wants bot:right
		window   time.Duration
		run      func(t *testing.T, s *gitserver.Server, r *Repo)
		want     []string
	}{
		"FetchesWithinTheWindowShareOne": {
			window: time.Hour,
			run: func(t *testing.T, _ *gitserver.Server, r *Repo) {
				for range 3 {
					if err := r.Fetch(ctx); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []string{"fetch success"},
		},
		"PushRejectedThenPublished": {
			run: func(t *testing.T, s *gitserver.Server, r *Repo) {
				first := true
				_, pushed, err := r.Publish(ctx, "env/dev", bot, func(string) (map[string][]byte, string, error) {
					if first {
						// Another writer wins the branch while this one proposes.
						first = false
						s.Commit(t, "config", "env/dev", map[string][]byte{"other": []byte("x")}, "other writer")
					}
					return files, "render", nil
				})
				if err != nil || !pushed {
					t.Fatalf("Publish: pushed %v, %v", pushed, err)
				}
			},
			want: []string{"fetch success", "push rejected", "fetch success", "push success"},
		},
		"Unreachable": {
			repo: "missing",
			run: func(t *testing.T, _ *gitserver.Server, r *Repo) {
				if err := r.Fetch(ctx); err == nil {
					t.Fatal("Fetch of a missing repository succeeded")
				}
			},
			want: []string{"fetch unreachable"},
		},
		"AuthRefused": {
			password: "wrong",
			run: func(t *testing.T, _ *gitserver.Server, r *Repo) {
				if err := r.Fetch(ctx); err == nil {
					t.Fatal("Fetch with wrong credentials succeeded")
				}
			},
			want: []string{"fetch auth"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var opts []gitserver.Option
			var auth Auth
			if tc.password != "" {
				opts = append(opts, gitserver.WithBasicAuth("bot", "right"))
				auth = Auth{Username: "bot", Password: tc.password}
			}
			s := gitserver.New(t, opts...)
			s.CreateRepo(t, "config", gitserver.KustomizeTree())
			repo := tc.repo
			if repo == "" {
				repo = "config"
			}
			var seen requests
			r := open(t, newCache(t, WithRequestObserver(seen.observe), WithFetchWindow(tc.window)), s.URL(repo), auth)
			tc.run(t, s, r)
			if diff := cmp.Diff(tc.want, seen.got()); diff != "" {
				t.Errorf("requests: -want, +got:\n%s", diff)
			}
		})
	}
}

// A fetch that sends no request (its clone was evicted) is no request to
// tell of.
func TestRequestObserverIsNotToldOfAFetchNeverSent(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	s.CreateRepo(t, "a", gitserver.KustomizeTree())
	s.CreateRepo(t, "b", gitserver.KustomizeTree())
	var seen requests
	c := newCache(t, WithRequestObserver(seen.observe))
	a := open(t, c, s.URL("a"), Auth{})
	if err := a.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	_, one := c.Usage()
	c.mu.Lock()
	c.maxBytes = one + one/2 // room for one clone
	c.mu.Unlock()
	a.Release()
	b := open(t, c, s.URL("b"), Auth{})
	if err := b.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Fetch(ctx); !errors.Is(err, errEvicted) {
		t.Fatalf("Fetch of an evicted clone: %v, want errEvicted", err)
	}
	if diff := cmp.Diff([]string{"fetch success", "fetch success"}, seen.got()); diff != "" {
		t.Errorf("requests: -want, +got:\n%s", diff)
	}
}
