package registry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/internal/coalesce"
)

// tagLists counts the tags-list requests a test registry answers, and can
// hold the first one until the test lets it go.
type tagLists struct {
	n       atomic.Int64
	hold    bool
	once    sync.Once
	held    chan struct{}
	release chan struct{}
	let     func()
}

func countTagLists(t *testing.T, reg *testRegistry, hold bool) *tagLists {
	tl := &tagLists{hold: hold, held: make(chan struct{}), release: make(chan struct{})}
	tl.let = sync.OnceFunc(func() { close(tl.release) })
	t.Cleanup(tl.let)
	reg.setWrap(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			tl.n.Add(1)
			first := false
			tl.once.Do(func() { first = true })
			if first && tl.hold {
				close(tl.held)
				<-tl.release
			}
		}
		next.ServeHTTP(w, r)
	})
	return tl
}

// pollsWaiting counts the polls that wait for a shared tags list. Call it
// before c's first poll.
func pollsWaiting(c *Client) <-chan struct{} {
	w := make(chan struct{}, 1024)
	c.onTagList = func(f *coalesce.Flight[[]string]) { f.OnWait = func() { w <- struct{}{} } }
	return w
}

func await(t *testing.T, ch <-chan struct{}, n int, what string) {
	t.Helper()
	for i := range n {
		select {
		case <-ch:
		case <-time.After(time.Minute):
			t.Fatalf("%s: %d of %d", what, i, n)
		}
	}
}

type polled struct {
	Tag string
	Err string
}

func selectAsync(c *Client, p Policy, notBefore time.Time) <-chan polled {
	ch := make(chan polled, 1)
	go func() {
		s, err := c.SelectSince(context.Background(), p, notBefore)
		o := polled{Tag: s.Tag}
		if err != nil {
			o.Err = err.Error()
		}
		ch <- o
	}()
	return ch
}

func results(t *testing.T, chs ...<-chan polled) []polled {
	t.Helper()
	var out []polled
	for _, ch := range chs {
		select {
		case o := <-ch:
			out = append(out, o)
		case <-time.After(time.Minute):
			t.Fatal("a poll never returned")
		}
	}
	return out
}

// TestConcurrentPollsShareOneTagsList: N polls of one repository, with one
// Client (one set of credentials), at the same time cost one tags-list
// request. The first is held at the registry until all N wait for it. A
// poll that needs a list newer than the one in flight (a webhook announced
// a tag pushed after it started) gets a second one, and sees the new tag.
func TestConcurrentPollsShareOneTagsList(t *testing.T) {
	const polls = 20
	reg := newTestRegistry(t)
	repo := reg.repo("acme/app")
	push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
	lists := countTagLists(t, reg, true)
	// A long window: sharing must not depend on how fast the polls run.
	c := NewClient(WithTagsWindow(time.Hour))
	waiting := pollsWaiting(c)
	p := Policy{Repository: repo, Strategy: SemVer}

	var chs []<-chan polled
	for range polls {
		chs = append(chs, selectAsync(c, p, time.Time{}))
	}
	select {
	case <-lists.held:
	case <-time.After(time.Minute):
		t.Fatal("no tags-list request")
	}
	await(t, waiting, polls, "polls waiting for the held tags list")
	// Pushed while the list is held: the held list may or may not show it,
	// but a poll told of it must.
	push(t, repo, testImage(t, t0, "linux", "amd64"), "1.1.0")
	webhook := time.Now()
	newer := selectAsync(c, p, webhook)
	await(t, waiting, 1, "the poll told of 1.1.0")
	lists.let()

	got := results(t, chs...)
	for i, o := range got {
		if o.Err != "" || (o.Tag != "1.0.0" && o.Tag != "1.1.0") {
			t.Errorf("poll %d: got %+v", i, o)
		}
	}
	if diff := cmp.Diff([]polled{{Tag: "1.1.0"}}, results(t, newer)); diff != "" {
		t.Errorf("poll told of 1.1.0: -want +got:\n%s", diff)
	}
	t.Logf("MEASURED: %d concurrent polls of one repository: %d tags-list requests, then 1 more for a poll that needs a newer list", polls, lists.n.Load()-1)
	if n := lists.n.Load(); n != 2 {
		t.Errorf("tags-list requests: want 2 (one shared by %d polls, one for the poll that needs a newer list), got %d", polls, n)
	}
}

// TestCredentialsDoNotShareTagsLists: two Clients, each of one set of
// credentials, never share a tags list, at the same time or after: an answer
// fetched with one tenant's credentials never serves another's poll.
func TestCredentialsDoNotShareTagsLists(t *testing.T) {
	reg := newTestRegistry(t)
	repo := reg.repo("acme/app")
	push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
	lists := countTagLists(t, reg, false)
	client := func(user string) *Client {
		kc, err := NewKeychain([]byte(`{"auths":{"` + reg.host + `":{"username":"` + user + `","password":"pw-` + user + `"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		return NewClient(WithKeychain(kc), WithTagsWindow(time.Hour))
	}
	alice, bob := client("alice"), client("bob")
	p := Policy{Repository: repo, Strategy: SemVer}
	for _, c := range []*Client{alice, bob, alice, bob} {
		if _, err := c.Select(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if n := lists.n.Load(); n != 2 {
		t.Errorf("tags-list requests for two credentials, polled twice each within the window: want 2 (one each), got %d", n)
	}
}

// expiries is a fake time.AfterFunc for the tags-list Flights of a Client:
// the test fires them itself, as if the window had passed.
type expiries struct {
	mu  sync.Mutex
	fns []func()
}

func (e *expiries) install(c *Client) {
	c.onTagList = func(f *coalesce.Flight[[]string]) {
		f.AfterFunc = func(_ time.Duration, fn func()) func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.fns = append(e.fns, fn)
			return func() bool { return true }
		}
	}
}

func (e *expiries) fire() {
	e.mu.Lock()
	fns := e.fns
	e.fns = nil
	e.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// TestTagsListKeptForTheWindowOnly: a tags list is kept for the tags window,
// not for the life of the process: once the window has passed, the list
// and the repository's tags-list state are gone, and the next poll lists
// the tags again. With no window, nothing is kept even between two polls.
func TestTagsListKeptForTheWindowOnly(t *testing.T) {
	type state struct {
		Lists int // tags-list requests the registry answered
		Kept  int // repositories whose tags-list state the Client holds
	}
	cases := map[string]struct {
		window  time.Duration
		passed  bool // the window passes between the two polls
		between state
		after   state
	}{
		"WithinTheWindow": {
			window:  time.Hour,
			between: state{Lists: 1, Kept: 1},
			after:   state{Lists: 1, Kept: 1},
		},
		"AfterTheWindow": {
			window:  time.Hour,
			passed:  true,
			between: state{Lists: 1, Kept: 0},
			after:   state{Lists: 2, Kept: 1},
		},
		"NoWindow": {
			window:  0,
			between: state{Lists: 1, Kept: 0},
			after:   state{Lists: 2, Kept: 0},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reg := newTestRegistry(t)
			repo := reg.repo("acme/app")
			push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
			lists := countTagLists(t, reg, false)
			c := NewClient(WithTagsWindow(tc.window))
			e := &expiries{}
			e.install(c)
			p := Policy{Repository: repo, Strategy: SemVer}
			now := func() state {
				c.mu.Lock()
				defer c.mu.Unlock()
				return state{Lists: int(lists.n.Load()), Kept: len(c.lists)}
			}

			if _, err := c.Select(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if tc.passed {
				e.fire()
			}
			if diff := cmp.Diff(tc.between, now()); diff != "" {
				t.Errorf("after the first poll: -want +got:\n%s", diff)
			}
			if _, err := c.Select(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.after, now()); diff != "" {
				t.Errorf("after the second poll: -want +got:\n%s", diff)
			}
		})
	}
}
