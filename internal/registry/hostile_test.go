package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// hostileRegistry is an HTTP server on 127.0.0.1 that answers like a
// registry, then lies: endless pages, huge lists, huge bodies. It counts
// the bytes it manages to send and the blob requests it gets.
type hostileRegistry struct {
	srv   *httptest.Server
	host  string
	sent  atomic.Int64
	blobs atomic.Int64
}

// newHostileRegistry serves tags and manifests with the given handlers
// (nil: a well-formed answer) and everything else as a registry would.
func newHostileRegistry(t *testing.T, tags, manifest, blob http.HandlerFunc) *hostileRegistry {
	t.Helper()
	h := &hostileRegistry{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, n: &h.sent}
		switch p := r.URL.Path; {
		case p == "/v2/" || p == "/v2":
			cw.WriteHeader(http.StatusOK)
		case strings.HasSuffix(p, "/tags/list") && tags != nil:
			tags(cw, r)
		case strings.HasSuffix(p, "/tags/list"):
			fmt.Fprint(cw, `{"name":"acme/app","tags":["1.0.0"]}`)
		case strings.Contains(p, "/manifests/") && manifest != nil:
			manifest(cw, r)
		case strings.Contains(p, "/blobs/"):
			h.blobs.Add(1)
			if blob != nil {
				blob(cw, r)
				return
			}
			http.NotFound(cw, r)
		default:
			http.NotFound(cw, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	h.host = strings.TrimPrefix(h.srv.URL, "http://")
	return h
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// endless writes chunk until the client goes away or limit bytes are sent.
func endless(w http.ResponseWriter, chunk []byte, limit int64) {
	for sent := int64(0); sent < limit; sent += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// serveManifest serves an image manifest whose config claims configSize.
func serveManifest(configSize int64) http.HandlerFunc {
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"sha256:%064x"},"layers":[]}`, configSize, 1)
	sum := sha256.Sum256([]byte(m))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
		w.Header().Set("Content-Length", fmt.Sprint(len(m)))
		if r.Method == http.MethodHead {
			return
		}
		fmt.Fprint(w, m)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A registry's answers are read only up to fixed bounds: endless
// pagination, a huge tag list, a huge page, a huge manifest and an image
// config that claims (or streams) a gigabyte are each refused with a
// *TooLargeError that says what to do, after reading a bounded number of
// bytes.
func TestHostileRegistryAnswersAreBounded(t *testing.T) {
	const gib = 1 << 30
	var next atomic.Int64
	// The hostile answers are built once, so that what is measured is the
	// client's allocation (and the server's per-request overhead).
	padding := []byte(strings.Repeat(" ", 3<<20) + "}")
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	var hugeList bytes.Buffer
	hugeList.WriteString(`{"name":"acme/app","tags":["0"`)
	for i := 1; i < 2*MaxTags; i++ {
		fmt.Fprintf(&hugeList, `,"%d"`, i)
	}
	hugeList.WriteString(`]}`)
	cases := map[string]struct {
		tags, manifest, blob http.HandlerFunc
		strategy             Strategy
		wantUnit             string
		wantNoBlob           bool
	}{
		"EndlessPagination": {
			tags: func(w http.ResponseWriter, r *http.Request) {
				n := next.Add(1)
				w.Header().Set("Link", fmt.Sprintf(`</v2/acme/app/tags/list?last=%d>; rel="next"`, n))
				fmt.Fprintf(w, `{"name":"acme/app","tags":["t%d"]}`, n)
			},
			wantUnit: "pages",
		},
		"HugeTagList": {
			tags:     func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(hugeList.Bytes()) },
			wantUnit: "tags",
		},
		"EndlessPagesOfPadding": {
			tags: func(w http.ResponseWriter, r *http.Request) {
				n := next.Add(1)
				w.Header().Set("Link", fmt.Sprintf(`</v2/acme/app/tags/list?last=%d>; rel="next"`, n))
				fmt.Fprintf(w, `{"name":"acme/app","tags":["t%d"]`, n)
				_, _ = w.Write(padding)
			},
			wantUnit: "bytes",
		},
		"GigabyteTagPage": {
			tags: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"name":"acme/app","tags":["`)
				endless(w, chunk, gib)
			},
			wantUnit: "bytes",
		},
		"GigabyteManifest": {
			manifest: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				fmt.Fprint(w, `{"schemaVersion":2,"annotations":{"a":"`)
				endless(w, chunk, gib)
			},
			strategy: NewestBuild,
			wantUnit: "bytes",
		},
		"GigabyteConfigClaimed": {
			manifest:   serveManifest(gib),
			blob:       func(w http.ResponseWriter, r *http.Request) { endless(w, chunk, gib) },
			strategy:   NewestBuild,
			wantUnit:   "bytes",
			wantNoBlob: true,
		},
		"GigabyteConfigStreamed": {
			manifest: serveManifest(MaxResponseBytes),
			blob:     func(w http.ResponseWriter, r *http.Request) { endless(w, chunk, gib) },
			strategy: NewestBuild,
			// The config is read up to its claimed size, then fails its
			// digest: nothing past the bound is read.
		},
		"GigabyteContentLength": {
			manifest: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", fmt.Sprint(gib))
				endless(w, chunk, gib)
			},
			strategy: NewestBuild,
			wantUnit: "bytes",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHostileRegistry(t, tc.tags, tc.manifest, tc.blob)
			c := NewClient()
			var err error
			alloc := allocated(func() {
				_, err = c.Select(context.Background(), Policy{Repository: h.host + "/acme/app", Strategy: tc.strategy, Constraint: ""})
			})
			t.Logf("MEASURED: %s: %d MiB allocated in all during Select (client and test server), %d MiB sent by the registry before the refusal: %v", name, alloc>>20, h.sent.Load()>>20, err)
			if err == nil {
				t.Fatal("Select(...): got no error, want a refusal")
			}
			var tl *TooLargeError
			switch {
			case tc.wantUnit == "":
				// Refused by go-containerregistry's own size check.
			case !errors.As(err, &tl):
				t.Errorf("Select(...): got %v, want a *TooLargeError", err)
			case tl.Unit != tc.wantUnit || tl.Registry != h.host || tl.Fix == "":
				t.Errorf("Select(...): got %+v, want a bound in %s, naming the registry and the fix", tl, tc.wantUnit)
			}
			if alloc > 64<<20 {
				t.Errorf("Select(...) allocated %d MiB, want under 64 MiB", alloc>>20)
			}
			if tc.wantNoBlob && h.blobs.Load() != 0 {
				t.Errorf("Select(...) fetched the config blob %d times, want 0: its size was refused on the manifest's word", h.blobs.Load())
			}
		})
	}
}

// A repository with many tags, within the bounds, is listed in full across
// pages.
func TestTagPaginationWithinBounds(t *testing.T) {
	const pages, perPage = 30, tagPageSize
	h := newHostileRegistry(t, func(w http.ResponseWriter, r *http.Request) {
		page := 0
		if l := r.URL.Query().Get("last"); l != "" {
			_, _ = fmt.Sscan(l, &page)
		}
		if page+1 < pages {
			w.Header().Set("Link", fmt.Sprintf(`</v2/acme/app/tags/list?last=%d>; rel="next"`, page+1))
		}
		tags := make([]string, perPage)
		for i := range tags {
			tags[i] = fmt.Sprintf(`"1.%d.%d"`, page, i)
		}
		fmt.Fprintf(w, `{"name":"acme/app","tags":[%s]}`, strings.Join(tags, ","))
	}, serveManifest(100), nil)
	got, err := NewClient().Select(context.Background(), Policy{Repository: h.host + "/acme/app", Strategy: SemVer})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("1.%d.%d", pages-1, perPage-1); got.Tag != want {
		t.Errorf("Select(...): got %s, want %s, the highest tag of the last page", got.Tag, want)
	}
}
