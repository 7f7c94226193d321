// Package webhook receives the webhooks of registries and git hosts and
// names the repositories that changed, so that the Subscriptions following
// them poll at once.
//
// Every endpoint is authenticated. Git hosts that sign their deliveries are
// checked with HMAC-SHA256 (GitHub and GHCR X-Hub-Signature-256, Gitea
// X-Gitea-Signature, Bitbucket X-Hub-Signature), GitLab with its
// X-Gitlab-Token header, and the registries that cannot sign (Docker Hub,
// Harbor, Quay, OCI distribution notifications) with a long random token in
// the URL path. The secret of each endpoint comes from a SecretSource.
//
// Paths are /hook/<kind>/<id> for the signing kinds and GitLab, and
// /hook/<kind>/<id>/<token> for the others (see Path). <id> names the
// Subscription, as the controller chooses.
//
// Answers, checked in this order:
//
//	404 unknown path: an unknown kind, a malformed path, or an id the
//	    SecretSource does not know
//	405 not a POST
//	503 the SecretSource failed (the sender retries)
//	401 a wrong or missing token, signature or GitLab token
//	413 a body over 1 MiB
//	415 a form-encoded body (configure the sender to send JSON)
//	400 malformed JSON, a missing event header, or no repository named
//	202 "ignored: <reason>": authenticated, but not an event we act on
//	    (a ping, a tag push, a deleted branch, a pull, a non-container package)
//	200 "ok": the notify function was called with the Event
//
// A reason is always a short text; it never echoes a secret. Nothing in a
// payload but the repository and branch names is used: the Subscription
// re-reads the registry or the branch, so a forged tag or commit cannot
// reach a Track.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/k8sta/k8sta/internal/repourl"
)

// A Kind of webhook sender.
type Kind string

// The kinds of webhook senders.
const (
	DockerHub    Kind = "dockerhub"
	GHCR         Kind = "ghcr" // GitHub "package" events
	Harbor       Kind = "harbor"
	Quay         Kind = "quay"
	Distribution Kind = "distribution" // OCI distribution (CNCF distribution) notifications
	GitHub       Kind = "github"       // push events
	GitLab       Kind = "gitlab"
	Gitea        Kind = "gitea"
	Bitbucket    Kind = "bitbucket"
)

// Kinds returns every Kind.
func Kinds() []Kind {
	return []Kind{DockerHub, GHCR, Harbor, Quay, Distribution, GitHub, GitLab, Gitea, Bitbucket}
}

// An Auth is how a Kind is authenticated.
type Auth string

// The ways senders are authenticated.
const (
	// AuthHMAC: the sender signs the body with the secret (HMAC-SHA256).
	AuthHMAC Auth = "HMAC"
	// AuthHeaderToken: the sender sends the secret in a header (GitLab).
	AuthHeaderToken Auth = "HeaderToken"
	// AuthPathToken: the secret is the last segment of the URL path.
	AuthPathToken Auth = "PathToken"
)

// Auth returns how the Kind is authenticated.
func (k Kind) Auth() Auth {
	switch k {
	case GitHub, GHCR, Gitea, Bitbucket:
		return AuthHMAC
	case GitLab:
		return AuthHeaderToken
	default:
		return AuthPathToken
	}
}

// Images reports whether the Kind names image repositories (rather than
// git repositories).
func (k Kind) Images() bool {
	switch k {
	case DockerHub, GHCR, Harbor, Quay, Distribution:
		return true
	}
	return false
}

func (k Kind) valid() bool {
	for _, v := range Kinds() {
		if k == v {
			return true
		}
	}
	return false
}

// An Event is an authenticated webhook that names what changed.
type Event struct {
	// Kind of sender.
	Kind Kind
	// ID is the <id> of the path: the Subscription whose secret
	// authenticated the webhook.
	ID string
	// Repositories that changed, normalized: image repositories with
	// NormalizeImageRepository (docker.io/library/nginx,
	// ghcr.io/acme/guestbook) or git repositories by repourl.MatchKey
	// (github.com/acme/guestbook-config), every form the payload gave.
	Repositories []string
	// Branches pushed to, for git pushes (main, not refs/heads/main).
	Branches []string
	// Received is when the request arrived, to measure webhook-to-status
	// latency.
	Received time.Time
}

// Matches reports whether the Event names the repository: an image
// repository or a git URL in any common form.
func (e Event) Matches(repository string) bool {
	n := NormalizeImageRepository(repository)
	if !e.Kind.Images() {
		n = repourl.MatchKey(repository)
	}
	if n == "" {
		return false
	}
	for _, r := range e.Repositories {
		if r == n {
			return true
		}
	}
	return false
}

// MatchesBranch reports whether the Event is a push to the branch.
func (e Event) MatchesBranch(branch string) bool {
	branch = strings.TrimPrefix(branch, "refs/heads/")
	for _, b := range e.Branches {
		if b == branch {
			return true
		}
	}
	return false
}

// ErrNotFound is what a SecretSource returns (or wraps) for an id it does
// not know. The Receiver answers 404.
var ErrNotFound = errors.New("no such webhook")

// A SecretSource looks up the secret of a webhook endpoint: the HMAC key,
// the GitLab token or the path token of the Subscription id. The
// controller provides it, reading a Secret (through a cache: it is called
// for every request). An empty secret is never accepted.
type SecretSource interface {
	WebhookSecret(ctx context.Context, kind Kind, id string) ([]byte, error)
}

// SecretSourceFunc is a SecretSource function.
type SecretSourceFunc func(ctx context.Context, kind Kind, id string) ([]byte, error)

// WebhookSecret calls f.
func (f SecretSourceFunc) WebhookSecret(ctx context.Context, kind Kind, id string) ([]byte, error) {
	return f(ctx, kind, id)
}

// PathPrefix is where the Receiver serves.
const PathPrefix = "/hook/"

// MaxBodyBytes is the largest body the Receiver reads: 1 MiB.
const MaxBodyBytes = 1 << 20

// TokenBytes is how many random bytes GenerateToken draws.
const TokenBytes = 32

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,512}$`)
)

// GenerateToken returns a new secret: 32 bytes from crypto/rand, base64url
// without padding (43 characters), fit for a URL path and as an HMAC key.
func GenerateToken() (string, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate a webhook token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Path returns the path to register with the sender: /hook/<kind>/<id>,
// and /hook/<kind>/<id>/<token> for the kinds authenticated by a path
// token (token is then the secret itself: show it only where a Secret may
// be read).
func Path(kind Kind, id, token string) string {
	p := PathPrefix + string(kind) + "/" + id
	if kind.Auth() == AuthPathToken {
		p += "/" + token
	}
	return p
}

// An Option configures a Receiver.
type Option func(*Receiver)

// WithMaxBodyBytes changes the body limit (tests).
func WithMaxBodyBytes(n int64) Option {
	return func(r *Receiver) { r.maxBody = n }
}

// WithClock replaces time.Now for Event.Received.
func WithClock(now func() time.Time) Option {
	return func(r *Receiver) { r.now = now }
}

// A Receiver is the http.Handler of every webhook endpoint.
type Receiver struct {
	secrets SecretSource
	notify  func(Event)
	maxBody int64
	now     func() time.Time
}

// NewReceiver returns a Receiver that calls notify, synchronously, with
// every authenticated event that names a change. notify must not block:
// hand the Event to a queue (e.g. a controller-runtime source channel).
func NewReceiver(secrets SecretSource, notify func(Event), opts ...Option) *Receiver {
	r := &Receiver{secrets: secrets, notify: notify, maxBody: MaxBodyBytes, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ListenAndServe serves the Receiver on addr until ctx is done, then
// shuts down gracefully. It fits controller-runtime's manager.RunnableFunc.
func (r *Receiver) ListenAndServe(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen for webhooks on %s: %w", addr, err)
	}
	return r.Serve(ctx, l)
}

// Serve serves the Receiver on l until ctx is done.
func (r *Receiver) Serve(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, r)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cannot serve webhooks: %w", err)
	}
	return <-done
}

// reply writes a short text answer.
func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) { //nolint:gocyclo // the documented sequence of checks.
	received := r.now()
	kind, id, token, ok := splitPath(req.URL.Path)
	if !ok {
		reply(w, http.StatusNotFound, "unknown webhook path")
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	secret, err := r.secrets.WebhookSecret(req.Context(), kind, id)
	switch {
	case errors.Is(err, ErrNotFound):
		reply(w, http.StatusNotFound, "unknown webhook path")
		return
	case err != nil:
		reply(w, http.StatusServiceUnavailable, "cannot look up the webhook secret; retry later")
		return
	case len(secret) == 0:
		reply(w, http.StatusUnauthorized, "webhook has no secret configured")
		return
	}

	// Secrets sent in the clear are checked before the body is read.
	switch kind.Auth() {
	case AuthPathToken:
		if !equal([]byte(token), secret) {
			reply(w, http.StatusUnauthorized, "wrong token")
			return
		}
	case AuthHeaderToken:
		t := req.Header.Get("X-Gitlab-Token")
		if t == "" {
			reply(w, http.StatusUnauthorized, "missing X-Gitlab-Token header")
			return
		}
		if !equal([]byte(t), secret) {
			reply(w, http.StatusUnauthorized, "wrong X-Gitlab-Token")
			return
		}
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", r.maxBody))
			return
		}
		reply(w, http.StatusBadRequest, "cannot read the body")
		return
	}

	if kind.Auth() == AuthHMAC {
		if reason := verifySignature(kind, req.Header, body, secret); reason != "" {
			reply(w, http.StatusUnauthorized, reason)
			return
		}
	}

	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		reply(w, http.StatusUnsupportedMediaType, "send the payload as application/json")
		return
	}

	ev, ignored, err := Parse(kind, req.Header, body)
	if err != nil {
		reply(w, http.StatusBadRequest, err.Error())
		return
	}
	if ignored != "" {
		reply(w, http.StatusAccepted, "ignored: "+ignored)
		return
	}
	ev.ID, ev.Received = id, received
	r.notify(ev)
	reply(w, http.StatusOK, "ok")
}

// splitPath reads /hook/<kind>/<id>[/<token>].
func splitPath(p string) (Kind, string, string, bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix)
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return "", "", "", false
	}
	kind := Kind(parts[0])
	if !kind.valid() || !idRE.MatchString(parts[1]) {
		return "", "", "", false
	}
	if kind.Auth() == AuthPathToken {
		if len(parts) != 3 || !tokenRE.MatchString(parts[2]) {
			return "", "", "", false
		}
		return kind, parts[1], parts[2], true
	}
	if len(parts) != 2 {
		return "", "", "", false
	}
	return kind, parts[1], "", true
}

// equal compares secrets in constant time, whatever their lengths.
func equal(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return hmac.Equal(ha[:], hb[:])
}

// verifySignature checks the HMAC-SHA256 of the body; it returns the
// reason it fails, or "".
func verifySignature(kind Kind, h http.Header, body, secret []byte) string {
	var header, sig string
	switch kind {
	case GitHub, GHCR:
		header = "X-Hub-Signature-256"
		sig = h.Get(header)
		if sig == "" {
			return "missing X-Hub-Signature-256 header"
		}
		var ok bool
		if sig, ok = strings.CutPrefix(sig, "sha256="); !ok {
			return "X-Hub-Signature-256 is not sha256=<hex>"
		}
	case Gitea:
		for _, header = range []string{"X-Gitea-Signature", "X-Forgejo-Signature"} {
			if sig = h.Get(header); sig != "" {
				break
			}
		}
		if sig == "" {
			return "missing X-Gitea-Signature header"
		}
	case Bitbucket:
		header = "X-Hub-Signature"
		sig = h.Get(header)
		if sig == "" {
			return "missing X-Hub-Signature header"
		}
		var ok bool
		if sig, ok = strings.CutPrefix(sig, "sha256="); !ok {
			return "X-Hub-Signature is not sha256=<hex>"
		}
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return header + " is not a hex HMAC-SHA256"
	}
	if !hmac.Equal(got, Sign(secret, body)) {
		return "wrong signature"
	}
	return ""
}

// Sign returns the HMAC-SHA256 of body with the secret, as senders compute
// it (hex-encode it for the header).
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
