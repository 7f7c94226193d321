package registry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/coalesce"
)

// A Selection is the image a Policy selected.
type Selection struct {
	// Repository is the Policy's repository, as written.
	Repository string
	// Tag is the selected tag.
	Tag string
	// Digest is the manifest digest the tag resolved to: for a multi-arch
	// tag the digest of the index, so that every platform runs the same
	// release.
	Digest string
	// Created is the image config's created time (of the Policy's
	// platform for an index). Only NewestBuild reads it; it is zero for
	// the other strategies.
	Created time.Time
}

// Image returns the Selection as the image of a Change.
func (s Selection) Image() v1alpha1.Image {
	return v1alpha1.Image{Repository: s.Repository, Tag: s.Tag, Digest: s.Digest}
}

// A RateLimitedError says a registry answered 429 Too Many Requests or 503
// Service Unavailable. The Client makes no request to that registry until
// RetryAfter has passed; Select fails fast with this error meanwhile.
type RateLimitedError struct {
	// Registry is the registry host, e.g. ghcr.io.
	Registry string
	// StatusCode is 429 or 503.
	StatusCode int
	// RetryAfter is how long to wait: the registry's Retry-After, or a
	// growing default when it sent none.
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	what := "rate-limited us"
	if e.StatusCode == http.StatusServiceUnavailable {
		what = "is unavailable (503)"
	}
	return fmt.Sprintf("registry %s %s; retrying after %s", e.Registry, what, e.RetryAfter.Round(time.Second))
}

// RetryAfter returns how long to wait before polling again when err is, or
// wraps, a *RateLimitedError.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// An Option configures a Client.
type Option func(*Client)

// WithKeychain sets the credentials, e.g. from NewKeychain. The default is
// anonymous access.
func WithKeychain(kc authn.Keychain) Option {
	return func(c *Client) { c.keychain = kc }
}

// WithTransport sets the HTTP transport (tests count requests with it).
// The default is remote.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.transport = rt }
}

// A RequestObserver is told of each HTTP request a Client sends to a
// registry (or its token service): its operation (RequestOperation's words)
// and result (RequestResult's). Retries are requests of their own. It must
// not block.
type RequestObserver func(operation, result string)

// WithRequestObserver has the Client tell o of every request it sends.
func WithRequestObserver(o RequestObserver) Option {
	return func(c *Client) { c.observe = o }
}

// WithInsecureRegistries names registry hosts (host[:port]) reached over
// plain HTTP. Loopback and localhost registries always are.
func WithInsecureRegistries(hosts ...string) Option {
	return func(c *Client) {
		for _, h := range hosts {
			c.insecure[strings.ToLower(h)] = true
		}
	}
}

// WithUserAgent sets the User-Agent sent to registries.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// DefaultTagsWindow is how old a tags list Select accepts: one whose
// request started at most this long ago (the provider's
// --registry-tags-window defaults to it). Like gitrepo.DefaultFetchWindow:
// it covers the burst of polls one event causes, so that the Subscriptions
// following one image repository share one tags list, and it is short
// against the poll interval. A poll woken by a webhook asks for a list
// started after the webhook arrived (SelectSince).
const DefaultTagsWindow = 2 * time.Second

// tagsTimeout bounds one tags list. A list runs for all the polls that
// share it, under none of their contexts, so it needs a bound of its own.
const tagsTimeout = time.Minute

// WithTagsWindow sets how old a tags list Select accepts (see
// DefaultTagsWindow). Zero makes every Select list the tags afresh;
// concurrent ones still share.
func WithTagsWindow(d time.Duration) Option {
	return func(c *Client) { c.tagsWindow = max(d, 0) }
}

// withClock replaces time.Now (tests).
func withClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// A Client selects images from registries. It keeps, per repository, the
// tag → digest cache, what it learned of each manifest (platforms, created
// times), and one authenticated connection, so that an idle poll costs one
// tags-list request, and polls of one repository at the same time share
// it. A Client is safe for concurrent use; polls of one repository resolve
// tags one at a time. Keep one Client per set of credentials: what it
// learned with them is never shared with a Client of other credentials. It
// remembers at most DefaultMaxRepositories repositories (WithMaxRepositories).
type Client struct {
	keychain   authn.Keychain
	transport  http.RoundTripper
	insecure   map[string]bool
	userAgent  string
	now        func() time.Time
	tagsWindow time.Duration
	observe    RequestObserver

	redact *redactor
	rt     http.RoundTripper // transport wrapped with the rate-limit watch

	// onTagList, when set, prepares each new tags-list Flight (tests).
	onTagList func(*coalesce.Flight[[]string])

	// maxRepos bounds repos: past it, the repository polled longest ago is
	// forgotten (its next poll resolves its tags again).
	maxRepos int

	mu      sync.Mutex
	repos   map[string]*repoState
	lists   map[string]*tagList    // by repository, only while used or kept
	limited map[string]*limitState // by registry host
}

// NewClient returns a Client.
func NewClient(opts ...Option) *Client {
	c := &Client{
		keychain:   authn.NewMultiKeychain(), // anonymous
		transport:  remote.DefaultTransport,
		insecure:   map[string]bool{},
		userAgent:  "k8sta",
		now:        time.Now,
		tagsWindow: DefaultTagsWindow,
		maxRepos:   DefaultMaxRepositories,
		repos:      map[string]*repoState{},
		lists:      map[string]*tagList{},
		limited:    map[string]*limitState{},
	}
	for _, o := range opts {
		o(c)
	}
	c.redact = &redactor{}
	c.keychain = &redactingKeychain{kc: c.keychain, r: c.redact}
	c.rt = &limitTransport{next: c.transport, c: c}
	return c
}

// DefaultMaxRepositories is how many repositories a Client remembers what
// it learned of (tags and digests, manifests, skipped builds): a tenant may
// name many, each with up to MaxTags tags.
const DefaultMaxRepositories = 1024

// WithMaxRepositories changes DefaultMaxRepositories.
func WithMaxRepositories(n int) Option {
	return func(c *Client) { c.maxRepos = max(n, 1) }
}

// repoState is what a Client knows about one repository.
type repoState struct {
	// used is when a poll last asked for it; guarded by the Client's mu.
	used time.Time

	mu      sync.Mutex
	puller  *remote.Puller
	tags    map[string]v1.Hash        // tag → digest, as last resolved
	infos   map[v1.Hash]*manifestInfo // by manifest digest: immutable
	configs map[v1.Hash]configInfo    // by image manifest digest: immutable
	// skipped are, per NewestBuild policy, the tags its first poll left
	// unread for the discovery limit: they are never read.
	skipped map[string]map[string]struct{}
}

// manifestInfo is what a manifest says about platforms.
type manifestInfo struct {
	index    bool
	children []child // index only
}

type child struct {
	platform *v1.Platform
	digest   v1.Hash
}

type configInfo struct {
	platform *v1.Platform
	created  time.Time
}

func (c *Client) repo(key string) *repoState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.repos[key]
	if !ok {
		if len(c.repos) >= c.maxRepos {
			c.forgetLeastUsedRepo()
		}
		st = &repoState{
			tags:    map[string]v1.Hash{},
			infos:   map[v1.Hash]*manifestInfo{},
			configs: map[v1.Hash]configInfo{},
			skipped: map[string]map[string]struct{}{},
		}
		c.repos[key] = st
	}
	st.used = c.now()
	return st
}

// forgetLeastUsedRepo forgets the repository polled longest ago; c.mu is
// held. A poll still using it keeps its own reference.
func (c *Client) forgetLeastUsedRepo() {
	var oldest string
	var at time.Time
	for k, st := range c.repos {
		if oldest == "" || st.used.Before(at) {
			oldest, at = k, st.used
		}
	}
	delete(c.repos, oldest)
}

// tagList shares one tags list of a repository among the polls that need
// one at the same time, and keeps it for the tags window only (see
// SelectSince): a list can hold MaxTags tags, and a tenant can name many
// repositories. It is dropped, list and all, once no poll uses it and it
// keeps no list.
type tagList struct {
	flight coalesce.Flight[[]string]
	users  int // polls using flight; guarded by Client.mu
}

// tags returns the tags of the repository key from a list that started no
// earlier than notBefore, sharing it with the polls of key at the same time.
func (c *Client) tags(ctx context.Context, key string, notBefore time.Time, list func(context.Context) ([]string, error)) ([]string, error) {
	c.mu.Lock()
	tl, ok := c.lists[key]
	if !ok {
		tl = &tagList{}
		tl.flight.Timeout = tagsTimeout
		// The window is how old a list a poll accepts: keeping it longer
		// serves nobody.
		tl.flight.Keep = c.tagsWindow
		if c.tagsWindow == 0 {
			tl.flight.Keep = -1 // none
		}
		tl.flight.OnIdle = func() { c.dropTagList(key, tl) }
		if c.onTagList != nil {
			c.onTagList(&tl.flight)
		}
		c.lists[key] = tl
	}
	tl.users++
	c.mu.Unlock()

	tags, err := tl.flight.Do(ctx, notBefore, list)

	c.mu.Lock()
	tl.users--
	c.mu.Unlock()
	c.dropTagList(key, tl)
	return tags, err
}

// dropTagList forgets tl once no poll uses it and it holds no list nor
// call: a later poll starts a new one.
func (c *Client) dropTagList(key string, tl *tagList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists[key] == tl && tl.users == 0 && tl.flight.Idle() {
		delete(c.lists, key)
	}
}

// Select returns the image the Policy selects now. An idle poll (no new
// tag) makes one tags-list request, and no manifest request for a tag it
// has resolved before. The Digest strategy makes one HEAD request of its
// tag instead, and no tags-list request. A rate-limited registry yields a
// *RateLimitedError. Errors never contain a credential.
//
// Select accepts a tags list whose request started within the Client's
// window (WithTagsWindow): polls of one repository at the same time share
// one. Use SelectSince to need a newer one.
func (c *Client) Select(ctx context.Context, p Policy) (Selection, error) {
	return c.SelectSince(ctx, p, time.Time{})
}

// SelectSince is Select for a poll that knows the moment that matters, such
// as when a webhook announcing a new tag arrived: it selects from a tags
// list whose request started no earlier than notBefore (nor before the
// window). A list in flight that started too early is not shared: the poll
// waits for it to end and shares the next one. A list's error goes to the
// polls that shared it only, never to later ones. When ctx ends,
// SelectSince returns at once; the list goes on for the others.
func (c *Client) SelectSince(ctx context.Context, p Policy, notBefore time.Time) (Selection, error) {
	cp, err := p.compile()
	if err != nil {
		return Selection{}, err
	}
	host := cp.repo.RegistryStr()
	if c.insecure[strings.ToLower(host)] {
		r, err := name.NewRepository(p.Repository, name.Insecure)
		if err != nil {
			return Selection{}, errors.Wrap(err, "cannot parse repository")
		}
		cp.repo = r
	}
	if rl := c.blocked(host); rl != nil {
		return Selection{}, rl
	}

	st := c.repo(cp.repo.Name())
	var tags []string
	if cp.strategy != Digest {
		// Listed before the repository is locked, so that concurrent polls
		// wait for one list together rather than one after another.
		if w := time.Now().Add(-c.tagsWindow); notBefore.Before(w) {
			notBefore = w
		}
		tags, err = c.tags(ctx, cp.repo.Name(), notBefore, func(ctx context.Context) ([]string, error) {
			return c.listTags(ctx, st, cp)
		})
		if err != nil {
			st.mu.Lock()
			st.puller = nil // it may remember a failed authentication
			st.mu.Unlock()
			return Selection{}, c.explain(err, host, "cannot list tags of "+cp.Repository)
		}
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	pl, err := st.pullerLocked(c)
	if err != nil {
		return Selection{}, err
	}
	s := &session{c: c, st: st, cp: cp, budget: cp.limit, puller: pl, tags: tags}
	sel, err := s.run(ctx)
	if err != nil {
		// A Puller remembers a failed authentication forever: start
		// afresh next time.
		st.puller = nil
		return Selection{}, err
	}
	return sel, nil
}

// pullerLocked returns the repository's Puller, creating it if need be.
// st.mu is held.
func (st *repoState) pullerLocked(c *Client) (*remote.Puller, error) {
	if st.puller == nil {
		pl, err := remote.NewPuller(
			remote.WithAuthFromKeychain(c.keychain),
			remote.WithTransport(c.rt),
			remote.WithUserAgent(c.userAgent),
			// 429 and 503 are not retried in place: Select reports them
			// and the caller polls again after Retry-After.
			remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout),
			remote.WithRetryBackoff(remote.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
			remote.WithPageSize(tagPageSize),
		)
		if err != nil {
			return nil, errors.Wrap(err, "cannot create registry client")
		}
		st.puller = pl
	}
	return st.puller, nil
}

// session is one Select of one repository, with the repository locked.
type session struct {
	c      *Client
	st     *repoState
	cp     *compiled
	budget int // resolutions of unknown tags left in this poll
	puller *remote.Puller
	tags   []string // the repository's tags (all strategies but Digest); shared: read only
}

var errBudget = errors.New("discovery limit reached")

func (s *session) run(ctx context.Context) (Selection, error) {
	cp := s.cp
	if cp.strategy == Digest {
		r, err := s.resolve(ctx, cp.Constraint, true, false)
		if err != nil {
			return Selection{}, err
		}
		if !r.match {
			return Selection{}, errors.Errorf("tag %s of %s has no image for platform %s", cp.Constraint, cp.Repository, cp.Platform)
		}
		return Selection{Repository: cp.Repository, Tag: cp.Constraint, Digest: r.digest.String(), Created: r.created}, nil
	}

	tags := s.tags
	s.st.prune(tags)
	cands := cp.candidates(tags)
	if len(cands) == 0 {
		return Selection{}, errors.Errorf("none of the %d tags of %s matches strategy %s with constraint %q, allowTags %q and ignoreTags %q", len(tags), cp.Repository, cp.strategy, cp.Constraint, cp.AllowTags, cp.IgnoreTags)
	}

	if cp.strategy == NewestBuild {
		// The first poll reads the DiscoveryLimit tags that sort last and
		// leaves the older rest unread for good. Later polls read the tags
		// that appeared since, up to DiscoveryLimit per poll; the rest wait
		// for the next poll. Tags read before cost nothing.
		key := cp.key()
		skipped, first := s.st.skipped[key]
		if !first {
			skipped = map[string]struct{}{}
		}
		var best *resolved
		bestTag := ""
		for _, t := range cands {
			if _, ok := skipped[t]; ok {
				continue
			}
			r, err := s.resolve(ctx, t, false, true)
			if errors.Is(err, errBudget) {
				if !first {
					skipped[t] = struct{}{}
				}
				continue
			}
			if err != nil {
				return Selection{}, err
			}
			if !r.match {
				continue
			}
			if best == nil || r.created.After(best.created) {
				best, bestTag = &r, t
			}
		}
		s.st.skipped[key] = skipped
		if best == nil {
			return Selection{}, s.noPlatform(len(cands))
		}
		return Selection{Repository: cp.Repository, Tag: bestTag, Digest: best.digest.String(), Created: best.created}, nil
	}

	for _, t := range cands {
		r, err := s.resolve(ctx, t, false, false)
		if errors.Is(err, errBudget) {
			return Selection{}, errors.Errorf("none of the %d best tags of %s has an image for platform %s; the next poll looks further (discoveryLimit bounds the tags resolved per poll)", cp.limit, cp.Repository, cp.Platform)
		}
		if err != nil {
			return Selection{}, err
		}
		if r.match {
			return Selection{Repository: cp.Repository, Tag: t, Digest: r.digest.String(), Created: r.created}, nil
		}
	}
	return Selection{}, s.noPlatform(len(cands))
}

// listTags lists the repository's tags, following pagination no further
// than MaxTagPages, MaxTags and MaxTagListBytes allow. Names that are not
// valid tags are skipped. It does not hold st.mu while it lists.
func (c *Client) listTags(ctx context.Context, st *repoState, cp *compiled) ([]string, error) {
	host := cp.repo.RegistryStr()
	st.mu.Lock()
	pl, err := st.pullerLocked(c)
	st.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ctx = withReadBudget(ctx, MaxTagListBytes, "the tags of "+cp.Repository)
	l, err := pl.Lister(ctx, cp.repo)
	if err != nil {
		return nil, err
	}
	var tags []string
	for pages := 0; l.HasNext(); pages++ {
		if pages == MaxTagPages {
			return nil, &TooLargeError{Registry: host, What: "the tags of " + cp.Repository, Limit: MaxTagPages, Unit: "pages", Fix: fixTooManyTags}
		}
		page, err := l.Next(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tags {
			if !tagRE.MatchString(t) {
				continue
			}
			if len(tags) == MaxTags {
				return nil, &TooLargeError{Registry: host, What: "the tags of " + cp.Repository, Limit: MaxTags, Unit: "tags", Fix: fixTooManyTags}
			}
			tags = append(tags, t)
		}
	}
	return tags, nil
}

func (s *session) noPlatform(n int) error {
	return errors.Errorf("none of the %d matching tags of %s has an image for platform %s", n, s.cp.Repository, s.cp.Platform)
}

type resolved struct {
	digest  v1.Hash
	match   bool // has the Policy's platform (always, without one)
	created time.Time
}

// resolve learns what the policy needs of a tag: its digest, whether it has
// the platform, and (created) its image's created time. Known tags and
// manifests cost nothing; a mutable tag costs one HEAD request; anything
// unknown costs one unit of the session's budget.
func (s *session) resolve(ctx context.Context, tag string, mutable, created bool) (resolved, error) {
	st, cp := s.st, s.cp
	want := cp.platform
	spent := false
	spend := func() error {
		if spent || mutable {
			return nil
		}
		if s.budget <= 0 {
			return errBudget
		}
		s.budget--
		spent = true
		return nil
	}
	host := cp.repo.RegistryStr()

	d, known := st.tags[tag]
	if mutable || (!known && want == nil && !created) {
		if err := spend(); err != nil {
			return resolved{}, err
		}
		desc, err := s.puller.Head(ctx, cp.repo.Tag(tag))
		if err != nil {
			return resolved{}, s.c.explain(err, host, fmt.Sprintf("cannot resolve tag %s of %s", tag, cp.Repository))
		}
		d, known = desc.Digest, true
		st.tags[tag] = d
	}
	if want == nil && !created {
		return resolved{digest: d, match: true}, nil
	}

	var got *remote.Descriptor
	info := st.infos[d]
	if !known || info == nil {
		if err := spend(); err != nil {
			return resolved{}, err
		}
		var ref name.Reference = cp.repo.Tag(tag)
		if known {
			ref = cp.repo.Digest(d.String())
		}
		desc, err := s.puller.Get(ctx, ref)
		if err != nil {
			return resolved{}, s.c.explain(err, host, fmt.Sprintf("cannot read the manifest of tag %s of %s", tag, cp.Repository))
		}
		got, d = desc, desc.Digest
		st.tags[tag] = d
		if info, err = newManifestInfo(desc); err != nil {
			return resolved{}, errors.Wrapf(err, "cannot read the manifest of tag %s of %s", tag, cp.Repository)
		}
		st.infos[d] = info
	}

	img := d
	if info.index {
		ch, ok := info.pick(want)
		if !ok {
			return resolved{digest: d}, nil
		}
		if !created {
			return resolved{digest: d, match: true}, nil
		}
		img, got = ch.digest, nil
	}
	cfg, ok := st.configs[img]
	if !ok {
		if err := spend(); err != nil {
			return resolved{}, err
		}
		if got == nil {
			desc, err := s.puller.Get(ctx, cp.repo.Digest(img.String()))
			if err != nil {
				return resolved{}, s.c.explain(err, host, fmt.Sprintf("cannot read the image manifest of tag %s of %s", tag, cp.Repository))
			}
			got = desc
		}
		i, err := got.Image()
		if err != nil {
			return resolved{}, errors.Wrapf(err, "cannot read the image of tag %s of %s", tag, cp.Repository)
		}
		m, err := i.Manifest()
		if err != nil {
			return resolved{}, errors.Wrapf(err, "cannot read the image manifest of tag %s of %s", tag, cp.Repository)
		}
		if m.Config.Size > MaxResponseBytes {
			// Refused on the manifest's word, before a byte is fetched.
			return resolved{}, &TooLargeError{Registry: host, What: fmt.Sprintf("the image config of tag %s of %s (%d bytes)", tag, cp.Repository, m.Config.Size), Limit: MaxResponseBytes, Unit: "bytes", Fix: fixTooLarge}
		}
		cf, err := i.ConfigFile()
		if err != nil {
			return resolved{}, s.c.explain(err, host, fmt.Sprintf("cannot read the image config of tag %s of %s", tag, cp.Repository))
		}
		cfg = configInfo{platform: cf.Platform(), created: cf.Created.Time}
		st.configs[img] = cfg
	}
	r := resolved{digest: d, match: true, created: cfg.created}
	if !info.index && want != nil {
		r.match = cfg.platform != nil && cfg.platform.Satisfies(*want)
	}
	if !created {
		r.created = time.Time{}
	}
	return r, nil
}

func newManifestInfo(d *remote.Descriptor) (*manifestInfo, error) {
	if !d.MediaType.IsIndex() {
		return &manifestInfo{}, nil
	}
	idx, err := d.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	info := &manifestInfo{index: true}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			continue // nested indexes and attestations are not run
		}
		info.children = append(info.children, child{platform: m.Platform, digest: m.Digest})
	}
	return info, nil
}

// pick returns the index child of a platform; without one, the first child
// with a real platform (attestation manifests say unknown/unknown).
func (m *manifestInfo) pick(want *v1.Platform) (child, bool) {
	for _, c := range m.children {
		if c.platform == nil {
			continue
		}
		if want == nil {
			if c.platform.OS != "unknown" {
				return c, true
			}
			continue
		}
		if c.platform.Satisfies(*want) {
			return c, true
		}
	}
	if want == nil && len(m.children) > 0 {
		return m.children[0], true
	}
	return child{}, false
}

// prune forgets tags that are gone, and manifests no tag refers to.
func (st *repoState) prune(tags []string) {
	listed := make(map[string]struct{}, len(tags))
	for _, t := range tags {
		listed[t] = struct{}{}
	}
	for _, sk := range st.skipped {
		for t := range sk {
			if _, ok := listed[t]; !ok {
				delete(sk, t)
			}
		}
	}
	live := map[v1.Hash]struct{}{}
	for t, d := range st.tags {
		if _, ok := listed[t]; !ok {
			delete(st.tags, t)
			continue
		}
		live[d] = struct{}{}
		if info := st.infos[d]; info != nil {
			for _, c := range info.children {
				live[c.digest] = struct{}{}
			}
		}
	}
	for d := range st.infos {
		if _, ok := live[d]; !ok {
			delete(st.infos, d)
		}
	}
	for d := range st.configs {
		if _, ok := live[d]; !ok {
			delete(st.configs, d)
		}
	}
}

// explain turns a registry error into one a user can act on, without
// credentials: a *RateLimitedError for 429 and 503, words for 401 and 403.
func (c *Client) explain(err error, host, msg string) error {
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return errors.Wrap(tl, msg)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			d := c.backOff(host, 0, false)
			if te.Request != nil && te.Request.URL != nil {
				if other := c.blocked(te.Request.URL.Host); other != nil && other.RetryAfter > d {
					d = c.backOff(host, other.RetryAfter, true)
				}
			}
			return &RateLimitedError{Registry: host, StatusCode: te.StatusCode, RetryAfter: d}
		case http.StatusUnauthorized, http.StatusForbidden:
			return errors.Errorf("%s: registry %s refused our credentials (%d %s); check the docker config JSON pull secret the ProviderConfig names: %s",
				msg, host, te.StatusCode, http.StatusText(te.StatusCode), c.redact.apply(err.Error()))
		case http.StatusNotFound:
			return errors.Errorf("%s: not found (404); check the repository name and the credentials: %s", msg, c.redact.apply(err.Error()))
		}
	}
	return errors.Errorf("%s: %s", msg, c.redact.apply(err.Error()))
}

// limitState is a registry host's back-off.
type limitState struct {
	until  time.Time
	status int
	strike int // consecutive 429/503s without Retry-After
}

const (
	firstBackOff = 15 * time.Second
	maxBackOff   = 10 * time.Minute
	maxRetry     = time.Hour
)

// backOff records a 429/503 of host. With exact, d is the registry's
// Retry-After; otherwise the existing deadline is kept, or a doubling
// default is set. It returns how long to wait.
func (c *Client) backOff(host string, d time.Duration, exact bool) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	ls := c.limited[host]
	if ls == nil {
		ls = &limitState{}
		c.limited[host] = ls
	}
	switch {
	case exact:
		if d > maxRetry {
			d = maxRetry
		}
		ls.until = now.Add(d)
	case ls.until.After(now):
		// the watch saw the Retry-After already
	default:
		ls.strike++
		d = firstBackOff << min(ls.strike-1, 6)
		if d > maxBackOff {
			d = maxBackOff
		}
		ls.until = now.Add(d)
	}
	return ls.until.Sub(now)
}

// blocked returns the RateLimitedError of a host in back-off, or nil.
func (c *Client) blocked(host string) *RateLimitedError {
	c.mu.Lock()
	defer c.mu.Unlock()
	ls := c.limited[host]
	if ls == nil {
		return nil
	}
	now := c.now()
	if !ls.until.After(now) {
		return nil
	}
	return &RateLimitedError{Registry: host, StatusCode: ls.status, RetryAfter: ls.until.Sub(now)}
}

func (c *Client) cleared(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ls := c.limited[host]; ls != nil && !ls.until.After(c.now()) {
		delete(c.limited, host)
	}
}

// limitTransport watches responses for 429 and 503 and their Retry-After,
// and bounds every body it returns (limitBody).
type limitTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if t.c.observe != nil {
		code := 0
		if err == nil {
			code = resp.StatusCode
		}
		t.c.observe(RequestOperation(req), RequestResult(code))
	}
	if err != nil {
		return resp, err
	}
	limitBody(req, resp)
	host := req.URL.Host
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.c.now()); ok {
			t.c.backOff(host, d, true)
		} else {
			t.c.backOff(host, 0, false)
		}
		t.c.mu.Lock()
		t.c.limited[host].status = resp.StatusCode
		t.c.mu.Unlock()
	default:
		if resp.StatusCode < 400 {
			t.c.cleared(host)
		}
	}
	return resp, nil
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetry/time.Second) {
			return maxRetry, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// Operations of requests to a registry, as RequestOperation words them.
const (
	OpPing     = "ping"
	OpToken    = "token"
	OpTags     = "tags"
	OpManifest = "manifest"
	OpBlob     = "blob"
	OpOther    = "other"
)

// RequestOperation is what a request to a registry is for, in one word of
// a few, from its path: the /v2/ version check (ping), a tags list (tags), a
// manifest (manifest: a digest resolved with HEAD, or read with GET), a blob
// such as an image config (blob), anything else under /v2/ (other), and any
// path outside /v2/, which only a registry's token service is sent to
// (token).
func RequestOperation(req *http.Request) string {
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return OpPing
	case !strings.HasPrefix(p, "/v2/"):
		return OpToken
	case strings.HasSuffix(p, "/tags/list"):
		return OpTags
	case strings.Contains(p, "/manifests/"):
		return OpManifest
	case strings.Contains(p, "/blobs/"):
		return OpBlob
	}
	return OpOther
}

// Results of requests to a registry, as RequestResult words them.
const (
	ResultSuccess      = "success"
	ResultUnauthorized = "unauthorized"
	ResultNotFound     = "not_found"
	ResultRateLimited  = "rate_limited"
	ResultError        = "error"
)

// RequestResult is the outcome of a request to a registry answered with
// status code (0: no answer), in one word of a few: success (below 400),
// unauthorized (401, 403; a ping's 401 is how a registry asks for a token),
// not_found (404), rate_limited (429, 503) or error (anything else, or no
// answer).
func RequestResult(code int) string {
	switch {
	case code >= 100 && code < 400:
		return ResultSuccess
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return ResultUnauthorized
	case code == http.StatusNotFound:
		return ResultNotFound
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		return ResultRateLimited
	}
	return ResultError
}
