package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReceiverBoundsBodiesHeldAtOnce: while as many requests as there are
// body slots hold their bodies open (each blocked inside the body read),
// every further request is answered 503 with Retry-After at once, its body
// unread; once a held body ends, its request is answered and its slot
// serves the next request. Signing kinds are read before they are
// authenticated, path-token kinds after. On main, nothing bounded the
// bodies read at once: every request was read.
func TestReceiverBoundsBodiesHeldAtOnce(t *testing.T) {
	const slots, extra = 3, 10
	for _, kind := range []Kind{GitHub, DockerHub} {
		t.Run(string(kind), func(t *testing.T) {
			rec := &recorder{}
			r := NewReceiver(secrets, rec.notify, WithMaxConcurrentBodies(slots))
			taken := make(chan struct{}, slots+extra+2)
			r.testHookBodySlotTaken = func() { taken <- struct{}{} }
			srv := httptest.NewServer(r)
			defer srv.Close()
			g := good[kind]
			valid := request{kind: kind, event: g.event, body: g.body, secret: testKey(kind)}

			// Each held request sends its headers, then blocks the
			// receiver's body read until the test writes the body.
			type answer struct {
				code int
				err  error
			}
			answers := make(chan answer, slots)
			bodies := make([]*io.PipeWriter, slots)
			for i := range bodies {
				pr, pw := io.Pipe()
				bodies[i] = pw
				req, err := http.NewRequest(http.MethodPost, srv.URL+valid.pathOrDefault(), pr)
				must(t, err)
				valid.sign(req)
				go func() {
					resp, err := srv.Client().Do(req)
					if err != nil {
						answers <- answer{err: err}
						return
					}
					_ = resp.Body.Close()
					answers <- answer{code: resp.StatusCode}
				}()
				<-taken
			}

			codes := map[int]int{}
			for range extra {
				code, retryAfter, reply := send(t, srv, valid)
				codes[code]++
				if code == http.StatusServiceUnavailable && (retryAfter != busyRetryAfter || !strings.Contains(reply, "retry later")) {
					t.Errorf("503 with Retry-After %q, %q", retryAfter, reply)
				}
			}
			if diff := cmp.Diff(map[int]int{http.StatusServiceUnavailable: extra}, codes); diff != "" {
				t.Errorf("answers to %d requests while %d bodies are held: -want +got:\n%s", extra, slots, diff)
			}
			if n := len(taken); n != 0 {
				t.Errorf("%d refused requests took a body slot", n)
			}

			// One held body ends: it is answered, and its slot serves the
			// next request. The slot is released as ServeHTTP returns, and
			// net/http sends the short reply only after that.
			_, _ = io.WriteString(bodies[0], g.body)
			must(t, bodies[0].Close())
			if a := <-answers; a.err != nil || a.code != http.StatusOK {
				t.Fatalf("held request: %d, %v; want 200", a.code, a.err)
			}
			if code, _, reply := send(t, srv, valid); code != http.StatusOK {
				t.Errorf("request after a slot is freed: %d %s; want 200", code, reply)
			}
			for _, pw := range bodies[1:] {
				_, _ = io.WriteString(pw, g.body)
				must(t, pw.Close())
				if a := <-answers; a.err != nil || a.code != http.StatusOK {
					t.Errorf("held request: %d, %v; want 200", a.code, a.err)
				}
			}
			if n := len(rec.take()); n != slots+1 {
				t.Errorf("%d events notified, want %d", n, slots+1)
			}
		})
	}
}

// send sends r and returns the status, the Retry-After header and the reply.
func send(t *testing.T, srv *httptest.Server, r request) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+r.pathOrDefault(), strings.NewReader(r.body))
	must(t, err)
	r.sign(req)
	resp, err := srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(reply)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
