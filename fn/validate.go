package fn

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// The limits and patterns of the Track XRD (package/configuration/xrd.yaml),
// checked again when a Track is parsed: a Track can reach the function
// without the XRD's validation, through a legacy XRD or a CRD served before
// the rules were added. The regular expressions are the XRD's, character for
// character.
const (
	maxURL          = 2048
	maxBranch       = 255
	maxOverlay      = 1024
	maxStations     = 100
	maxTracks       = 20
	maxApplications = 50
	maxImages       = v1alpha1.MaxChangeImages // a change sets one image per image subscribed to
	maxGitPaths     = 32
	maxGitPath      = 1024
)

var (
	// remoteURL is an https:// or ssh:// URL, or git's scp-like
	// user@host:path.
	remoteURL = regexp.MustCompile(`^((https|ssh)://([^/?#@\s]*@)?([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/\S*)?|[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\S+)$`)
	// plainHTTPURL is a plain http:// URL. The provider reaches it only when
	// its operator lists the host (--insecure-git-host), a list the schema
	// cannot see.
	plainHTTPURL = regexp.MustCompile(`^http://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/\S*)?$`)
	// urlCredentials is a URL with credentials: any user info in http(s),
	// a password in any other scheme.
	urlCredentials = regexp.MustCompile(`^https?://[^/?#]*@|^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*:[^/?#]*@`)

	// branchName is a git branch name, stricter than git's own rules.
	branchName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$`)
	// badBranch is what branchName lets through and git refuses.
	badBranch = regexp.MustCompile(`\.\.|\.lock(/|$)|\.(/|$)`)

	// dotSegment is a path with a . or .. segment.
	dotSegment = regexp.MustCompile(`(^|/)[.][.]?(/|$)`)
	// control is a control character (ASCII: C0 and DEL).
	control = regexp.MustCompile(`[[:cntrl:]]`)
)

// Messages that name the fix, shared by the XRD's rules and the function.
const (
	msgURLScheme      = "must be an https:// or ssh:// URL or git@host:org/repo (plain http:// reaches only the hosts the provider's operator allows with --insecure-git-host); file://, git:// and local paths are refused"
	msgURLCredentials = "must not carry credentials (user:password@ or a token): put them in the Secret that the ProviderConfig's spec.git.secretRef names"
	msgBranch         = "must be a git branch name such as env/prod: letters, digits, '.', '_' and '-', parts joined by '/', no part starting with '.' or '-' or ending in '.' or '.lock', no '..'"

	msgPathAbsolute     = "must be relative to the repository root, without a leading '/': e.g. base/ or apps/guestbook/"
	msgPathDotSegment   = "must not have '.' or '..' segments: write the path from the repository root, e.g. apps/guestbook/"
	msgPathEmptySegment = "must not have an empty segment ('//'): write e.g. apps/guestbook/"
	msgPathControl      = "must not hold control characters (newline, tab, NUL): write the path as git shows it"
)

// checkRepoURL returns what is wrong with repository URL u, or "". It never
// quotes u, which may carry credentials.
func checkRepoURL(u string) string {
	if v := lastValidURL.Load(); v != nil && *v == u {
		return ""
	}
	switch {
	case len(u) > maxURL:
		return fmt.Sprintf("is longer than %d characters", maxURL)
	case urlCredentials.MatchString(u):
		return msgURLCredentials
	case !remoteURL.MatchString(u) && !plainHTTPURL.MatchString(u):
		return msgURLScheme
	}
	valid := u // only a valid URL is moved to the heap
	lastValidURL.Store(&valid)
	return ""
}

// lastValidURL is the repository URL checkRepoURL last found valid. The
// Tracks of a tree mostly share one, and matching it against the patterns
// costs more than composing a Track; one URL, at most maxURL bytes, is kept.
var lastValidURL atomic.Pointer[string]

// checkBranch returns what is wrong with branch name b, or "".
func checkBranch(b string) string {
	switch {
	case len(b) > maxBranch:
		return fmt.Sprintf("is longer than %d characters", maxBranch)
	case !branchName.MatchString(b) || badBranch.MatchString(b) || b == "HEAD":
		return msgBranch
	}
	return ""
}

// checkOverlay returns what is wrong with overlay directory o, or "".
func checkOverlay(o string) string {
	switch {
	case len(o) > maxOverlay:
		return fmt.Sprintf("is longer than %d characters", maxOverlay)
	case strings.HasPrefix(o, "/") || o == ".." || strings.HasPrefix(o, "../") || strings.Contains(o, "/../") || strings.HasSuffix(o, "/.."):
		return "must be a directory inside the repository, relative to its root, without '..'"
	}
	return ""
}

// checkGitPath returns what is wrong with git.paths entry p, or "".
func checkGitPath(p string) string {
	switch {
	case p == "":
		return "is empty: name a directory or file relative to the repository root, e.g. apps/guestbook/"
	case len(p) > maxGitPath:
		return fmt.Sprintf("is longer than %d characters", maxGitPath)
	case strings.HasPrefix(p, "/"):
		return msgPathAbsolute
	case dotSegment.MatchString(p):
		return msgPathDotSegment
	case strings.Contains(p, "//"):
		return msgPathEmptySegment
	case control.MatchString(p):
		return msgPathControl
	}
	return ""
}
