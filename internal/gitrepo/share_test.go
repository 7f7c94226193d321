package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// holder holds the first request a git server receives that matches, until
// the test releases it: what a fetch or push sees, and who waits meanwhile,
// is then up to the test.
type holder struct {
	match   func(*http.Request) bool
	once    sync.Once
	held    chan struct{} // closed when the request is held
	release chan struct{} // closed by let
	let     func()        // releases the request (and any later one); idempotent
}

func newHolder(t testing.TB, match func(*http.Request) bool) *holder {
	h := &holder{match: match, held: make(chan struct{}), release: make(chan struct{})}
	h.let = sync.OnceFunc(func() { close(h.release) })
	t.Cleanup(h.let) // never leave the server stuck
	return h
}

func (h *holder) hook(r *http.Request) {
	if !h.match(r) {
		return
	}
	first := false
	h.once.Do(func() { first = true })
	if !first {
		return
	}
	close(h.held)
	<-h.release
}

func (h *holder) awaitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-time.After(time.Minute):
		t.Fatal("the request to hold never came")
	}
}

// advertisement matches the ref advertisement that starts every fetch
// (service git-upload-pack) or push (git-receive-pack).
func advertisement(service string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == service
	}
}

// packRequest matches the request that asks for a pack (fetch) or sends
// one (push), after the ref advertisement was answered.
func packRequest(service string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/"+service)
	}
}

// countWaiters counts the callers that wait for a shared fetch of r.
func countWaiters(r *Repo) <-chan struct{} {
	w := make(chan struct{}, 1024)
	r.fetches.OnWait = func() { w <- struct{}{} }
	return w
}

func awaitN(t *testing.T, w <-chan struct{}, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case <-w:
		case <-time.After(time.Minute):
			t.Fatalf("%s: %d of %d arrived", what, i, n)
		}
	}
}

func fetchAsync(ctx context.Context, fetch func(context.Context) error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fetch(ctx) }()
	return ch
}

func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatal("a fetch never returned")
		return nil
	}
}

// TestConcurrentReadersShareOneFetch: N readers that want a fresh view of
// one clone at the same time cost one upload-pack, and all see its result.
// The first fetch is held at the server until every reader waits for it.
func TestConcurrentReadersShareOneFetch(t *testing.T) {
	const readers = 20
	h := newHolder(t, advertisement(gitserver.UploadPack))
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	// A long window: sharing must not depend on how fast the readers run.
	r := open(t, newCache(t, WithFetchWindow(time.Hour)), s.URL("config"), Auth{})
	waiting := countWaiters(r)

	var results []<-chan error
	for range readers {
		results = append(results, fetchAsync(context.Background(), r.Fetch))
	}
	h.awaitHeld(t)
	awaitN(t, waiting, readers, "readers waiting for the held fetch")
	h.let()
	for _, ch := range results {
		if err := result(t, ch); err != nil {
			t.Errorf("Fetch: %v", err)
		}
	}
	got := s.Sessions("config", gitserver.UploadPack)
	t.Logf("MEASURED: %d concurrent readers of one clone: %d upload-pack", readers, got)
	if got != 1 {
		t.Errorf("upload-packs for %d concurrent readers: want 1, got %d", readers, got)
	}
	if !r.HasCommit(c0) {
		t.Errorf("HasCommit(%s) after the shared fetch: false", c0)
	}
}

// TestFetchSinceGetsANewerFetch: a reader that needs a view newer than the
// start of the fetch in flight (a webhook announced a push after it began)
// is not handed that fetch's view: it gets a second fetch, and sees the new
// commit. The first fetch is held after its refs were advertised, before the
// push.
func TestFetchSinceGetsANewerFetch(t *testing.T) {
	h := newHolder(t, packRequest(gitserver.UploadPack))
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := open(t, newCache(t, WithFetchWindow(time.Hour)), s.URL("config"), Auth{})
	waiting := countWaiters(r)

	first := fetchAsync(context.Background(), r.Fetch)
	h.awaitHeld(t) // its refs say main is at c0
	c1 := s.Commit(t, "config", "main", map[string][]byte{"base/configmap.yaml": []byte("x: y\n")}, "Pushed while the fetch ran")
	webhook := time.Now()
	sharer := fetchAsync(context.Background(), r.Fetch) // any view will do
	newer := fetchAsync(context.Background(), func(ctx context.Context) error { return r.FetchSince(ctx, webhook) })
	awaitN(t, waiting, 3, "readers")
	h.let()
	for name, ch := range map[string]<-chan error{"first": first, "sharer": sharer, "newer": newer} {
		if err := result(t, ch); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if head, _, _ := r.Head("main"); head != c1 {
		t.Errorf("Head(main) after FetchSince(push time): want the pushed %s, got %s (first fetch saw %s)", c1, head, c0)
	}
	if got := s.Sessions("config", gitserver.UploadPack); got != 2 {
		t.Errorf("upload-packs: want 2 (the held one, shared, and one after the push), got %d", got)
	}
}

// TestFetchErrorSharedNotCached: a fetch's error goes to every reader of
// that fetch, and only to them: the next reader fetches again.
func TestFetchErrorSharedNotCached(t *testing.T) {
	h := newHolder(t, advertisement(gitserver.UploadPack))
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := open(t, newCache(t, WithFetchWindow(time.Hour)), s.URL("config"), Auth{})
	waiting := countWaiters(r)

	a := fetchAsync(context.Background(), r.Fetch)
	b := fetchAsync(context.Background(), r.Fetch)
	h.awaitHeld(t)
	awaitN(t, waiting, 2, "readers")
	// The repository is gone when the held request is answered.
	away := s.Path("config") + ".away"
	if err := os.Rename(s.Path("config"), away); err != nil {
		t.Fatal(err)
	}
	h.let()
	errA, errB := result(t, a), result(t, b)
	if !errors.Is(errA, ErrUnreachable) || errString(errA) != errString(errB) {
		t.Errorf("readers of the failed fetch: want the same %v, got %v and %v", ErrUnreachable, errA, errB)
	}
	if err := os.Rename(away, s.Path("config")); err != nil {
		t.Fatal(err)
	}
	if err := r.Fetch(context.Background()); err != nil {
		t.Errorf("Fetch after the failed one: %v", err)
	}
	if got := s.Sessions("config", gitserver.UploadPack); got != 2 || !r.HasCommit(c0) {
		t.Errorf("after a failed fetch: want a second upload-pack that brings %s, got %d upload-packs, HasCommit %v", c0, got, r.HasCommit(c0))
	}
}

// TestFetchCancelledReaderCancelsNobodyElse: the reader that started a
// fetch gives up; it returns at once, and the fetch goes on for the reader
// that shares it.
func TestFetchCancelledReaderCancelsNobodyElse(t *testing.T) {
	h := newHolder(t, advertisement(gitserver.UploadPack))
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := open(t, newCache(t, WithFetchWindow(time.Hour)), s.URL("config"), Auth{})
	waiting := countWaiters(r)

	ctx, cancel := context.WithCancel(context.Background())
	starter := fetchAsync(ctx, r.Fetch)
	h.awaitHeld(t)
	other := fetchAsync(context.Background(), r.Fetch)
	awaitN(t, waiting, 2, "readers")
	cancel()
	if err := result(t, starter); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled reader: want %v, got %v", context.Canceled, err)
	}
	h.let()
	if err := result(t, other); err != nil {
		t.Errorf("other reader: %v", err)
	}
	if got := s.Sessions("config", gitserver.UploadPack); got != 1 || !r.HasCommit(c0) {
		t.Errorf("want the one fetch to complete for the other reader: %d upload-packs, HasCommit %v", got, r.HasCommit(c0))
	}
}

// TestFetchWindow: a fetch that started within the window serves the next
// readers without a request; one that started before it does not.
func TestFetchWindow(t *testing.T) {
	s := gitserver.New(t)
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	for name, tc := range map[string]struct {
		window time.Duration
		want   int64
	}{
		"Within": {window: time.Hour, want: 1},
		"Zero":   {window: 0, want: 3},
	} {
		t.Run(name, func(t *testing.T) {
			r := open(t, newCache(t, WithFetchWindow(tc.window)), s.URL("config"), Auth{})
			before := s.Sessions("config", gitserver.UploadPack)
			for range 3 {
				if err := r.Fetch(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Sessions("config", gitserver.UploadPack) - before; got != tc.want {
				t.Errorf("upload-packs for 3 Fetches one after the other: want %d, got %d", tc.want, got)
			}
		})
	}
	if _, err := NewCache(t.TempDir(), WithFetchWindow(-time.Second)); err == nil {
		t.Error("NewCache with a negative fetch window: no error")
	}
}

// TestPublishToBranchesInParallel: while one push is on the network, a push
// to another branch of the same clone, and reads of the clone, go ahead.
// The first push is held at the server as it sends its pack.
func TestPublishToBranchesInParallel(t *testing.T) {
	h := newHolder(t, packRequest(gitserver.ReceivePack))
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	c0 := s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := newRepo(t, s.URL("config"), Auth{})
	if err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish := func(branch string) <-chan error {
		return fetchAsync(context.Background(), func(ctx context.Context) error {
			_, _, err := r.Publish(ctx, branch, bot, func(string) (map[string][]byte, string, error) {
				return map[string][]byte{"manifests.yaml": []byte("branch: " + branch + "\n")}, "render " + branch, nil
			})
			return err
		})
	}
	dev := publish("env/dev")
	h.awaitHeld(t) // env/dev's pack is on its way
	if err := result(t, publish("env/prod")); err != nil {
		t.Fatalf("Publish to env/prod while env/dev's push is held: %v", err)
	}
	if !r.HasCommit(c0) {
		t.Errorf("HasCommit(%s) while a push is held: false", c0)
	}
	h.let()
	if err := result(t, dev); err != nil {
		t.Fatalf("Publish to env/dev: %v", err)
	}
	for _, b := range []string{"env/dev", "env/prod"} {
		want := map[string][]byte{"manifests.yaml": []byte("branch: " + b + "\n")}
		if diff := cmp.Diff(want, s.Files(t, "config", b)); diff != "" {
			t.Errorf("%s: -want +got:\n%s", b, diff)
		}
	}
}

// TestPublishStaleView: Publish proposes on the head the clone knows, with
// no fetch; when another writer moved the branch since, the push is refused
// and Publish fetches and proposes again on top of the other writer's
// commit. A branch only this writer writes costs no fetch at all.
func TestPublishStaleView(t *testing.T) {
	ctx := context.Background()
	s := gitserver.New(t)
	s.CreateRepo(t, "config", gitserver.KustomizeTree())
	r := newRepo(t, s.URL("config"), Auth{})
	var seen []string
	render := func(n int) Proposal {
		return func(head string) (map[string][]byte, string, error) {
			seen = append(seen, head)
			return map[string][]byte{"manifests.yaml": []byte(fmt.Sprintf("n: %d\n", n))}, fmt.Sprintf("render %d", n), nil
		}
	}
	sessions := func() [2]int64 {
		return [2]int64{s.Sessions("config", gitserver.UploadPack), s.Sessions("config", gitserver.ReceivePack)}
	}

	first, _, err := r.Publish(ctx, "env/dev", bot, render(1))
	if err != nil {
		t.Fatal(err)
	}
	before := sessions()
	second, _, err := r.Publish(ctx, "env/dev", bot, render(2))
	if err != nil {
		t.Fatal(err)
	}
	if d := [2]int64{sessions()[0] - before[0], sessions()[1] - before[1]}; d != [2]int64{0, 1} {
		t.Errorf("Publish on a branch only this writer writes: want 0 upload-packs and 1 receive-pack, got %v", d)
	}

	human := s.Commit(t, "config", "env/dev", map[string][]byte{"hotfix.yaml": []byte("x: 1\n")}, "hotfix")
	seen = nil
	before = sessions()
	third, pushed, err := r.Publish(ctx, "env/dev", bot, render(3))
	if err != nil || !pushed {
		t.Fatalf("Publish over a stale view: pushed %v, %v", pushed, err)
	}
	if diff := cmp.Diff([]string{second, human}, seen); diff != "" {
		t.Errorf("heads proposed on: -want +got:\n%s", diff)
	}
	if d := [2]int64{sessions()[0] - before[0], sessions()[1] - before[1]}; d != [2]int64{1, 2} {
		t.Errorf("Publish over a stale view: want 1 upload-pack and 2 receive-packs (refused, then pushed), got %v", d)
	}
	if diff := cmp.Diff([]string{"render 3", "hotfix", "render 2", "render 1"}, s.Log(t, "config", "env/dev")); diff != "" {
		t.Errorf("log: -want +got:\n%s", diff)
	}
	if head := s.Head(t, "config", "env/dev"); head != third || first == "" {
		t.Errorf("branch at %s, Publish returned %s", head, third)
	}
}

// TestSharedFetchHoldsItsClone: every caller of a fetch gives up and
// releases the clone while the fetch runs at the server. The fetch holds the
// clone itself: another fetch that needs room neither evicts it nor waits
// for it; once the fetch ends, the clone can be evicted.
func TestSharedFetchHoldsItsClone(t *testing.T) {
	var armed atomic.Bool
	h := newHolder(t, func(r *http.Request) bool {
		return armed.Load() && strings.Contains(r.URL.Path, "/a") && advertisement(gitserver.UploadPack)(r)
	})
	s := gitserver.New(t, gitserver.WithRequestHook(h.hook))
	for _, name := range []string{"a", "b"} {
		s.CreateRepo(t, name, map[string][]byte{"blob.bin": randomBytes(t, 64<<10)})
	}
	c := newCache(t)
	repo := func(name string) *Repo {
		t.Helper()
		u, err := c.Policy().Parse(s.URL(name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Repo(u, Auth{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	exists := func(r *Repo) bool {
		_, err := os.Stat(r.dir)
		return err == nil
	}
	type state struct {
		A, B   bool // the clone is still on disk
		Clones int
	}

	a := repo("a")
	if err := a.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, one := c.Usage()
	c.mu.Lock()
	c.maxBytes = one + one/2 // room for one clone and a half
	c.mu.Unlock()

	armed.Store(true)
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := fetchAsync(ctx, a.Fetch)
	h.awaitHeld(t)
	cancel()
	if err := result(t, gaveUp); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: want %v, got %v", context.Canceled, err)
	}
	a.Release() // nobody holds a but its fetch

	b := repo("b")
	defer b.Release()
	if err := result(t, fetchAsync(context.Background(), b.Fetch)); err != nil {
		t.Fatalf("Fetch b: %v", err)
	}
	clones, _ := c.Usage()
	if diff := cmp.Diff(state{A: true, B: true, Clones: 2}, state{A: exists(a), B: exists(b), Clones: clones}); diff != "" {
		t.Errorf("while a's fetch runs: -want +got:\n%s", diff)
	}

	h.let()
	// Joins a's fetch if it still runs, so that it has ended after.
	if _, err := a.fetches.Do(context.Background(), started, func(context.Context) (struct{}, error) { return struct{}{}, nil }); err != nil {
		t.Fatal(err)
	}
	clones, _ = c.Usage()
	if diff := cmp.Diff(state{A: false, B: true, Clones: 1}, state{A: exists(a), B: exists(b), Clones: clones}); diff != "" {
		t.Errorf("after a's fetch ended: -want +got:\n%s", diff)
	}
}
