package subscription

import (
	"strings"
	"testing"
)

// A force-pushed source branch is reported in words, and the Subscription
// follows the new history from its head instead of failing.
func TestSubscriptionReportsRewrittenHistory(t *testing.T) {
	f := newFixture(t)
	f.push("1.2.0")
	root := f.git.Head(t, f.repo, "main")
	f.git.Commit(t, f.repo, "main", map[string][]byte{"base/a.yaml": []byte("# a\n")}, "a")
	key := f.subscription(nil)
	eventually(t, "the first change", func() (bool, string) { return newest(t, key) != nil, "none" })

	f.git.Reset(t, f.repo, "main", root)
	rewritten := f.git.Commit(t, f.repo, "main", map[string][]byte{"base/b.yaml": []byte("# b\n")}, "b")
	pollNow(t, key, "after-force-push")

	s := get(t, key)
	var msg string
	for _, src := range s.Status.AtProvider.Sources {
		if src.Source == f.git.URL(f.repo) {
			msg = src.LastError
		}
	}
	if !strings.Contains(msg, "history of main was rewritten") {
		t.Errorf("lastError = %q, want it to say the history of main was rewritten", msg)
	}
	if n := newest(t, key); n.Commit != rewritten {
		t.Errorf("newest commit = %s, want the new head %s", n.Commit, rewritten)
	}
}
