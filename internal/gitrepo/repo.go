package gitrepo

import (
	"context"
	"os"
	"sort"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

const (
	remoteName   = "origin"
	headsRefSpec = config.RefSpec("+refs/heads/*:refs/remotes/origin/*")
)

// open opens the bare clone, creating an empty one (with remote origin) on
// first use. A clone that cannot be opened is a broken cache: it is rebuilt.
// Callers hold r.mu.
func (r *Repo) open() (*git.Repository, error) {
	if r.gone {
		return nil, errEvicted
	}
	if r.repo != nil {
		return r.repo, nil
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, errors.Wrap(err, "cannot create cache directory")
	}
	store := newLimitedStorage(r.dir, r.cache.packs)
	repo, err := git.Open(store, nil)
	if err != nil && !errors.Is(err, git.ErrRepositoryNotExists) {
		if rerr := r.wipe(); rerr != nil {
			return nil, errors.Wrap(rerr, "cannot remove broken cache")
		}
		store = newLimitedStorage(r.dir, r.cache.packs)
		err = git.ErrRepositoryNotExists
	}
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(store, nil)
	}
	if err != nil {
		return nil, errors.Wrap(err, "cannot open cache")
	}
	if _, err := repo.Remote(remoteName); errors.Is(err, git.ErrRemoteNotFound) {
		_, err = repo.CreateRemote(&config.RemoteConfig{
			Name:  remoteName,
			URLs:  []string{r.URL()},
			Fetch: []config.RefSpec{headsRefSpec},
		})
		if err != nil {
			return nil, errors.Wrap(err, "cannot configure remote")
		}
	} else if err != nil {
		return nil, errors.Wrap(err, "cannot read remote")
	}
	r.repo, r.store = repo, store
	return repo, nil
}

// wipe deletes the clone from disk; the next open starts an empty one.
// Callers hold r.mu.
func (r *Repo) wipe() error {
	r.repo, r.store = nil, nil
	r.epoch++
	r.fetches.Forget()
	if err := os.RemoveAll(r.dir); err != nil {
		return err
	}
	r.cache.resize(r, 0)
	return os.MkdirAll(r.dir, 0o700)
}

// measure records the clone's size on disk. Callers hold r.mu.
func (r *Repo) measure() (int64, error) {
	n, err := dirSize(r.dir)
	if err != nil {
		return 0, errors.Wrap(err, "cannot measure the cached clone")
	}
	r.cache.resize(r, n)
	return n, nil
}

// Fetch brings the cached clone up to date with every branch of the remote:
// refs/heads/* land in refs/remotes/origin/*, deleted branches are pruned.
// The first call creates the clone; later ones are incremental. Nothing new
// is not an error. A fetch that would make the clone larger than the cache's
// per-repository bound fails with ErrTooLarge and keeps nothing of it.
//
// Fetch accepts a fetch that started within the cache's fetch window
// (WithFetchWindow): callers at the same time share one. Use FetchSince to
// need a newer one.
func (r *Repo) Fetch(ctx context.Context) error {
	return r.FetchSince(ctx, time.Time{})
}

// FetchSince is Fetch for a caller that knows the moment that matters, such
// as when a webhook announcing a push arrived: it returns once a fetch that
// started no earlier than notBefore (nor before the fetch window) has
// succeeded, and every read of the clone after it sees at least what that
// fetch saw. It starts a fetch if none is running. A fetch that is running
// but started too early may miss what the caller is after, so the caller
// waits for it to end and shares the next one. A fetch's error is returned
// to its callers only, never reused. When ctx ends, FetchSince returns at
// once; the fetch goes on for its other callers.
func (r *Repo) FetchSince(ctx context.Context, notBefore time.Time) error {
	if w := time.Now().Add(-r.cache.fetchWindow); notBefore.Before(w) {
		notBefore = w
	}
	_, err := r.fetches.Do(ctx, notBefore, func(ctx context.Context) (struct{}, error) {
		// The fetch holds the clone as its callers do: they may all give
		// up and Release while it runs, and eviction must then neither
		// delete the clone under it nor wait for it on r.mu. Releasing it
		// evicts what no longer fits.
		r.pin()
		defer r.Release()
		r.mu.Lock()
		defer r.mu.Unlock() // even if go-git panics
		return struct{}{}, r.fetch(ctx)
	})
	return scrub(err, r.secrets()...)
}

// fetched reports whether the clone was fetched since it was created (or
// last reset).
func (r *Repo) fetched() bool {
	return r.fetches.Fresh(time.Time{})
}

// fetch fetches every branch. Callers hold r.mu. The cache's observer is
// told of the request, once sent: how long the remote took, and what came
// of the fetch.
func (r *Repo) fetch(ctx context.Context) (err error) {
	spec := headsRefSpec
	u := r.URL()
	if r.gone {
		return errors.Wrapf(errEvicted, "cannot fetch %s", u)
	}
	// The policy is checked at every use, not only when the URL was parsed.
	if err := r.cache.policy.Check(r.url); err != nil {
		return errors.Wrapf(err, "cannot fetch %s", u)
	}
	maxBytes := r.cache.maxRepoBytes
	size, err := r.measure()
	if err != nil {
		return errors.Wrapf(err, "cannot fetch %s", u)
	}
	if size >= maxBytes {
		// Grown past the bound (rendered commits add loose objects): start
		// over from what the remote holds.
		if err := r.wipe(); err != nil {
			return errors.Wrapf(err, "cannot fetch %s: cannot reset the cached clone", u)
		}
		size = 0
	}
	repo, err := r.open()
	if err != nil {
		return errors.Wrapf(err, "cannot fetch %s", u)
	}
	am, err := r.authMethod(ctx)
	if err != nil {
		return errors.Wrapf(err, "cannot fetch %s", u)
	}
	r.store.setPackLimit(maxBytes - size)
	start := time.Now()
	err = repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RemoteURL:  u,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       am,
		Tags:       git.NoTags,
		Prune:      true,
	})
	took := time.Since(start)
	defer func() { r.cache.observe(OpFetch, RequestResult(err), took) }()
	r.store.setPackLimit(0)
	var nomatch git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, errPackTooLarge):
		r.store.removeTempPacks()
		_, _ = r.measure()
		return errors.Wrapf(kindf(ErrTooLarge, "the repository is larger than the provider's bound of %d bytes per repository (--git-cache-max-repo-bytes): move large files out of it, or ask the provider's operator to raise the bound", maxBytes), "cannot fetch %s", u)
	case errors.Is(err, ErrTooLarge):
		// The pack check refused it: its message names the bound.
		r.store.removeTempPacks()
		_, _ = r.measure()
		return errors.Wrapf(err, "cannot fetch %s", u)
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &nomatch):
		// No branch at all, or not the one asked for: forget what we had.
		if err := r.forget(repo, spec); err != nil {
			return errors.Wrapf(err, "cannot fetch %s", u)
		}
	default:
		r.store.removeTempPacks()
		_, _ = r.measure()
		return errors.Wrapf(classify(err), "cannot fetch %s", u)
	}
	n, err := r.measure()
	if err != nil {
		return errors.Wrapf(err, "cannot fetch %s", u)
	}
	if n > maxBytes {
		_ = r.wipe()
		return errors.Wrapf(kindf(ErrTooLarge, "the repository takes %d bytes on disk, more than the provider's bound of %d bytes per repository (--git-cache-max-repo-bytes): move large files out of it, or ask the provider's operator to raise the bound", n, maxBytes), "cannot fetch %s", u)
	}
	return nil
}

// forget removes the remote-tracking refs spec maps to.
func (r *Repo) forget(repo *git.Repository, spec config.RefSpec) error {
	refs, err := repo.Storer.IterReferences()
	if err != nil {
		return err
	}
	var gone []plumbing.ReferenceName
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if spec.IsWildcard() && spec.Reverse().Match(ref.Name()) || !spec.IsWildcard() && ref.Name() == spec.Dst("") {
			gone = append(gone, ref.Name())
		}
		return nil
	})
	for _, n := range gone {
		if err := repo.Storer.RemoveReference(n); err != nil {
			return err
		}
	}
	return nil
}

// validBranch applies git check-ref-format's rules to refs/heads/<branch>.
func validBranch(branch string) error {
	if branch == "" || branch == "HEAD" {
		return kindf(ErrInvalidBranch, "%q", branch)
	}
	if err := plumbing.NewBranchReferenceName(branch).Validate(); err != nil {
		return kindf(ErrInvalidBranch, "%q", branch)
	}
	return nil
}

// Head returns the commit the remote branch pointed at when last fetched;
// ok is false if it did not exist (or nothing was fetched yet).
func (r *Repo) Head(branch string) (commit string, ok bool, err error) {
	if err := validBranch(branch); err != nil {
		return "", false, errors.Wrap(err, "cannot read head of branch")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head(branch)
}

func (r *Repo) head(branch string) (string, bool, error) {
	repo, err := r.open()
	if err != nil {
		return "", false, errors.Wrapf(err, "cannot read head of branch %q", branch)
	}
	ref, err := repo.Storer.Reference(plumbing.NewRemoteReferenceName(remoteName, branch))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, errors.Wrapf(err, "cannot read head of branch %q", branch)
	}
	return ref.Hash().String(), true, nil
}

// HasCommit reports whether the cached clone holds commit sha (40 hex digits).
func (r *Repo) HasCommit(sha string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.commit(sha)
	return err == nil
}

// commit looks up a commit. Callers hold r.mu.
func (r *Repo) commit(sha string) (*object.Commit, error) {
	if !plumbing.IsHash(sha) {
		return nil, kindf(ErrCommitNotFound, "%q is not a full commit hash", sha)
	}
	repo, err := r.open()
	if err != nil {
		return nil, err
	}
	c, err := repo.CommitObject(plumbing.NewHash(sha))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, kindf(ErrCommitNotFound, "%s", sha)
	}
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read commit %s", sha)
	}
	return c, nil
}

// CommitsSince returns the commits reachable from until and not from since,
// oldest first (parents before children). With since == "" it returns just
// until. It fails with ErrNotAncestor if since is not an ancestor of until,
// as after a force push.
func (r *Repo) CommitsSince(since, until string) ([]Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, err := r.commit(until)
	if err != nil {
		return nil, errors.Wrap(err, "cannot list commits")
	}
	if since == "" {
		c, err := toCommit(u)
		if err != nil {
			return nil, errors.Wrap(err, "cannot list commits")
		}
		return []Commit{c}, nil
	}
	s, err := r.commit(since)
	if err != nil {
		return nil, errors.Wrap(err, "cannot list commits")
	}
	if s.Hash == u.Hash {
		return []Commit{}, nil
	}
	// Everything reachable from since is excluded.
	excluded := map[plumbing.Hash]bool{}
	if err := walk(s, func(c *object.Commit) bool { excluded[c.Hash] = true; return true }); err != nil {
		return nil, errors.Wrapf(err, "cannot walk history of %s", since)
	}
	if excluded[u.Hash] {
		return nil, errors.Wrapf(withKind(ErrNotAncestor, errors.Errorf("%s is not an ancestor of %s", since, until)), "cannot list commits")
	}
	// Collect the rest in topological order, oldest first: a commit after
	// all of its included parents.
	var order []*object.Commit
	found := false
	err = postorder(u, excluded, func(c *object.Commit) {
		order = append(order, c)
	}, func(p plumbing.Hash) {
		if p == s.Hash {
			found = true
		}
	})
	if err != nil {
		return nil, errors.Wrapf(err, "cannot walk history of %s", until)
	}
	if !found {
		return nil, errors.Wrapf(withKind(ErrNotAncestor, errors.Errorf("%s is not an ancestor of %s", since, until)), "cannot list commits")
	}
	out := make([]Commit, 0, len(order))
	for _, c := range order {
		cc, err := toCommit(c)
		if err != nil {
			return nil, errors.Wrap(err, "cannot list commits")
		}
		out = append(out, cc)
	}
	return out, nil
}

// walk visits c and all its ancestors once each, while fn returns true.
func walk(c *object.Commit, fn func(*object.Commit) bool) error {
	seen := map[plumbing.Hash]bool{c.Hash: true}
	stack := []*object.Commit{c}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(c) {
			continue
		}
		err := c.Parents().ForEach(func(p *object.Commit) error {
			if !seen[p.Hash] {
				seen[p.Hash] = true
				stack = append(stack, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// postorder emits the commits reachable from c but not excluded, each after
// its parents (first parent first). onExcluded sees every excluded parent
// met at the boundary.
func postorder(c *object.Commit, excluded map[plumbing.Hash]bool, emit func(*object.Commit), onExcluded func(plumbing.Hash)) error {
	type frame struct {
		c    *object.Commit
		next int
	}
	seen := map[plumbing.Hash]bool{c.Hash: true}
	stack := []frame{{c: c}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == len(f.c.ParentHashes) {
			emit(f.c)
			stack = stack[:len(stack)-1]
			continue
		}
		i := f.next
		f.next++
		p := f.c.ParentHashes[i]
		if excluded[p] {
			onExcluded(p)
			continue
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		pc, err := f.c.Parent(i)
		if err != nil {
			return err
		}
		stack = append(stack, frame{c: pc})
	}
	return nil
}

func toCommit(c *object.Commit) (Commit, error) {
	out := Commit{
		Hash:    c.Hash.String(),
		Message: c.Message,
		Parents: make([]string, 0, len(c.ParentHashes)),
		When:    c.Committer.When,
	}
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, p.String())
	}
	paths, err := changedPaths(c)
	if err != nil {
		return Commit{}, errors.Wrapf(err, "cannot diff commit %s", c.Hash)
	}
	out.Paths = paths
	return out, nil
}

func changedPaths(c *object.Commit) ([]string, error) {
	to, err := c.Tree()
	if err != nil {
		return nil, err
	}
	var from *object.Tree
	if len(c.ParentHashes) > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return nil, err
		}
		if from, err = p.Tree(); err != nil {
			return nil, err
		}
	}
	changes, err := object.DiffTree(from, to)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, ch := range changes {
		if ch.From.Name != "" {
			set[ch.From.Name] = true
		}
		if ch.To.Name != "" {
			set[ch.To.Name] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, nil
}
