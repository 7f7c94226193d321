// Package webhook receives the webhooks of registries and git hosts and
// names the repositories that changed, so that the Subscriptions following
// them poll at once.
//
// Every endpoint is authenticated. Git hosts that sign their deliveries are
// checked with HMAC-SHA256 (GitHub and GHCR X-Hub-Signature-256, Gitea
// X-Gitea-Signature, Bitbucket X-Hub-Signature), GitLab with its
// X-Gitlab-Token header, and the registries that cannot sign (Docker Hub,
// Harbor, Quay, OCI distribution notifications) with a long random token in
// the URL path. A SecretSource gives the endpoint's root token; the value a
// sender holds is never the root token but Key(token, kind), one per kind,
// so that a path secret one registry shows in its UI is not the HMAC key of
// a git host.
//
// Paths are /hook/<kind>/<id> for the signing kinds and GitLab, and
// /hook/<kind>/<id>/<key> for the others (see Path). <id> names what the
// token is looked up for (a Subscription, a ProviderConfig), as the
// controller chooses: letters, digits, '.', '_', ':' and '-', at most
// MaxIDLength characters.
//
// Answers, checked in this order:
//
//	404 an unknown kind: /hook/<kind>/ names none of Kinds()
//	405 not a POST
//	503 with Retry-After: DefaultMaxConcurrentBodies (or WithMaxConcurrentBodies)
//	    bodies are being read or handled already; the body is not read
//	413 a body over 1 MiB, for the signing kinds (the body is read before
//	    anything is looked up, so that the answer says nothing about <id>)
//	503 the SecretSource failed for another reason than ErrNotFound (the
//	    sender retries)
//	401 "unauthorized", the same bytes for every failure: a malformed or
//	    unknown id, no secret, a missing or wrong key, token or signature.
//	    An unknown id runs the same checks against a throwaway key, so it
//	    costs what a wrong key costs.
//	503 with Retry-After, as above, for the other kinds (after authentication)
//	413 a body over 1 MiB, for the other kinds (after authentication)
//	415 a form-encoded body (configure the sender to send JSON)
//	400 malformed JSON, a missing event header, no repository named, or
//	    more than MaxEventRepositories repositories (or branches) named
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
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

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
	// ID is the <id> of the path, whose secret authenticated the webhook.
	ID string
	// Repositories that changed, normalized: image repositories with
	// NormalizeImageRepository (docker.io/library/nginx,
	// ghcr.io/acme/guestbook) or git repositories by repourl.MatchKey
	// (github.com/acme/guestbook-config), every form the payload gave.
	Repositories []string
	// Branches pushed to, for git pushes (main, not refs/heads/main).
	Branches []string

	// repositories is Repositories as a set, built by Parse, so that
	// checking each Subscription in scope costs one lookup per source.
	repositories map[string]struct{}
}

// index builds the set of the Event's repositories.
func (e *Event) index() {
	e.repositories = make(map[string]struct{}, len(e.Repositories))
	for _, r := range e.Repositories {
		e.repositories[r] = struct{}{}
	}
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
	if e.repositories != nil {
		_, ok := e.repositories[n]
		return ok
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
// not know, or whose secret it may not use. The Receiver answers 401, as for
// a wrong key.
var ErrNotFound = errors.New("no such webhook")

// A SecretSource looks up the root token of a webhook endpoint: the
// id's token, from which Key derives the value each kind of sender holds. The controller provides it, reading a cache: it is called
// for every request, authenticated or not, so it must cost no request to
// anything. An empty token is never accepted.
type SecretSource interface {
	WebhookSecret(ctx context.Context, kind Kind, id string) ([]byte, error)
}

// SecretSourceFunc is a SecretSource function.
type SecretSourceFunc func(ctx context.Context, kind Kind, id string) ([]byte, error)

// WebhookSecret calls f.
func (f SecretSourceFunc) WebhookSecret(ctx context.Context, kind Kind, id string) ([]byte, error) {
	return f(ctx, kind, id)
}

// Key returns the secret a sender of the kind holds for an endpoint whose
// root token is token: HMAC-SHA256(token, "k8sta webhook <kind>"),
// base64url without padding (43 characters), fit for a URL path and as an
// HMAC key. A key of one kind authenticates no other kind, so the path
// token a registry shows in its UI cannot sign a git push.
func Key(token []byte, kind Kind) string {
	m := hmac.New(sha256.New, token)
	m.Write([]byte("k8sta webhook " + string(kind)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// PathPrefix is where the Receiver serves.
const PathPrefix = "/hook/"

// MaxBodyBytes is the largest body the Receiver reads: 1 MiB.
const MaxBodyBytes = 1 << 20

// DefaultMaxConcurrentBodies is how many request bodies a Receiver holds at
// once, read or being read: 32 MiB at most, at MaxBodyBytes each. Signing
// kinds send the body before they can be authenticated, so without a bound
// 10,000 parallel posts would hold 10 GB.
const DefaultMaxConcurrentBodies = 32

// busyRetryAfter is the Retry-After (seconds) of the answer to a request
// that finds every body slot held.
const busyRetryAfter = "5"

// TokenBytes is how many random bytes GenerateToken draws.
const TokenBytes = 32

// MaxIDLength bounds the <id> of a path: room for the longest id the
// controller makes, providerconfig:<namespace>:<name> (15 + 63 + 1 + 253).
const MaxIDLength = 384

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,383}$`)
	tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,512}$`)
)

// GenerateToken returns a new root token: 32 bytes from crypto/rand,
// base64url without padding (43 characters). Senders never hold it: they
// hold Key(token, kind).
func GenerateToken() (string, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", errors.Wrap(err, "cannot generate a webhook token")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Path returns the path to register with the sender: /hook/<kind>/<id>,
// and /hook/<kind>/<id>/<key> for the kinds authenticated by a path token
// (key is then Key(token, kind), a credential: show it only where a Secret
// may be read).
func Path(kind Kind, id, key string) string {
	p := PathPrefix + string(kind) + "/" + id
	if kind.Auth() == AuthPathToken {
		p += "/" + key
	}
	return p
}

// An Option configures a Receiver.
type Option func(*Receiver)

// WithMaxBodyBytes changes the body limit (tests).
func WithMaxBodyBytes(n int64) Option {
	return func(r *Receiver) { r.maxBody = n }
}

// WithMaxConcurrentBodies changes how many request bodies the Receiver
// holds at once (DefaultMaxConcurrentBodies); n <= 0 keeps the default.
func WithMaxConcurrentBodies(n int) Option {
	return func(r *Receiver) {
		if n > 0 {
			r.bodies = make(chan struct{}, n)
		}
	}
}

// An Observer is told of each request a Receiver answers: its sender (the
// Kind the path names, or SenderUnknown) and the status code of the answer.
// It must not block.
type Observer func(sender string, code int)

// SenderUnknown is the sender of a request whose path names no Kind.
const SenderUnknown = "unknown"

// WithObserver has the Receiver tell o of every request it answers.
func WithObserver(o Observer) Option {
	return func(r *Receiver) { r.observe = o }
}

// Sender is who sent a request to path, as an Observer is told: the Kind
// /hook/<kind>/... names, or SenderUnknown for a path that names none, so
// that what a sender may put in a path never becomes a label of its own.
func Sender(path string) string {
	kind, _, _, known, _ := splitPath(path)
	if !known {
		return SenderUnknown
	}
	return string(kind)
}

// A Receiver is the http.Handler of every webhook endpoint.
type Receiver struct {
	secrets SecretSource
	notify  func(Event)
	maxBody int64
	// decoy stands in for the token of an unknown id, so that every
	// failure runs the same checks.
	decoy []byte
	// bodies holds a slot for each request whose body is read or held.
	bodies chan struct{}
	// observe, if set, is told of each answer.
	observe Observer
	// testHookBodySlotTaken, if set, is called once a request holds a body
	// slot, before its body is read.
	testHookBodySlotTaken func()
}

// NewReceiver returns a Receiver that calls notify, synchronously, with
// every authenticated event that names a change. notify must not block:
// hand the Event to a queue (e.g. a controller-runtime source channel).
func NewReceiver(secrets SecretSource, notify func(Event), opts ...Option) *Receiver {
	r := &Receiver{
		secrets: secrets, notify: notify, maxBody: MaxBodyBytes, decoy: make([]byte, TokenBytes),
		bodies: make(chan struct{}, DefaultMaxConcurrentBodies),
	}
	_, _ = rand.Read(r.decoy) // crypto/rand.Read never fails.
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
		return errors.Wrapf(err, "cannot listen for webhooks on %s", addr)
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
	go func() { //nolint:gosec // Shutdown runs once ctx has ended: it needs a context of its own.
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Wrap(err, "cannot serve webhooks")
	}
	return <-done
}

// reply writes a short text answer.
func reply(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n") //nolint:gosec // text/plain with nosniff; msg is the receiver's own words.
	return code
}

// Unauthorized is the answer to every authentication failure, whatever
// failed: it says nothing about which ids or Secrets exist.
const Unauthorized = "unauthorized"

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	code := r.serve(w, req)
	if r.observe != nil {
		r.observe(Sender(req.URL.Path), code)
	}
}

// serve answers req and returns the status code of its answer.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) int {
	kind, id, key, known, wellFormed := splitPath(req.URL.Path)
	if !known {
		return reply(w, http.StatusNotFound, "unknown webhook path")
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return reply(w, http.StatusMethodNotAllowed, "use POST")
	}

	// A signature covers the body: read it first, whatever the id, so that
	// a body over the limit is refused the same way for every id.
	var body []byte
	if kind.Auth() == AuthHMAC {
		if code := r.takeBodySlot(w); code != 0 {
			return code
		}
		defer r.releaseBodySlot()
		var code int
		if body, code = r.readBody(w, req); code != 0 {
			return code
		}
	}

	authentic := wellFormed
	var token []byte
	if wellFormed {
		var err error
		token, err = r.secrets.WebhookSecret(req.Context(), kind, id)
		switch {
		case errors.Is(err, ErrNotFound):
			authentic = false
		case err != nil:
			return reply(w, http.StatusServiceUnavailable, "cannot look up the webhook secret; retry later")
		}
	}
	if len(token) == 0 {
		authentic, token = false, r.decoy
	}
	secret := []byte(Key(token, kind))
	switch kind.Auth() {
	case AuthPathToken:
		authentic = equal([]byte(key), secret) && authentic
	case AuthHeaderToken:
		authentic = equal([]byte(req.Header.Get("X-Gitlab-Token")), secret) && authentic
	case AuthHMAC:
		authentic = signed(kind, req.Header, body, secret) && authentic
	}
	if !authentic {
		return reply(w, http.StatusUnauthorized, Unauthorized)
	}

	if body == nil {
		if code := r.takeBodySlot(w); code != 0 {
			return code
		}
		defer r.releaseBodySlot()
		var code int
		if body, code = r.readBody(w, req); code != 0 {
			return code
		}
	}

	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		return reply(w, http.StatusUnsupportedMediaType, "send the payload as application/json")
	}

	ev, ignored, err := Parse(kind, req.Header, body)
	if err != nil {
		return reply(w, http.StatusBadRequest, err.Error())
	}
	if ignored != "" {
		return reply(w, http.StatusAccepted, "ignored: "+ignored)
	}
	ev.ID = id
	r.notify(ev)
	return reply(w, http.StatusOK, "ok")
}

// takeBodySlot takes a slot for the request's body, held until
// releaseBodySlot, and returns 0. When every slot is held it answers 503
// at once, and returns that: waiting would let requests, and the
// connections they hold, pile up without bound.
func (r *Receiver) takeBodySlot(w http.ResponseWriter) int {
	select {
	case r.bodies <- struct{}{}:
	default:
		w.Header().Set("Retry-After", busyRetryAfter)
		return reply(w, http.StatusServiceUnavailable, "too many webhooks at once; retry later")
	}
	if r.testHookBodySlotTaken != nil {
		r.testHookBodySlotTaken()
	}
	return 0
}

func (r *Receiver) releaseBodySlot() { <-r.bodies }

// readBody reads at most maxBody bytes of the body; when it cannot, it
// answers and returns the answer's status code (0 once read).
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", r.maxBody))
		}
		return nil, reply(w, http.StatusBadRequest, "cannot read the body")
	}
	if body == nil {
		body = []byte{}
	}
	return body, 0
}

// splitPath reads /hook/<kind>/<id>[/<key>]. known reports whether <kind>
// is one of Kinds(), wellFormed whether the rest is a syntactically valid
// id (and key, for path-token kinds).
func splitPath(p string) (kind Kind, id, key string, known, wellFormed bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix)
	if !ok {
		return "", "", "", false, false
	}
	k, rest, _ := strings.Cut(rest, "/")
	kind = Kind(k)
	if !kind.valid() {
		return "", "", "", false, false
	}
	parts := strings.Split(rest, "/")
	if !idRE.MatchString(parts[0]) {
		return kind, "", "", true, false
	}
	if kind.Auth() == AuthPathToken {
		if len(parts) != 2 || !tokenRE.MatchString(parts[1]) {
			return kind, "", "", true, false
		}
		return kind, parts[0], parts[1], true, true
	}
	if len(parts) != 1 {
		return kind, "", "", true, false
	}
	return kind, parts[0], "", true, true
}

// equal compares secrets in constant time, whatever their lengths.
func equal(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return hmac.Equal(ha[:], hb[:])
}

// signed reports whether the kind's signature header holds the
// HMAC-SHA256 of the body with the secret.
func signed(kind Kind, h http.Header, body, secret []byte) bool {
	var sig string
	prefixed := true
	switch kind {
	case GitHub, GHCR:
		sig, prefixed = strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
	case Gitea:
		if sig = h.Get("X-Gitea-Signature"); sig == "" {
			sig = h.Get("X-Forgejo-Signature")
		}
	case Bitbucket:
		sig, prefixed = strings.CutPrefix(h.Get("X-Hub-Signature"), "sha256=")
	}
	if !prefixed {
		sig = ""
	}
	got, err := hex.DecodeString(sig)
	// hmac.Equal is constant-time for equal lengths and false for others.
	return err == nil && hmac.Equal(got, Sign(secret, body))
}

// Sign returns the HMAC-SHA256 of body with the secret, as senders compute
// it (hex-encode it for the header).
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
