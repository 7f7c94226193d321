package gitrepo

import (
	"context"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Sentinel errors. Returned errors wrap them: test with errors.Is.
var (
	// ErrAuth: the remote refused the credentials, needs some, or the
	// credentials given cannot be used (a bad SSH key, no known_hosts).
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: the remote cannot be reached or has no such
	// repository; the message says which.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrCommitNotFound: the commit is not in the cached clone.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrInvalidBranch: git refuses this branch name.
	ErrInvalidBranch = errors.New("invalid branch name")
	// ErrNotAncestor: history was rewritten (force push): the older commit is
	// not an ancestor of the newer one.
	ErrNotAncestor = errors.New("not an ancestor")
	// ErrTooLarge: a repository, a file or a set of files passes a bound;
	// the message says which and how to fix it.
	ErrTooLarge = errors.New("too large")
)

// Results of a request to a remote, as RequestResult words them.
const (
	ResultSuccess     = "success"
	ResultAuth        = "auth"
	ResultUnreachable = "unreachable"
	ResultTooLarge    = "too_large"
	ResultRejected    = "rejected"
	ResultError       = "error"
)

// RequestResult is the outcome of a fetch or push that returned err, in one
// of a few words: success, auth (ErrAuth), unreachable (ErrUnreachable),
// too_large (ErrTooLarge), rejected (the remote refused a push: the branch
// moved, or its receive-pack said no) or error (anything else).
func RequestResult(err error) string {
	switch {
	case err == nil:
		return ResultSuccess
	case errors.Is(err, ErrAuth):
		return ResultAuth
	case errors.Is(err, ErrUnreachable):
		return ResultUnreachable
	case errors.Is(err, ErrTooLarge):
		return ResultTooLarge
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ResultError
	case errIsPush(err):
		return ResultRejected
	}
	return ResultError
}

// kindError puts a sentinel in front of a cause: "<sentinel>: <cause>".
type kindError struct {
	kind  error
	cause error
}

func (e *kindError) Error() string {
	if e.cause == nil {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.cause.Error()
}

func (e *kindError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func withKind(kind, cause error) error {
	return &kindError{kind: kind, cause: cause}
}

func kindf(kind error, format string, args ...any) error {
	return withKind(kind, errors.Errorf(format, args...))
}

// classify marks a go-git transport error with ErrAuth or ErrUnreachable
// where it is one.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "http redirect:") {
		return withKind(ErrUnreachable, errors.Wrap(err, "the server answered with a redirect, which the provider never follows: set the repository URL to the address the repository is served at"))
	}
	if k := kindOf(err); k != nil {
		return withKind(k, err)
	}
	return err
}

func kindOf(err error) error {
	switch {
	case errors.Is(err, ErrAuth), errors.Is(err, ErrUnreachable):
		return nil // already classified
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return ErrAuth
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrUnreachable
	}
	var ue *plumbing.UnexpectedError
	if errors.As(err, &ue) && ue.Err != nil {
		var he *githttp.Err
		if errors.As(ue.Err, &he) && he.Response != nil && he.Response.StatusCode >= 500 {
			return ErrUnreachable
		}
		if k := kindOf(ue.Err); k != nil {
			return k
		}
	}
	var (
		oe  *net.OpError
		de  *net.DNSError
		ue2 *url.Error
	)
	if errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, syscall.ECONNREFUSED) ||
		(errors.As(err, &ue2) && ue2.Timeout()) {
		return ErrUnreachable
	}
	msg := err.Error()
	for _, s := range []string{"unable to authenticate", "knownhosts:", "host key mismatch", "no supported methods remain"} {
		if strings.Contains(msg, s) {
			return ErrAuth
		}
	}
	for _, s := range []string{"connection refused", "no such host", "i/o timeout", "connection reset",
		"network is unreachable", "no route to host", "does not appear to be a git repository",
		"repository not found", "ssh: handshake failed: EOF"} {
		if strings.Contains(msg, s) {
			return ErrUnreachable
		}
	}
	return nil
}

// scrubbedError carries a message with every secret replaced.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.cause }

// scrub makes sure no secret appears in err's message. Credentials never
// reach go-git's URLs, so this is a second line of defence.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s == "" || !strings.Contains(msg, s) {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "REDACTED")
		changed = true
	}
	if !changed {
		return err
	}
	return &scrubbedError{msg: msg, cause: err}
}

// secrets are what must never appear in a message: the password or token
// and the ssh private key.
func (r *Repo) secrets() []string {
	s := []string{r.auth.Password}
	if k := strings.TrimSpace(string(r.auth.SSHPrivateKey)); k != "" {
		s = append(s, k)
	}
	return s
}
