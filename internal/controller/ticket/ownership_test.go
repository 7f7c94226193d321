package ticket

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/render"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// Publishing replaces a rendered branch's whole tree, so a Ticket publishes
// only to a branch that does not exist yet or whose head K8sTA rendered for
// this Track and station, checked again on the head each push is based on.
// Otherwise nothing is pushed, no Application is patched, and the Ticket is
// Blocked with a condition naming the Track's spec.stations[].branch.
func TestTicketPublishesOnlyToABranchItOwns(t *testing.T) {
	cases := map[string]struct {
		// branch is the Ticket's rendered branch; env/dev if empty.
		branch string
		// prepare writes the branch before the Ticket exists.
		prepare func(t *testing.T, f *fixture)
		// meanwhile runs on the git server right before the first push
		// reaches it, and returns the head the branch must keep.
		meanwhile func(t *testing.T, f *fixture) string
		// refusedByAPI is what the API server says when the CRD's schema
		// refuses the Ticket; the test then also runs the provider's own
		// check on the Ticket as an older CRD would have let it through.
		refusedByAPI string
		want         []string
		// problem is status.atProvider.blockedOn.problem, blocked on the
		// branch; {HEAD} is the branch's head, 12 digits, and {TRACK} the
		// Track.
		problem string
	}{
		"SourceBranch": {
			// The CRD's schema refuses it; a CRD older than the provider
			// would let it through to the provider's own check.
			branch:       "main",
			refusedByAPI: "branch must not be repo.sourceBranch",
			want:         []string{"spec.forProvider.branch main is the source branch", "spec.stations[].branch"},
			problem:      "rendered branch main is the repository's source branch: rendering would replace what humans commit there; give station dev a rendered branch of its own, e.g. env/dev",
		},
		"HumanBranch": {
			prepare: func(t *testing.T, f *fixture) {
				f.git.Commit(t, f.repo, "env/dev", map[string][]byte{"deploy.yaml": []byte("kind: ConfigMap\n")}, "hand-written deployment")
				f.git.Commit(t, f.repo, "env/dev", map[string][]byte{"notes.md": []byte("ours\n")}, "notes")
			},
			want:    []string{"spec.forProvider.branch env/dev holds commit", "which K8sTA did not render", "spec.stations[].branch"},
			problem: "rendered branch env/dev holds commit {HEAD}, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it",
		},
		"HumanCommitKeepsTheRecord": {
			// A human commit on top of a rendered one keeps .k8sta/change.yaml;
			// it has no K8sta-Change trailer, so it is not K8sTA's.
			prepare: func(t *testing.T, f *fixture) {
				rec := render.Record{Track: f.track(), Station: "dev", Overlay: "overlays/dev", Change: v1alpha1.Change{ID: "0123456789ab", Commit: f.source}}
				f.git.Commit(t, f.repo, "env/dev", render.Tree([]byte("kind: ConfigMap\n"), rec), render.CommitMessage(rec))
				f.git.Commit(t, f.repo, "env/dev", map[string][]byte{render.ManifestsPath: []byte("kind: Secret\n")}, "hot fix")
			},
			want:    []string{"which K8sTA did not render", "spec.stations[].branch"},
			problem: "rendered branch env/dev holds commit {HEAD}, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it",
		},
		"AnotherStation": {
			prepare: func(t *testing.T, f *fixture) {
				rec := render.Record{Track: f.track(), Station: "int", Overlay: "overlays/int", Change: v1alpha1.Change{ID: "0123456789ab", Commit: f.source}}
				f.git.Commit(t, f.repo, "env/dev", render.Tree([]byte("kind: ConfigMap\n"), rec), render.CommitMessage(rec))
			},
			want:    []string{"spec.forProvider.branch env/dev is rendered by track TRACK station int", "spec.stations[].branch"},
			problem: "rendered branch env/dev is rendered by track {TRACK} station int: give each station its own rendered branch",
		},
		"HumanPushesBeforeThePush": {
			// The branch does not exist when the Ticket looks; a human creates
			// it between K8sTA's fetch and its push.
			meanwhile: func(t *testing.T, f *fixture) string {
				return f.git.Commit(t, f.repo, "env/dev", map[string][]byte{"deploy.yaml": []byte("kind: ConfigMap\n")}, "hand-written deployment")
			},
			want:    []string{"which K8sTA did not render", "spec.stations[].branch"},
			problem: "rendered branch env/dev holds commit {HEAD}, which K8sTA did not render: K8sTA publishes only to a branch it creates; give station dev a rendered branch of its own, or delete env/dev if nothing else uses it",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var f *fixture
			var once sync.Once
			var kept string
			hook := func(r *http.Request) {
				if tc.meanwhile != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
					once.Do(func() { kept = tc.meanwhile(t, f) })
				}
			}
			f = newFixture(t, gitserver.WithRequestHook(hook))
			branch := tc.branch
			if branch == "" {
				branch = "env/dev"
			}
			if tc.prepare != nil {
				tc.prepare(t, f)
			}
			before := f.git.Head(t, f.repo, branch)
			app := f.application("guestbook-dev", branch)
			tk := f.newTicket("guestbook-dev", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Branch = branch }, "guestbook-dev")
			if tc.refusedByAPI != "" {
				err := kube.Create(context.Background(), tk)
				if err == nil || !strings.Contains(err.Error(), tc.refusedByAPI) {
					t.Fatalf("the API server's answer %v does not say %q", err, tc.refusedByAPI)
				}
				asIfStored(tk)
				observeDirectly(t, tk, tc.want)
				wantBlockedOnBranch(t, tc.problem, f, before, tk.Status.AtProvider.BlockedOn)
				if got := f.git.Head(t, f.repo, branch); got != before {
					t.Errorf("branch %s moved from %s to %s", branch, before, got)
				}
				if after := f.app("guestbook-dev"); after.GetResourceVersion() != app.GetResourceVersion() {
					t.Errorf("the Application was patched: %v", after.Object)
				}
				return
			}
			must(t, kube.Create(context.Background(), tk))
			key := client.ObjectKeyFromObject(tk)

			eventually(t, "phase Blocked", func() (bool, string) {
				tk := getTicket(t, key)
				return tk.Status.AtProvider.Phase == v1alpha1.PhaseBlocked, tk.Status.AtProvider.Phase + ": " + condition(tk, xpv2.TypeReady).Message
			})
			c := condition(getTicket(t, key), xpv2.TypeReady)
			if c.Status != corev1.ConditionFalse {
				t.Errorf("Ready = %s, want False", c.Status)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "TRACK", f.track())
				if !strings.Contains(c.Message, w) {
					t.Errorf("Ready message %q does not say %q", c.Message, w)
				}
			}
			want := before
			if tc.meanwhile != nil {
				want = kept
			}
			wantBlockedOnBranch(t, tc.problem, f, want, getTicket(t, key).Status.AtProvider.BlockedOn)
			requestReconcile(t, key, "again")

			if got := f.git.Head(t, f.repo, branch); got != want {
				t.Errorf("branch %s moved from %s to %s: %q", branch, want, got, f.git.Log(t, f.repo, branch)[0])
			}
			after := f.app("guestbook-dev")
			if op, _, _ := unstructured.NestedMap(after.Object, "operation"); op != nil {
				t.Errorf("the Application was asked to sync: %v", op)
			}
			if after.GetResourceVersion() != app.GetResourceVersion() {
				t.Errorf("the Application was patched: %v", after.Object)
			}
		})
	}
}

// wantBlockedOnBranch checks that got is blocked on the branch with problem,
// in which {HEAD} is head's first 12 digits and {TRACK} f's Track.
func wantBlockedOnBranch(t *testing.T, problem string, f *fixture, head string, got *v1alpha1.BlockedOn) {
	t.Helper()
	if len(head) > 12 {
		head = head[:12]
	}
	want := &v1alpha1.BlockedOn{Field: "branch", Problem: strings.NewReplacer("{HEAD}", head, "{TRACK}", f.track()).Replace(problem)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status.atProvider.blockedOn: -want, +got:\n%s", diff)
	}
}

// observeDirectly runs the provider's Connect and Observe on tk, a Ticket the
// API server never stored, and checks it is Blocked saying want.
func observeDirectly(t *testing.T, tk *v1alpha1.Ticket, want []string) {
	t.Helper()
	c := &connector{kube: kube, repos: repos, argo: newArgoClients(kube, kube.Scheme())}
	ext, err := c.Connect(context.Background(), tk)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer func() { _ = ext.Disconnect(context.Background()) }()
	if _, err := ext.Observe(context.Background(), tk); err == nil {
		t.Fatal("Observe accepted the Ticket")
	}
	if tk.Status.AtProvider.Phase != v1alpha1.PhaseBlocked {
		t.Errorf("phase = %q, want %q", tk.Status.AtProvider.Phase, v1alpha1.PhaseBlocked)
	}
	msg := condition(tk, xpv2.TypeReady).Message
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Ready message %q does not say %q", msg, w)
		}
	}
}
