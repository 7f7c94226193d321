// Package repourl is K8sTA's one vocabulary for git repository URLs: which
// URLs the provider may fetch from and push to, and when two spellings name
// one repository.
//
// # The rule, written once
//
// Parse accepts https://, ssh:// and scp-like [user@]host:path URLs, and
// http:// only for the hosts the provider's operator allows
// (--insecure-git-host): loopback is no exception, as in a pod it is the
// provider's own metrics endpoint and its sidecars. It refuses local paths, file://, git://, every other
// scheme, and credentials in the URL (an ssh login user such as git@ is not a
// credential and stays).
//
// Two spellings are one repository in two strengths:
//
//   - Key, the identity the clone cache uses: scheme (scp-like is ssh),
//     lower-case host, port without the scheme's default (443, 80, 22), and
//     the path with its case kept, trailing "/" and ".git" removed, and its
//     percent-escapes in one form (unreserved characters decoded, the hex
//     of the others in upper case; an scp-like path, which git never
//     unescapes, with its "%" escaped). Generic
//     git servers have case-sensitive paths, so the cache never merges two
//     spellings that might be two repositories.
//   - MatchKey, what webhook matching and Argo CD Application authorization
//     compare: host and port as in Key, the path lower-cased, the scheme and
//     login user ignored. GitHub, GitLab and Bitbucket treat paths
//     case-insensitively and serve one repository over https and ssh, and Argo
//     CD itself compares repoURLs case-insensitively. Matching only decides
//     which Subscription a webhook wakes and whether an Application that
//     already authorizes a Track tracks its repository; it never chooses
//     which objects or credentials a fetch uses.
//
// scp-like host:path and ssh://host/path are one repository (as on every git
// hosting service). On a plain OpenSSH server host:path is relative to the
// login's home directory: write ssh://host/~/path there if both spellings are
// in use.
package repourl

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// MaxLength is the longest repository URL Parse accepts.
const MaxLength = 2048

// Sentinel errors. Parse's errors wrap one of them: test with errors.Is.
var (
	// ErrLocal: a local path or file:// URL, read from the provider's own
	// file system.
	ErrLocal = errors.New("local repositories are refused")
	// ErrScheme: a scheme other than https, ssh or (allowed) http.
	ErrScheme = errors.New("unsupported scheme")
	// ErrInsecure: plain http:// to a host the operator did not allow.
	ErrInsecure = errors.New("plain http is refused")
	// ErrCredentials: a password, token or https user in the URL.
	ErrCredentials = errors.New("credentials in the URL are refused")
	// ErrInvalid: not a repository URL at all.
	ErrInvalid = errors.New("invalid repository URL")
)

// Error is why Parse refused a URL. Its message names the fix and never
// carries a credential.
type Error struct {
	// Kind is one of the sentinel errors.
	Kind error
	// URL is the refused URL without credentials, or "" when it cannot be
	// shown safely.
	URL    string
	reason string
}

func (e *Error) Error() string {
	if e.URL == "" {
		return e.Kind.Error() + ": " + e.reason
	}
	return fmt.Sprintf("%s: %q: %s", e.Kind, e.URL, e.reason)
}

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, shown, reason string, args ...any) error {
	return &Error{Kind: kind, URL: shown, reason: fmt.Sprintf(reason, args...)}
}

// Schemes of a parsed URL.
const (
	HTTPS = "https"
	HTTP  = "http"
	SSH   = "ssh"
)

var defaultPorts = map[string]string{HTTPS: "443", HTTP: "80", SSH: "22", "git": "9418"}

// URL is a repository URL Parse accepted. The zero value is no URL.
type URL struct {
	scheme string // https, http or ssh
	user   string // ssh login; never set for http(s)
	host   string // lower case; an IPv6 address in brackets
	port   string // "" for the scheme's default
	path   string // escaped as Parse canonicalizes it (scp: as written), trailing "/" removed; "/"-rooted unless scp
	scp    bool   // written [user@]host:path
}

// IsZero reports whether u is no URL.
func (u URL) IsZero() bool { return u.scheme == "" }

// Scheme is https, http or ssh (for scp-like URLs too).
func (u URL) Scheme() string { return u.scheme }

// Host is the lower-case host, with the port when it is not the default.
func (u URL) Host() string {
	if u.port == "" {
		return u.host
	}
	return u.host + ":" + u.port
}

// User is the ssh login user, "" for https and http.
func (u URL) User() string { return u.user }

// String is the URL to clone: no credentials, scheme and host in lower case,
// no default port, the path as written (".git" kept) but for its
// percent-escapes, in one form.
func (u URL) String() string {
	if u.IsZero() {
		return ""
	}
	login := ""
	if u.user != "" {
		login = u.user + "@"
	}
	if u.scp {
		return login + u.host + ":" + u.path
	}
	return u.scheme + "://" + login + u.Host() + u.path
}

// Key is the repository's identity for the clone cache: scheme, host and
// port, and the path with its case kept, without trailing "/" or ".git".
// Two URLs with one Key are one repository on every git server.
func (u URL) Key() string {
	if u.IsZero() {
		return ""
	}
	return u.scheme + "://" + u.Host() + "/" + trimPath(u.escapedPath())
}

// escapedPath is the path as a URL's: an scp-like path is literal, so its
// "%" is escaped.
func (u URL) escapedPath() string {
	if u.scp {
		return strings.ReplaceAll(u.path, "%", "%25")
	}
	return u.path
}

// MatchKey is what webhook matching and Application authorization compare:
// host and port as in Key, the path in lower case, scheme and login ignored.
// See the package documentation for why it is looser than Key.
func (u URL) MatchKey() string {
	if u.IsZero() {
		return ""
	}
	// Lower case first: "X.GIT" is "x".
	return u.Host() + "/" + trimPath(lowerASCII(u.escapedPath()))
}

// Same reports whether a and b are one repository for matching: their
// MatchKeys are equal and not empty.
func Same(a, b string) bool {
	ka := MatchKey(a)
	return ka != "" && ka == MatchKey(b)
}

// lowerASCII lower-cases A-Z only: strings.ToLower would also rewrite
// invalid UTF-8, three bytes for one, and a MatchKey would not parse back.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// trimPath removes a leading "/", and trailing "/" and ".git" until none is
// left, so that a Key parses back to itself.
func trimPath(p string) string {
	for {
		t := strings.TrimSuffix(strings.TrimRight(p, "/"), ".git")
		if t == p {
			break
		}
		p = t
	}
	return strings.TrimLeft(p, "/")
}

// Policy is what the provider's operator allows beyond https and ssh: plain
// http to some hosts. Loopback hosts are no exception: tests and demos list
// theirs. The zero Policy allows plain http to no host.
type Policy struct {
	insecure map[string]bool // host or host:port, lower case
}

// NewPolicy allows plain http to each host ("host" for every port, or
// "host:port" for one).
func NewPolicy(insecureHosts ...string) (Policy, error) {
	p := Policy{insecure: map[string]bool{}}
	for _, h := range insecureHosts {
		host, port, err := splitHostPort(strings.ToLower(strings.TrimSpace(h)))
		if err == nil {
			host, err = validHost(host)
		}
		if err != nil {
			return Policy{}, errors.Errorf("--insecure-git-host %q is not a host or host:port", h)
		}
		if port == "" {
			p.insecure[host] = true
			continue
		}
		p.insecure[host+":"+port] = true
	}
	return p, nil
}

// Parse parses raw with the zero Policy: no plain http at all.
func Parse(raw string) (URL, error) { return Policy{}.Parse(raw) }

// Parse accepts raw if it is a repository URL p allows, and returns it in
// canonical form. Errors are *Error and name the fix.
func (p Policy) Parse(raw string) (URL, error) {
	s, err := split(raw, false)
	if err != nil {
		return URL{}, err
	}
	shown := s.redacted()
	switch s.scheme {
	case HTTPS, HTTP:
		if s.hasUser {
			return URL{}, refuse(ErrCredentials, shown, "a user, password or token in an %s URL is a credential: remove it from the URL and put it in the Secret named by the ProviderConfig's spec.git.secretRef (keys username and password, or token)", s.scheme)
		}
	case SSH:
		if s.hasPassword {
			return URL{}, refuse(ErrCredentials, shown, "a password in an ssh URL is a credential: remove it and put an ssh key in the Secret named by the ProviderConfig's spec.git.secretRef (keys sshPrivateKey and knownHosts)")
		}
	case "file":
		return URL{}, refuse(ErrLocal, shown, "the provider never reads repositories from its own file system: use an https:// or ssh URL")
	case "git":
		return URL{}, refuse(ErrScheme, shown, "git:// is neither authenticated nor encrypted: use https:// or ssh://")
	default:
		return URL{}, refuse(ErrScheme, shown, "scheme %q is not supported: use https:// or ssh://", s.scheme)
	}
	u := URL{scheme: s.scheme, host: s.host, port: s.port, path: s.path, scp: s.scp}
	if s.scheme == SSH {
		u.user = s.user
	}
	if err := p.Check(u); err != nil {
		return URL{}, err
	}
	return u, nil
}

// Check refuses u if p does not allow its scheme and host. Parse checks it;
// fetches and pushes check it again, so no code path that builds a URL some
// other way reaches the network over plain http.
func (p Policy) Check(u URL) error {
	switch u.scheme {
	case HTTPS, SSH:
		return nil
	case HTTP:
		if p.insecure[u.host] || p.insecure[u.Host()] {
			return nil
		}
		if u.port == "" && p.insecure[u.host+":80"] {
			return nil
		}
		return refuse(ErrInsecure, u.String(), "plain http is neither authenticated nor encrypted: use https://, or ask the provider's operator to allow %s with --insecure-git-host", u.Host())
	case "":
		return refuse(ErrInvalid, "", "no repository URL")
	}
	return refuse(ErrScheme, u.String(), "scheme %q is not supported: use https:// or ssh://", u.scheme)
}

// MatchKey is the MatchKey of any spelling of a repository, including those
// Parse refuses (git://, http://, credentials, a query, no scheme at all as
// in github.com/acme/app): webhook payloads name repositories in every form.
// It is "" for what is not a repository URL. MatchKey of a MatchKey is
// itself.
func MatchKey(raw string) string {
	s, err := split(raw, true)
	if err != nil || s.host == "" {
		return ""
	}
	u := URL{scheme: s.scheme, host: s.host, port: s.port, path: s.path, scp: s.scp}
	return u.MatchKey()
}

// parts is a URL split, before any policy.
type parts struct {
	scheme                string
	user                  string
	hasUser, hasPassword  bool
	host, port, path      string
	scp                   bool
	originalWithoutSecret string
}

func (s parts) redacted() string { return s.originalWithoutSecret }

// split splits raw. lenient (for matching) also takes a query or fragment
// (dropped), any scheme, and a schemeless host[:port]/path.
func split(raw string, lenient bool) (parts, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return parts{}, refuse(ErrInvalid, "", "the URL is empty: set it to an https:// or ssh URL")
	}
	if len(raw) > MaxLength {
		return parts{}, refuse(ErrInvalid, "", "the URL is longer than %d characters", MaxLength)
	}
	for _, r := range raw {
		if r < 0x21 || r == 0x7f || r == '\\' {
			return parts{}, refuse(ErrInvalid, "", "the URL holds a space, a backslash or a control character")
		}
	}
	if i := strings.Index(raw, "://"); i > 0 && validScheme(raw[:i]) {
		return splitURL(raw, lenient)
	}
	if isLocalPath(raw, lenient) {
		return parts{}, refuse(ErrLocal, "", "a path on the provider's own file system is never read: use an https:// or ssh URL")
	}
	if h, _, ok := strings.Cut(raw, "::"); ok && validScheme(h) {
		return parts{}, refuse(ErrScheme, "", "git remote-helper syntax (<transport>::<address>) is not supported: use https:// or ssh://")
	}
	// scp-like [user[:password]@]host:path: a ':' after the host and before
	// any '/'. The user part may itself hold a ':' (a password).
	userinfo, rest := "", raw
	firstSlash := strings.Index(raw, "/")
	if firstSlash < 0 {
		firstSlash = len(raw)
	}
	if at := strings.LastIndex(raw[:firstSlash], "@"); at >= 0 {
		userinfo, rest = raw[:at], raw[at+1:]
	}
	colon := strings.Index(rest, ":")
	if strings.HasPrefix(rest, "[") {
		colon = colonAfterBracket(rest)
	}
	slash := strings.Index(rest, "/")
	if colon < 0 || slash >= 0 && slash < colon {
		if lenient && slash > 0 {
			return splitURL("schemeless://"+raw, lenient)
		}
		return parts{}, refuse(ErrLocal, "", "a URL with no scheme is a path on the provider's own file system, never read: use an https:// or ssh URL")
	}
	return splitSCP(userinfo, userinfo != "" || strings.Contains(raw[:firstSlash], "@"), rest[:colon], rest[colon+1:], lenient)
}

func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func isLocalPath(s string, lenient bool) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") {
		return true
	}
	// A Windows drive letter: C:/x or C:x. (Matching reads it as a one-letter
	// host, so that a MatchKey such as a:1/x parses back to itself.)
	return !lenient && len(s) >= 2 && s[1] == ':' && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// colonAfterBracket is the index of the first ':' after the closing ']' of
// an IPv6 literal, or -1.
func colonAfterBracket(s string) int {
	end := strings.Index(s, "]")
	if end < 0 {
		return -1
	}
	if i := strings.Index(s[end:], ":"); i >= 0 {
		return end + i
	}
	return -1
}

// splitSCP splits git's scp-like syntax [user@]host:path.
func splitSCP(userinfo string, hasUser bool, authority, path string, lenient bool) (parts, error) {
	s := parts{scheme: SSH, scp: true, user: userinfo, hasUser: hasUser}
	if user, _, ok := strings.Cut(s.user, ":"); ok {
		s.user, s.hasPassword = user, true
	}
	raw := authority + ":" + path
	if hasUser {
		raw = userinfo + "@" + raw
	}
	login := ""
	if s.hasUser {
		login = s.user + "@"
	}
	s.originalWithoutSecret = login + authority + ":" + path
	if !s.hasUser && isAllDigits(strings.SplitN(path, "/", 2)[0]) && strings.Contains(path, "/") {
		// host:2222/repo: git reads a path "2222/repo", a reader a port.
		if lenient {
			return splitURL("schemeless://"+raw, lenient)
		}
		return parts{}, refuse(ErrInvalid, s.originalWithoutSecret, "host:<digits>/path is ambiguous: write ssh://%s:%s or git@%s:%s", authority, path, authority, path)
	}
	if s.hasUser && !validUser(s.user) {
		return parts{}, refuse(ErrInvalid, "", "the ssh login user is not a valid user name")
	}
	if _, ok := defaultPorts[strings.ToLower(authority)]; ok || strings.EqualFold(authority, "file") {
		return parts{}, refuse(ErrInvalid, "", "%s: is not followed by //: write %s://host/path", authority, strings.ToLower(authority))
	}
	host, err := validHost(authority)
	if err != nil {
		return parts{}, err
	}
	s.host = host
	if lenient {
		path = cutQuery(path)
	} else if strings.ContainsAny(path, "?#") {
		return parts{}, refuse(ErrInvalid, s.originalWithoutSecret, "a repository URL has no query or fragment: remove what follows ? or #")
	}
	if err := validEscapes(path, s.originalWithoutSecret); err != nil {
		return parts{}, err
	}
	if err := validPath(path, s.originalWithoutSecret); err != nil {
		return parts{}, err
	}
	s.path = strings.TrimRight(path, "/")
	return s, nil
}

// splitURL splits scheme://[userinfo@]host[:port]/path.
func splitURL(raw string, lenient bool) (parts, error) {
	i := strings.Index(raw, "://")
	scheme := strings.ToLower(raw[:i])
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	s := parts{scheme: scheme}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		s.hasUser = true
		s.user = authority[:at]
		authority = authority[at+1:]
		if user, _, ok := strings.Cut(s.user, ":"); ok {
			s.user, s.hasPassword = user, true
		}
	}
	login := ""
	if s.hasUser && !s.hasPassword && (scheme == SSH) {
		login = s.user + "@"
	}
	shownScheme := scheme + "://"
	if scheme == "schemeless" {
		shownScheme = ""
	}
	s.originalWithoutSecret = shownScheme + login + authority + tail
	if scheme == "file" {
		return s, nil // refused by Parse; no host to check
	}
	host, port, err := splitHostPort(authority)
	if err != nil {
		return parts{}, refuse(ErrInvalid, s.originalWithoutSecret, "%v", err)
	}
	if host, err = validHost(host); err != nil {
		return parts{}, err
	}
	s.host = host
	if port == defaultPorts[s.scheme] {
		port = ""
	}
	s.port = port
	if s.hasUser && s.scheme == SSH && !validUser(s.user) {
		return parts{}, refuse(ErrInvalid, "", "the ssh login user is not a valid user name")
	}
	if lenient {
		tail = cutQuery(tail)
	} else if strings.ContainsAny(tail, "?#") {
		return parts{}, refuse(ErrInvalid, s.originalWithoutSecret, "a repository URL has no query or fragment: remove what follows ? or #")
	}
	if err := validEscapes(tail, s.originalWithoutSecret); err != nil {
		return parts{}, err
	}
	// Checked once unescaped: %2e%2e is "..".
	tail = canonicalEscapes(tail)
	if err := validPath(tail, s.originalWithoutSecret); err != nil {
		return parts{}, err
	}
	s.path = strings.TrimRight(tail, "/")
	return s, nil
}

func cutQuery(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i]
	}
	return s
}

func isAllDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// splitHostPort splits host[:port]; an IPv6 host keeps its brackets. A
// port is 1-65535 and comes back without leading zeros.
func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]")
		if end < 0 {
			return "", "", errors.Errorf("unterminated IPv6 address in %q", a)
		}
		rest := a[end+1:]
		host = a[:end+1]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", errors.Errorf("unexpected %q after the IPv6 address", rest)
		}
		port = rest[1:]
		a = host
	} else if h, p, ok := strings.Cut(a, ":"); ok {
		host, port = h, p
	} else {
		host = a
	}
	if port == "" {
		return host, "", nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || !isAllDigits(port) || n < 1 || n > 65535 {
		return "", "", errors.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return host, strconv.Itoa(n), nil
}

// validHost lower-cases a DNS name or IP address (IPv6 in brackets).
func validHost(h string) (string, error) {
	h = strings.ToLower(h)
	if strings.HasPrefix(h, "[") {
		ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
		if ip == nil || !strings.HasSuffix(h, "]") || ip.To4() != nil {
			return "", refuse(ErrInvalid, "", "host %q is not an IPv6 address", h)
		}
		return "[" + ip.String() + "]", nil
	}
	if h == "" || len(h) > 253 || h[0] == '-' || h[0] == '.' || h[len(h)-1] == '-' || h[len(h)-1] == '.' {
		return "", refuse(ErrInvalid, "", "host %q is not a DNS name or IP address", h)
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return "", refuse(ErrInvalid, "", "host %q is not a DNS name or IP address", h)
		}
	}
	if strings.Contains(h, "..") {
		return "", refuse(ErrInvalid, "", "host %q is not a DNS name or IP address", h)
	}
	return h, nil
}

func validUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validPath refuses an empty path and "." or ".." segments.
func validPath(p, shown string) error {
	if trimPath(lowerASCII(p)) == "" {
		return refuse(ErrInvalid, shown, "the URL names no repository: add its path, as in https://github.com/acme/config")
	}
	// What Key and MatchKey keep of the path too: "..git" trims to ".".
	for _, q := range []string{p, trimPath(p), trimPath(lowerASCII(p))} {
		for _, seg := range strings.Split(q, "/") {
			if seg == "." || seg == ".." {
				return refuse(ErrInvalid, shown, "the path has a %q segment: write the repository's path without it", seg)
			}
		}
	}
	return nil
}

func validEscapes(p, shown string) error {
	if _, err := url.PathUnescape(p); err != nil {
		return refuse(ErrInvalid, shown, "the path has a %% not followed by two hex digits: escape it as %%25")
	}
	return nil
}

// canonicalEscapes writes p's percent-escapes in one form: an unreserved
// character (RFC 3986 2.3) decoded, since %61 and a are one path to every
// server, and the hex digits of any other in upper case.
func canonicalEscapes(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		hi, lo := unhex(p[i+1]), unhex(p[i+2])
		if hi < 0 || lo < 0 {
			b.WriteByte(p[i])
			continue
		}
		c := byte(hi<<4 | lo)
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString(strings.ToUpper(p[i : i+3]))
		}
		i += 2
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
