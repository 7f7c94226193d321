package gitrepo

import (
	"bytes"
	"context"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
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
// never force-pushes: every push names the head it replaces, and the remote
// refuses it if the branch has moved since. Then Publish fetches again and
// asks propose again with the new head, up to MaxPublishAttempts times. It
// returns the branch's commit and whether it pushed one.
//
// The first proposal is based on the head the clone already knows (it
// fetches first only if the clone was never fetched): a stale head costs one
// refused push, never a lost commit, and a branch that only this writer
// writes costs no fetch at all.
//
// propose runs without any lock held: it may read this Repo (Files, ReadFile).
// The clone is locked only while the commit and its pack are built, and
// while the pushed head is recorded: pushes to other branches of the
// repository, and reads, go on while one push is on the network.
func (r *Repo) Publish(ctx context.Context, branch string, author Signature, propose Proposal) (commit string, pushed bool, err error) {
	if err := validBranch(branch); err != nil {
		return "", false, errors.Wrap(err, "cannot publish")
	}
	u := r.URL()
	defer r.cache.evict()
	var lastErr error
	var refusedAt time.Time
	lastHead := "\x00" // no head seen yet
	for attempt := 0; attempt < MaxPublishAttempts; attempt++ {
		var err error
		switch {
		case attempt > 0:
			// The remote refused the last push: a fetch that started after
			// it answered sees at least the head that won.
			err = r.FetchSince(ctx, refusedAt)
		case !r.fetched():
			err = r.Fetch(ctx)
		}
		if err != nil {
			return "", false, scrub(errors.Wrapf(err, "cannot publish to branch %q of %s", branch, u), r.secrets()...)
		}
		head, _, err := r.Head(branch)
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
		if errors.Is(err, ErrAuth) || errors.Is(err, ErrUnreachable) || ctx.Err() != nil || !errIsPush(err) {
			return "", false, scrub(errors.Wrapf(err, "cannot publish to branch %q of %s", branch, u), r.secrets()...)
		}
		lastErr, refusedAt = err, time.Now()
	}
	return "", false, scrub(errors.Wrapf(lastErr, "cannot publish to branch %q of %s: other writers won %d times", branch, u, MaxPublishAttempts), r.secrets()...)
}

// pushError marks a failed push (as opposed to failing to build the commit).
type pushError struct{ error }

func (e pushError) Unwrap() error { return e.error }

func errIsPush(err error) bool {
	var pe pushError
	return errors.As(err, &pe)
}

// packWindow is how many objects the pack encoder compares when it looks
// for deltas: git's default.
const packWindow = 10

func (r *Repo) commitAndPush(ctx context.Context, branch, head string, files map[string][]byte, msg string, author Signature) (string, bool, error) {
	// The policy is checked at every use, not only when the URL was parsed.
	if err := r.cache.policy.Check(r.url); err != nil {
		return "", false, err
	}
	c, err := r.buildCommit(head, files, msg, author)
	if err != nil {
		return "", false, err
	}
	if c.hash.IsZero() {
		return head, false, nil // no empty commits
	}
	am, err := r.authMethod(ctx)
	if err != nil {
		return "", false, err
	}
	start := time.Now()
	err = r.push(ctx, branch, head, c, am)
	r.cache.observe(OpPush, RequestResult(err), time.Since(start))
	if err != nil {
		return "", false, err
	}
	if err := r.recordPushed(branch, head, c); err != nil {
		return "", false, errors.Wrap(err, "cannot record pushed head")
	}
	return c.hash.String(), true, nil
}

// builtCommit is a commit written to the clone, with the pack that carries
// it and what the remote lacks of its tree.
type builtCommit struct {
	hash  plumbing.Hash // zero: the tree is head's, nothing to commit
	pack  []byte
	epoch uint64 // the clone's epoch it was written in
}

// buildCommit writes files' tree and a commit of it on top of head to the
// clone, and packs the objects the remote does not hold: the commit, and the
// trees and blobs that head's tree does not have. The pack is built here,
// with the clone locked, so that the push can go over the network without
// the lock: go-git's filesystem storage is not safe for concurrent use, and
// its own push reads objects while it sends.
func (r *Repo) buildCommit(head string, files map[string][]byte, msg string, author Signature) (builtCommit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	repo, err := r.open()
	if err != nil {
		return builtCommit{}, err
	}
	tree, err := writeTree(repo.Storer, files)
	if err != nil {
		return builtCommit{}, errors.Wrap(err, "cannot write tree")
	}
	var parents []plumbing.Hash
	var base plumbing.Hash
	if head != "" {
		hc, err := r.commit(head)
		if err != nil {
			return builtCommit{}, errors.Wrap(err, "cannot read head")
		}
		if hc.TreeHash == tree {
			return builtCommit{}, nil
		}
		parents, base = []plumbing.Hash{hc.Hash}, hc.TreeHash
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: time.Now().Truncate(time.Second)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return builtCommit{}, errors.Wrap(err, "cannot encode commit")
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return builtCommit{}, errors.Wrap(err, "cannot write commit")
	}
	objs, err := newObjects(repo.Storer, tree, base)
	if err != nil {
		return builtCommit{}, errors.Wrap(err, "cannot list the objects to push")
	}
	var pack bytes.Buffer
	// REF_DELTA, which every git server reads: the pack is built before the
	// server says whether it reads OFS_DELTA.
	if _, err := packfile.NewEncoder(&pack, repo.Storer, true).Encode(append([]plumbing.Hash{hash}, objs...), packWindow); err != nil {
		return builtCommit{}, errors.Wrap(err, "cannot pack the commit")
	}
	// What was just written to the clone takes about what its pack does:
	// counted so, rather than walking every file of the clone, under its
	// lock, at every push. The next fetch measures the clone exactly.
	r.cache.resize(r, r.size+int64(pack.Len()))
	return builtCommit{hash: hash, pack: pack.Bytes(), epoch: r.epoch}, nil
}

// newObjects lists the trees and blobs of tree, each once, that base (the
// tree of the remote's head; zero for none) does not hold. The remote holds
// every object of base, so the pack need not carry them.
func newObjects(s storer.EncodedObjectStorer, tree, base plumbing.Hash) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	if !base.IsZero() {
		if err := walkTree(s, base, seen, nil); err != nil {
			return nil, err
		}
	}
	var out []plumbing.Hash
	err := walkTree(s, tree, seen, &out)
	return out, err
}

// walkTree marks tree h and the trees and blobs below it seen, appending to
// out (when not nil) those not seen before. A subtree seen before is not
// read again.
func walkTree(s storer.EncodedObjectStorer, h plumbing.Hash, seen map[plumbing.Hash]bool, out *[]plumbing.Hash) error {
	if seen[h] {
		return nil
	}
	seen[h] = true
	if out != nil {
		*out = append(*out, h)
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		switch {
		case e.Mode == filemode.Dir:
			if err := walkTree(s, e.Hash, seen, out); err != nil {
				return err
			}
		case e.Mode == filemode.Submodule:
			// A commit of another repository: not this one's to send.
		case !seen[e.Hash]:
			seen[e.Hash] = true
			if out != nil {
				*out = append(*out, e.Hash)
			}
		}
	}
	return nil
}

// push asks the remote to move branch from head ("": create it) to c, with
// c's pack, without holding the clone's lock. The remote refuses if the
// branch is no longer at head: a push never forces. A branch that has
// already moved is refused before the pack is sent.
func (r *Repo) push(ctx context.Context, branch, head string, c builtCommit, am transport.AuthMethod) error {
	fail := func(err error) error {
		return pushError{errors.Wrapf(classify(err), "cannot push %s", c.hash)}
	}
	ep, err := transport.NewEndpoint(r.URL())
	if err != nil {
		return kindf(ErrUnreachable, "invalid repository URL %q", r.URL())
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return fail(err)
	}
	sess, err := cl.NewReceivePackSession(ep, am)
	if err != nil {
		return fail(err)
	}
	defer sess.Close() //nolint:errcheck // the push's outcome is its report
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return fail(err)
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return fail(err)
	}
	dst := plumbing.NewBranchReferenceName(branch)
	old := plumbing.ZeroHash
	if head != "" {
		old = plumbing.NewHash(head)
	}
	cur := plumbing.ZeroHash
	if ref, err := refs.Reference(dst); err == nil {
		cur = ref.Hash()
	}
	switch {
	case cur == old:
	case head == "":
		return pushError{errors.Errorf("cannot push %s: branch %q was created meanwhile, at %s", c.hash, branch, cur)}
	default:
		return pushError{errors.Errorf("cannot push %s: branch %q moved from %s to %s meanwhile", c.hash, branch, head, cur)}
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: dst, Old: old, New: c.hash}}
	req.Packfile = io.NopCloser(bytes.NewReader(c.pack))
	rs, err := sess.ReceivePack(ctx, req)
	if err == nil && rs != nil {
		err = rs.Error()
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// recordPushed points the clone's view of branch at c after the push, so
// that the next read knows it without a fetch; unless a fetch since the push
// has moved it already (to c, or past it): a view never goes back.
func (r *Repo) recordPushed(branch, head string, c builtCommit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.repo == nil || r.epoch != c.epoch {
		return nil // the clone was reset: the next fetch learns the head
	}
	name := plumbing.NewRemoteReferenceName(remoteName, branch)
	cur, err := r.repo.Storer.Reference(name)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		if head != "" {
			return nil // a fetch since saw the branch deleted
		}
	case err != nil:
		return err
	case cur.Hash().String() != head:
		return nil
	}
	return r.repo.Storer.SetReference(plumbing.NewHashReference(name, c.hash))
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
