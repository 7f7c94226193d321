package registry

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requests records what a RequestObserver is told, as "<operation> <result>".
type requests struct {
	mu   sync.Mutex
	seen []string
}

func (r *requests) observe(op, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, op+" "+result)
}

func (r *requests) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

// The observer is told of every HTTP request a poll sends, token service
// included, each by what it was for and how it ended in a word; never by
// its host or path.
func TestRequestObserverIsToldOfEveryRequest(t *testing.T) {
	// The test registry listens on 127.0.0.1 in plain http: each poll's
	// first ping tries https there first and fails ("ping error"), as it
	// would at any registry reached over http.
	cases := map[string]struct {
		// wrap stands between the client and the registry; nil: none.
		wrap func(host string) func(w http.ResponseWriter, r *http.Request, next http.Handler)
		want []string
	}{
		"Anonymous": {
			want: []string{"ping error", "ping success", "tags success", "manifest success"},
		},
		"TokenService": {
			// A registry that wants a bearer token from its token service,
			// at a path outside /v2/, and grants one to anyone.
			wrap: func(host string) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					switch {
					case r.URL.Path == "/token":
						w.Header().Set("Content-Type", "application/json")
						fmt.Fprint(w, `{"token":"t0k3n"}`)
					case r.Header.Get("Authorization") != "Bearer t0k3n":
						w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, host))
						w.WriteHeader(http.StatusUnauthorized)
					default:
						next.ServeHTTP(w, r)
					}
				}
			},
			want: []string{"ping error", "ping unauthorized", "token success", "tags success", "manifest success"},
		},
		"RateLimited": {
			wrap: func(string) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					if strings.HasSuffix(r.URL.Path, "/tags/list") {
						w.Header().Set("Retry-After", "30")
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					next.ServeHTTP(w, r)
				}
			},
			want: []string{"ping error", "ping success", "tags rate_limited"},
		},
		"NotFound": {
			wrap: func(string) func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					if strings.HasSuffix(r.URL.Path, "/tags/list") {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					next.ServeHTTP(w, r)
				}
			},
			want: []string{"ping error", "ping success", "tags not_found"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reg := newTestRegistry(t)
			repo := reg.repo("acme/app")
			push(t, repo, testImage(t, t0, "linux", "amd64"), "1.0.0")
			if tc.wrap != nil {
				reg.setWrap(tc.wrap(reg.host))
			}
			var seen requests
			c := NewClient(WithRequestObserver(seen.observe), WithTagsWindow(0))
			_, _ = c.Select(context.Background(), Policy{Repository: repo})
			if diff := cmp.Diff(tc.want, seen.take()); diff != "" {
				t.Errorf("requests: -want, +got:\n%s", diff)
			}
		})
	}
}

func TestRequestOperationAndResultAreBounded(t *testing.T) {
	ops := map[string]string{
		"/v2/":                                    OpPing,
		"/v2":                                     OpPing,
		"/v2/acme/app/tags/list":                  OpTags,
		"/v2/acme/app/manifests/1.0.0":            OpManifest,
		"/v2/acme/app/blobs/sha256:0123":          OpBlob,
		"/v2/_catalog":                            OpOther,
		"/token":                                  OpToken,
		"/oauth2/token/ghp_SeCrEt/../../v2/":      OpToken,
		"/" + strings.Repeat("hostile/", 1000):    OpToken,
		"/v2/" + strings.Repeat("hostile/", 1000): OpOther,
	}
	got := map[string]string{}
	for p := range ops {
		req, err := http.NewRequest(http.MethodGet, "http://registry.example"+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		got[p] = RequestOperation(req)
	}
	if diff := cmp.Diff(ops, got); diff != "" {
		t.Errorf("RequestOperation: -want, +got:\n%s", diff)
	}

	results := map[int]string{
		0: ResultError, 200: ResultSuccess, 206: ResultSuccess, 307: ResultSuccess, 400: ResultError,
		401: ResultUnauthorized, 403: ResultUnauthorized, 404: ResultNotFound, 429: ResultRateLimited,
		500: ResultError, 503: ResultRateLimited, 999: ResultError, -1: ResultError,
	}
	gotResults := map[int]string{}
	for code := range results {
		gotResults[code] = RequestResult(code)
	}
	if diff := cmp.Diff(results, gotResults); diff != "" {
		t.Errorf("RequestResult: -want, +got:\n%s", diff)
	}
}
