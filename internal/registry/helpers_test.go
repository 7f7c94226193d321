package registry

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-process registry on 127.0.0.1,
// behind an optional wrapper (auth, rate limits).
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu   sync.Mutex
	wrap func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

func newTestRegistry(tb testing.TB) *testRegistry {
	tb.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	tr := &testRegistry{}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		wrap := tr.wrap
		tr.mu.Unlock()
		if wrap != nil {
			wrap(w, r, reg)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	tb.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

func (tr *testRegistry) setWrap(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.wrap = f
}

func (tr *testRegistry) repo(path string) string { return tr.host + "/" + path }

// image returns a small random image with a created time and platform.
func testImage(tb testing.TB, created time.Time, os, arch string) v1.Image {
	tb.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		tb.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	cf.Created = v1.Time{Time: created}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// push writes an image under each tag and returns its digest.
func push(tb testing.TB, repo string, img v1.Image, tags ...string) string {
	tb.Helper()
	d, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	for i, t := range tags {
		ref, err := name.NewTag(repo + ":" + t)
		if err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			err = remote.Write(ref, img)
		} else {
			err = remote.Tag(ref, img)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return d.String()
}

// pushIndex writes a multi-arch index of one image per platform, plus an
// attestation-like unknown/unknown entry, and returns its digest.
func pushIndex(tb testing.TB, repo, tag string, created time.Time, platforms ...string) string {
	tb.Helper()
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, p := range platforms {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			tb.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        testImage(tb, created, pl.OS, pl.Architecture),
			Descriptor: v1.Descriptor{Platform: pl},
		})
	}
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
		Add:        testImage(tb, created, "unknown", "unknown"),
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}},
	})
	ref, err := name.NewTag(repo + ":" + tag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		tb.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d.String()
}

// counter is an http.RoundTripper that counts registry requests by kind.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
	all  atomic.Int64
}

func newCounter() *counter {
	return &counter{next: http.DefaultTransport, n: map[string]int{}}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	k := r.Method + " "
	switch p := r.URL.Path; {
	case p == "/v2/" || p == "/v2":
		k += "ping"
	case strings.HasSuffix(p, "/tags/list"):
		k += "tags"
	case strings.Contains(p, "/manifests/"):
		k += "manifest"
	case strings.Contains(p, "/blobs/"):
		k += "blob"
	default:
		k += "other"
	}
	c.mu.Lock()
	c.n[k]++
	c.mu.Unlock()
	c.all.Add(1)
	return c.next.RoundTrip(r)
}

// take returns the counts since the last take.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	c.all.Store(0)
	return n
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func parseRepo(s string) (name.Repository, error) { return name.NewRepository(s) }
