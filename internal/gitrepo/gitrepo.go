// Package gitrepo keeps one cached bare clone per git repository URL, fetches
// it incrementally, reads trees and history at a commit, and publishes a whole
// tree to a branch without ever force-pushing.
//
// Credentials never appear in a URL handed to go-git, in the cache's git
// config, or in an error: userinfo in a repository URL is taken out of the URL
// and used as basic auth, and every message carries the redacted URL.
package gitrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5"
)

// Auth holds the credentials for one repository. The zero value is
// anonymous. Password may be a token: with no Username, the token is sent as
// basic auth with username "x-access-token". For an encrypted SSH key,
// Password is its passphrase.
type Auth struct {
	Username, Password string
	// SSHPrivateKey is a PEM or OpenSSH private key; SSHKnownHosts the
	// known_hosts lines that authenticate the server. An ssh URL needs both.
	SSHPrivateKey, SSHKnownHosts []byte
	// InsecureIgnoreHostKey lets an ssh connection go ahead without
	// SSHKnownHosts, accepting any host key. For tests and demos only: it is
	// never implied.
	InsecureIgnoreHostKey bool
}

// IsZero reports whether a is anonymous.
func (a Auth) IsZero() bool {
	return a.Username == "" && a.Password == "" && len(a.SSHPrivateKey) == 0 &&
		len(a.SSHKnownHosts) == 0 && !a.InsecureIgnoreHostKey
}

// Signature is the author and committer of the commits Publish makes.
type Signature struct {
	Name, Email string
}

// Commit is one commit of a repository's history.
type Commit struct {
	Hash    string
	Message string
	Parents []string
	// Paths changed against the first parent (every path for a root commit),
	// sorted.
	Paths []string
	When  time.Time // committer time
}

// Cache holds one bare clone per repository URL under a directory.
type Cache struct {
	dir   string
	mu    sync.Mutex
	repos map[string]*Repo
}

// NewCache returns a Cache keeping its clones under dir, one directory per
// repository named after a hash of the normalized URL (without credentials).
func NewCache(dir string) *Cache {
	return &Cache{dir: dir, repos: map[string]*Repo{}}
}

// Repo returns the repository at url; the same *Repo for every spelling of
// one URL (a trailing ".git" or "/" does not matter). Credentials in url are
// used as basic auth when a call passes a zero Auth; the latest ones win.
func (c *Cache) Repo(url string) *Repo {
	u := parseURL(url)
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.repos[u.key]
	if !ok {
		sum := sha256.Sum256([]byte(u.key))
		r = &Repo{dir: filepath.Join(c.dir, hex.EncodeToString(sum[:16]))}
		c.repos[u.key] = r
	}
	r.url.Store(u)
	return r
}

// Repo is one cached repository. Every method is safe for concurrent use.
type Repo struct {
	dir string
	url atomic.Pointer[repoURL]

	mu   sync.Mutex // guards repo and the on-disk clone
	repo *git.Repository
}

// URL is the repository's URL with any credentials removed.
func (r *Repo) URL() string { return r.url.Load().clean }

// repoURL is a repository URL split into its credential-free form and the
// credentials it carried.
type repoURL struct {
	clean    string // what go-git sees and what messages show
	key      string // normalized clean, the cache key
	user     string // userinfo, if any
	password string
	ssh      bool
	scpLike  bool
}

func parseURL(raw string) *repoURL {
	raw = strings.TrimSpace(raw)
	u := &repoURL{}
	i := strings.Index(raw, "://")
	if i < 0 {
		// Local path or scp-like ssh (user@host:path): the user is an ssh
		// login, never a secret.
		u.clean = raw
		u.scpLike = isSCPLike(raw)
		u.ssh = u.scpLike
		u.key = normalize(raw)
		return u
	}
	scheme := strings.ToLower(raw[:i])
	rest := raw[i+3:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	authority := rest[:authEnd]
	u.ssh = scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git"
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo := authority[:at]
		host := authority[at+1:]
		u.user, u.password, _ = strings.Cut(userinfo, ":")
		if u.ssh && u.user != "" {
			// The ssh login stays (it selects the account); a password goes.
			host = u.user + "@" + host
		}
		rest = host + rest[authEnd:]
	}
	u.clean = scheme + "://" + rest
	u.key = normalize(u.clean)
	return u
}

// isSCPLike reports whether s is git's scp-like ssh syntax [user@]host:path.
func isSCPLike(s string) bool {
	colon := strings.Index(s, ":")
	if colon <= 0 {
		return false
	}
	slash := strings.Index(s, "/")
	if slash >= 0 && slash < colon {
		return false
	}
	// A Windows drive letter such as C:\x is a path.
	return !(colon == 1 && len(s) > 2 && (s[2] == '\\' || s[2] == '/'))
}

func normalize(u string) string {
	u = strings.TrimRight(u, "/")
	u = strings.TrimSuffix(u, ".git")
	return strings.TrimRight(u, "/")
}

// redact returns url with any credentials removed: all userinfo of an http,
// https, git or file URL, and the password of an ssh URL (its login stays).
func redact(url string) string {
	return parseURL(url).clean
}
