package gitrepo

import (
	"bytes"
	"context"
	stderrors "errors"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// MaxPublishAttempts is how often Publish proposes and pushes before it gives
// up because other writers keep winning.
const MaxPublishAttempts = 5

// Proposal computes the content a branch should hold. head is the current
// remote head of the branch, or "" if the branch does not exist. files is the
// whole content of the branch (path → content); nil means nothing to do.
type Proposal func(head string) (files map[string][]byte, message string, err error)

// Publish makes branch hold exactly the files propose returns, in one commit
// on top of the remote head, authored and committed by author. It never makes
// an empty commit (a proposal equal to head's tree returns head, false) and
// never force-pushes: when another writer moved the branch first, it fetches
// again and asks propose again with the new head, up to MaxPublishAttempts
// times. It returns the branch's commit and whether it pushed one.
//
// propose runs without any lock held: it may read this Repo (Files, ReadFile).
func (r *Repo) Publish(ctx context.Context, branch string, author Signature, propose Proposal) (commit string, pushed bool, err error) {
	if err := validBranch(branch); err != nil {
		return "", false, errors.Wrap(err, "cannot publish")
	}
	u := r.URL()
	defer r.cache.evict()
	var lastErr error
	lastHead := "\x00" // no head seen yet
	for attempt := 0; attempt < MaxPublishAttempts; attempt++ {
		head, err := r.fetchBranch(ctx, branch)
		if err != nil {
			return "", false, scrub(errors.Wrapf(err, "cannot publish to branch %q of %s", branch, u), r.secrets()...)
		}
		if lastErr != nil && head == lastHead {
			// The push failed but nobody else moved the branch: not a race.
			return "", false, scrub(errors.Wrapf(lastErr, "cannot publish to branch %q of %s", branch, u), r.secrets()...)
		}
		lastHead = head
		files, msg, err := propose(head)
		if err != nil {
			return "", false, errors.Wrapf(err, "cannot propose content for branch %q", branch)
		}
		if files == nil {
			return head, false, nil
		}
		commit, pushed, err := r.commitAndPush(ctx, branch, head, files, msg, author)
		if err == nil {
			return commit, pushed, nil
		}
		if stderrors.Is(err, ErrAuth) || stderrors.Is(err, ErrUnreachable) || ctx.Err() != nil || !errIsPush(err) {
			return "", false, scrub(errors.Wrapf(err, "cannot publish to branch %q of %s", branch, u), r.secrets()...)
		}
		lastErr = err
	}
	return "", false, scrub(errors.Wrapf(lastErr, "cannot publish to branch %q of %s: other writers won %d times", branch, u, MaxPublishAttempts), r.secrets()...)
}

// pushError marks a failed push (as opposed to failing to build the commit).
type pushError struct{ error }

func (e pushError) Unwrap() error { return e.error }

func errIsPush(err error) bool {
	var pe pushError
	return stderrors.As(err, &pe)
}

// fetchBranch fetches one branch and returns its head, "" if it does not
// exist.
func (r *Repo) fetchBranch(ctx context.Context, branch string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	spec := config.RefSpec("+refs/heads/" + branch + ":refs/remotes/" + remoteName + "/" + branch)
	if err := r.fetch(ctx, spec); err != nil {
		return "", err
	}
	head, _, err := r.head(branch)
	return head, err
}

func (r *Repo) commitAndPush(ctx context.Context, branch, head string, files map[string][]byte, msg string, author Signature) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The policy is checked at every use, not only when the URL was parsed.
	if err := r.cache.policy.Check(r.url); err != nil {
		return "", false, err
	}
	defer r.measure() //nolint:errcheck // the next fetch measures again
	repo, err := r.open()
	if err != nil {
		return "", false, err
	}
	tree, err := writeTree(repo.Storer, files)
	if err != nil {
		return "", false, errors.Wrap(err, "cannot write tree")
	}
	var parents []plumbing.Hash
	if head != "" {
		hc, err := r.commit(head)
		if err != nil {
			return "", false, errors.Wrap(err, "cannot read head")
		}
		if hc.TreeHash == tree {
			return head, false, nil // no empty commits
		}
		parents = []plumbing.Hash{hc.Hash}
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: time.Now().Truncate(time.Second)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", false, errors.Wrap(err, "cannot encode commit")
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", false, errors.Wrap(err, "cannot write commit")
	}

	am, err := r.authMethod(ctx)
	if err != nil {
		return "", false, err
	}
	dst := plumbing.NewBranchReferenceName(branch)
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteName: remoteName,
		RemoteURL:  r.URL(),
		RefSpecs:   []config.RefSpec{config.RefSpec(hash.String() + ":" + dst.String())},
		Auth:       am,
	})
	if err != nil && !stderrors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", false, pushError{errors.Wrapf(classify(err), "cannot push %s", hash)}
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName(remoteName, branch), hash)); err != nil {
		return "", false, errors.Wrap(err, "cannot record pushed head")
	}
	return hash.String(), true, nil
}

// checkPath accepts clean, relative, slash-separated paths outside .git.
func checkPath(p string) error {
	if p == "" || p != path.Clean(p) || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return errors.Errorf("invalid path %q", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return errors.Errorf("invalid path %q", p)
		}
	}
	return nil
}

type dir struct {
	files map[string]plumbing.Hash
	dirs  map[string]*dir
}

func newDir() *dir { return &dir{files: map[string]plumbing.Hash{}, dirs: map[string]*dir{}} }

// writeTree stores blobs and trees for exactly files and returns the root
// tree's hash. Every file is a regular (0644) file.
func writeTree(s storer.EncodedObjectStorer, files map[string][]byte) (plumbing.Hash, error) {
	root := newDir()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := writeObject(s, plumbing.BlobObject, files[p])
		if err != nil {
			return plumbing.ZeroHash, errors.Wrapf(err, "cannot write file %q", p)
		}
		d := root
		parts := strings.Split(p, "/")
		for _, part := range parts[:len(parts)-1] {
			if _, ok := d.files[part]; ok {
				return plumbing.ZeroHash, errors.Errorf("path %q is both a file and a directory", p)
			}
			sub, ok := d.dirs[part]
			if !ok {
				sub = newDir()
				d.dirs[part] = sub
			}
			d = sub
		}
		name := parts[len(parts)-1]
		if _, ok := d.dirs[name]; ok {
			return plumbing.ZeroHash, errors.Errorf("path %q is both a file and a directory", p)
		}
		d.files[name] = h
	}
	return root.write(s)
}

func (d *dir) write(s storer.EncodedObjectStorer) (plumbing.Hash, error) {
	entries := make([]object.TreeEntry, 0, len(d.files)+len(d.dirs))
	for name, h := range d.files {
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
	}
	for name, sub := range d.dirs {
		h, err := sub.write(s)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	// git orders entries by name, a directory's name as if it ended in "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	t := &object.Tree{Entries: entries}
	obj := s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.HasEncodedObject(obj.Hash()); err == nil {
		return obj.Hash(), nil
	}
	return s.SetEncodedObject(obj)
}

func writeObject(s storer.EncodedObjectStorer, t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(t, content)
	if err := s.HasEncodedObject(h); err == nil {
		return h, nil
	}
	obj := s.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := bytes.NewReader(content).WriteTo(w); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// CommitMessage returns the message of commit in the cached clone, such as
// the head a Proposal is given: who wrote a branch's head is told by its
// message, before Publish replaces the branch's tree.
func (r *Repo) CommitMessage(commit string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commit(commit)
	if err != nil {
		return "", err
	}
	return c.Message, nil
}
