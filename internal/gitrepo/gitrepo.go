// Package gitrepo keeps cached bare clones of git repositories, fetches them
// incrementally, reads trees and history at a commit, and publishes a whole
// tree to a branch without ever force-pushing.
//
// A clone belongs to one repository and one set of credentials: two tenants
// whose credentials differ never share a clone, so neither reads objects the
// other fetched nor sends the other's credentials. Repository URLs are
// repourl.URLs, which never carry credentials; every message carries the URL.
//
// Disk is bounded: a fetch that would make one clone larger than
// MaxRepoBytes is refused with ErrTooLarge, and when all clones together
// pass MaxBytes the least recently used ones nobody holds are deleted.
// Memory is bounded too: a fetched pack is checked as it streams in, and
// one whose objects inflate past PackLimits is refused with ErrTooLarge
// before go-git inflates them.
package gitrepo

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5"

	"github.com/k8sta/k8sta/internal/coalesce"
	"github.com/k8sta/k8sta/internal/repourl"
)

// Defaults of the cache's disk bounds; the provider's flags
// --git-cache-max-repo-bytes and --git-cache-max-bytes default to them.
const (
	DefaultMaxRepoBytes int64 = 256 << 20 // 256 MiB per clone
	DefaultMaxBytes     int64 = 4 << 30   // 4 GiB for all clones
)

// DefaultFetchWindow is how old a fetch Fetch accepts: one that started at
// most this long ago (the provider's --git-fetch-window defaults to it).
//
// Two seconds covers one burst: the Subscriptions and Tickets one event
// wakes are reconciled by the controllers' workers within a second or two
// of each other, so they share one or two fetches instead of making one
// each. It is short against what it delays: a periodic poll sees a push at
// most this much later, against a poll interval of at least 30 s. Nobody
// relies on it for correctness: a caller woken by a webhook asks for a fetch
// that started after the webhook arrived (FetchSince), and Publish never
// trusts a head it read, since every push is compare-and-swap.
const DefaultFetchWindow = 2 * time.Second

// fetchTimeout bounds one fetch. A fetch runs for all its callers, under
// none of their contexts (one caller giving up must not fail the others), so
// it needs a bound of its own: the time a managed resource's reconcile may
// take, which bounded each caller's own fetch before fetches were shared.
const fetchTimeout = time.Minute

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

// An Option configures a Cache.
type Option func(*Cache)

// WithPolicy sets which plain-http hosts the cache may reach. The default
// allows plain http to no host, loopback included.
func WithPolicy(p repourl.Policy) Option {
	return func(c *Cache) { c.policy = p }
}

// WithMaxRepoBytes bounds the disk one clone may use.
func WithMaxRepoBytes(n int64) Option {
	return func(c *Cache) { c.maxRepoBytes = n }
}

// WithPackLimits bounds what indexing one fetched pack may cost in memory
// and time; see PackLimits.
func WithPackLimits(l PackLimits) Option {
	return func(c *Cache) { c.packs = l }
}

// WithFetchWindow sets how old a fetch Fetch accepts (see
// DefaultFetchWindow). Zero makes every Fetch wait for a fetch that starts
// after it is called; callers that arrive together still share one.
func WithFetchWindow(d time.Duration) Option {
	return func(c *Cache) { c.fetchWindow = d }
}

// A RequestObserver is told of each request the cache makes to a remote:
// its operation (OpFetch, OpPush), its result (RequestResult's words) and
// how long it took. A fetch that callers share is one request. It must not
// block.
type RequestObserver func(operation, result string, took time.Duration)

// Operations a RequestObserver is told of.
const (
	OpFetch = "fetch"
	OpPush  = "push"
)

// WithRequestObserver has the cache tell o of every request to a remote.
func WithRequestObserver(o RequestObserver) Option {
	return func(c *Cache) { c.observe = o }
}

// WithMaxBytes bounds the disk all clones nobody holds may use together.
func WithMaxBytes(n int64) Option {
	return func(c *Cache) { c.maxBytes = n }
}

// Cache holds one bare clone per repository and credential identity under a
// directory.
type Cache struct {
	dir          string
	policy       repourl.Policy
	maxRepoBytes int64
	maxBytes     int64
	packs        PackLimits
	fetchWindow  time.Duration
	observe      RequestObserver
	// salt keys the identity digest that names each clone's directory, so
	// the name is no guessable hash of a token. It lives as long as the
	// process: NewCache removes the clones of earlier processes.
	salt [32]byte

	mu    sync.Mutex
	repos map[string]*Repo // by identity
	total int64            // bytes of every clone in repos
	tick  uint64           // use counter, for least-recently-used order
	gen   uint64           // makes every clone directory name unique
}

// cloneDirRE matches the directories NewCache creates (and the older
// hash-of-URL ones), the only entries it ever removes.
var cloneDirRE = regexp.MustCompile(`^[0-9a-f]{32}(-[0-9]+)?$`)

// NewCache returns a Cache keeping its clones under dir. Clones an earlier
// process left there are removed: their names are keyed with that process's
// salt, so nothing could find them again.
func NewCache(dir string, opts ...Option) (*Cache, error) {
	c := &Cache{dir: dir, maxRepoBytes: DefaultMaxRepoBytes, maxBytes: DefaultMaxBytes, packs: DefaultPackLimits(), fetchWindow: DefaultFetchWindow, repos: map[string]*Repo{}}
	for _, o := range opts {
		o(c)
	}
	if c.observe == nil {
		c.observe = func(string, string, time.Duration) {}
	}
	if c.maxRepoBytes <= 0 || c.maxBytes <= 0 || !c.packs.valid() {
		return nil, errors.New("cache size bounds must be positive")
	}
	if c.fetchWindow < 0 {
		return nil, errors.New("the fetch window must not be negative")
	}
	followNoRedirects()
	_, _ = rand.Read(c.salt[:]) // never fails (crypto/rand)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errors.Wrap(err, "cannot create cache directory")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, errors.Wrap(err, "cannot read cache directory")
	}
	for _, e := range entries {
		if e.IsDir() && cloneDirRE.MatchString(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, errors.Wrap(err, "cannot remove a stale clone")
			}
		}
	}
	return c, nil
}

// Policy is the plain-http allow-list the cache enforces: parse repository
// URLs with it.
func (c *Cache) Policy() repourl.Policy { return c.policy }

// Repo returns the clone of u for auth, and holds it: it is not evicted
// until Release. Every caller with the same repository (any spelling of u's
// Key) and the same credentials gets the same *Repo; other credentials get
// another clone, so no caller ever uses objects fetched or refs written with
// credentials it does not hold. u must be allowed by the cache's policy.
func (c *Cache) Repo(u repourl.URL, auth Auth) (*Repo, error) {
	if err := c.policy.Check(u); err != nil {
		return nil, err
	}
	id := c.identity(u, auth)
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.repos[id]
	if !ok {
		c.gen++
		r = &Repo{cache: c, id: id, url: u, auth: auth, dir: filepath.Join(c.dir, id+"-"+strconv.FormatUint(c.gen, 10))}
		r.fetches.Timeout = fetchTimeout
		c.repos[id] = r
	}
	r.pins++
	c.tick++
	r.lastUse = c.tick
	return r, nil
}

// identity is an HMAC of the repository's Key, the ssh login and every
// credential: equal for equal credentials, unrelated otherwise, anonymous
// its own.
func (c *Cache) identity(u repourl.URL, a Auth) string {
	m := hmac.New(sha256.New, c.salt[:])
	insecure := []byte{0}
	if a.InsecureIgnoreHostKey {
		insecure[0] = 1
	}
	for _, f := range [][]byte{[]byte(u.Key()), []byte(u.User()), []byte(a.Username), []byte(a.Password), a.SSHPrivateKey, a.SSHKnownHosts, insecure} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		m.Write(n[:])
		m.Write(f)
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// pin holds r as Cache.Repo does: Release lets it go.
func (r *Repo) pin() {
	r.cache.mu.Lock()
	r.pins++
	r.cache.mu.Unlock()
}

// Release lets the cache evict r again once nobody else holds it. Call it
// once for every Cache.Repo that returned r.
func (r *Repo) Release() {
	c := r.cache
	c.mu.Lock()
	if r.pins > 0 {
		r.pins--
	}
	c.tick++
	r.lastUse = c.tick
	c.mu.Unlock()
	c.evict()
}

// resize records r's size on disk after a fetch or push, and evicts.
// Callers hold r.mu.
func (c *Cache) resize(r *Repo, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.repos[r.id] == r {
		c.total += n - r.size
	}
	r.size = n
}

// evict deletes least recently used clones nobody holds until all clones fit
// in maxBytes. A held clone is never deleted.
func (c *Cache) evict() {
	var victims []*Repo
	c.mu.Lock()
	for c.total > c.maxBytes {
		var lru *Repo
		for _, r := range c.repos {
			if r.pins == 0 && (lru == nil || r.lastUse < lru.lastUse) {
				lru = r
			}
		}
		if lru == nil {
			break
		}
		delete(c.repos, lru.id)
		c.total -= lru.size
		victims = append(victims, lru)
	}
	c.mu.Unlock()
	for _, r := range victims {
		r.mu.Lock()
		r.gone = true
		r.repo, r.store = nil, nil
		_ = os.RemoveAll(r.dir) // best effort: a leftover goes with the next process
		r.fetches.Forget()
		r.mu.Unlock()
	}
}

// Usage is what the cache holds: how many clones and their bytes on disk.
func (c *Cache) Usage() (clones int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.repos), c.total
}

// Repo is one cached clone. Every method is safe for concurrent use.
type Repo struct {
	cache *Cache
	id    string
	url   repourl.URL
	auth  Auth
	dir   string

	// Guarded by cache.mu.
	pins    int
	lastUse uint64
	size    int64

	// fetches shares one fetch among the callers that need one at the same
	// time (see FetchSince).
	fetches coalesce.Flight[struct{}]

	mu    sync.Mutex // guards the fields below and the on-disk clone
	repo  *git.Repository
	store *limitedStorage
	gone  bool   // evicted: the clone is deleted
	epoch uint64 // how often the clone was reset: a Tree reads one epoch
}

// URL is the repository's URL, without credentials.
func (r *Repo) URL() string { return r.url.String() }

// errEvicted is returned by a Repo used after Release let the cache delete
// it: a caller bug, never a remote's answer.
var errEvicted = errors.New("the clone was evicted from the cache after Release: get the repository from the Cache again")

// dirSize is the bytes of every regular file under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return nil //nolint:nilerr // removed meanwhile
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
