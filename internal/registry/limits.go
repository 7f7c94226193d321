package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Bounds on what a Client reads from a registry. A registry is tenant
// input: its answers may be hostile (endless pagination, a 1 GB "config").
const (
	// MaxResponseBytes bounds every response body a Client reads: a tags
	// page, a manifest or index, an image config, a token. The OCI
	// distribution spec has registries accept manifests of at least 4 MiB.
	MaxResponseBytes = 4 << 20
	// MaxTags bounds the tags of one repository a Client lists.
	MaxTags = 50_000
	// MaxTagPages bounds the pages of one tags listing.
	MaxTagPages = 1000
	// MaxTagListBytes bounds the bytes of all pages of one tags listing.
	MaxTagListBytes = 16 << 20
	// tagPageSize is how many tags a Client asks for per page.
	tagPageSize = 1000
)

// A TooLargeError says a registry's answer exceeded one of the bounds a
// Client sets on what it reads. Nothing of the answer beyond the bound was
// read or kept.
type TooLargeError struct {
	// Registry is the registry host.
	Registry string
	// What exceeded the bound, e.g. "the tags of ghcr.io/acme/app".
	What string
	// Limit is the bound, and Unit what it counts (bytes, tags, pages).
	Limit int64
	Unit  string
	// Fix says what the user can do.
	Fix string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("registry %s: %s: more than %d %s, the most K8sTA reads; %s", e.Registry, e.What, e.Limit, e.Unit, e.Fix)
}

const (
	fixTooManyTags = "delete old tags, or follow a repository with fewer"
	fixTooLarge    = "K8sTA does not read answers that large: check that the image repository is in an image registry"
)

// readBudget is the bytes a group of requests (one tags listing) may still
// read, shared through the request context.
type readBudget struct {
	mu   sync.Mutex
	left int64
	what string
}

type readBudgetKey struct{}

// withReadBudget returns a context whose requests may read n bytes in all.
func withReadBudget(ctx context.Context, n int64, what string) context.Context {
	return context.WithValue(ctx, readBudgetKey{}, &readBudget{left: n, what: what})
}

// limitBody bounds resp.Body to MaxResponseBytes and to the request's read
// budget, if any; reading past a bound fails with a *TooLargeError.
func limitBody(req *http.Request, resp *http.Response) {
	host := req.URL.Host
	b, _ := req.Context().Value(readBudgetKey{}).(*readBudget)
	lb := &limitedBody{rc: resp.Body, left: MaxResponseBytes, budget: b, err: &TooLargeError{
		Registry: host, What: "the answer to " + req.Method + " " + req.URL.Path, Limit: MaxResponseBytes, Unit: "bytes", Fix: fixTooLarge,
	}}
	if b != nil {
		lb.budgetErr = &TooLargeError{Registry: host, What: b.what, Limit: MaxTagListBytes, Unit: "bytes", Fix: fixTooManyTags}
	}
	if resp.ContentLength > MaxResponseBytes {
		lb.left = -1 // refuse at once: the registry says it will send too much
	}
	resp.Body = lb
}

type limitedBody struct {
	rc        io.ReadCloser
	left      int64
	budget    *readBudget
	err       error
	budgetErr error
}

// Read reads on while within the bounds. Past one, it closes the body at
// once (callers do not always close a body they failed to decode), so that
// the connection, and what the registry still sends, is dropped.
func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		_ = l.rc.Close()
		return 0, l.err
	}
	// Read one byte more than allowed, to tell "exactly the limit" from
	// "over it".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	if int64(n) > l.left {
		l.left = -1
		_ = l.rc.Close()
		return 0, l.err
	}
	l.left -= int64(n)
	if l.budget != nil && n > 0 {
		l.budget.mu.Lock()
		l.budget.left -= int64(n)
		over := l.budget.left < 0
		l.budget.mu.Unlock()
		if over {
			l.left = -1
			l.err = l.budgetErr
			_ = l.rc.Close()
			return 0, l.err
		}
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }
