package ticket

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

const password = "s3cr3t-Pa55w0rd-never-printed"

// Bad input gets a condition that names the field and the fix, and nothing
// is half-applied: no rendered branch is pushed and no Application patched.
// No credential appears in a condition or an Event.
func TestTicketReportsBadInputAndAppliesNothing(t *testing.T) {
	// remote answers with a valid patch and counts requests: no render may
	// reach it.
	var requests atomic.Int64
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte("- {op: replace, path: /spec/replicas, value: 9}\n"))
	}))
	defer remote.Close()
	cases := map[string]struct {
		server []gitserver.Option
		// prepare returns the branch the Application tracks and edits the Ticket.
		prepare func(t *testing.T, f *fixture) (branch string, app bool, mutate func(*v1alpha1.Ticket))
		// appRepo, when set, is the repository the Application deploys.
		appRepo string
		// appRepoOf, when set, is the repository the Application deploys.
		appRepoOf func(f *fixture) string
		want      []string
		// phase, when set, is the Ticket's status.atProvider.phase: Blocked
		// when only the user's fix can move it on.
		phase string
		// blockedOn is the Ticket's status.atProvider.blockedOn, the field
		// the user must fix and the problem naming no field; in the
		// problem, {APP} is the Application, {COMMIT} the change's commit,
		// {SHORT} its first 12 digits, {ID} the change's id, {URL} the
		// repository's and {REMOTE} the URL of the server overlays name.
		blockedOn *v1alpha1.BlockedOn
		// refusedByAPI is what the API server's error says when the CRD's
		// schema refuses the Ticket: then it never reaches the provider.
		// TestConnectRefusesWhatTheSchemaRefuses covers the provider's own
		// check, for a CRD older than the provider.
		refusedByAPI []string
	}{
		// Hole 5: the provider never reads or writes a repository on its own
		// disk, nor speaks git:// (the Application names the same URL, so
		// only the URL check can stop it).
		"FileURL": {
			prepare: func(_ *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Repo.URL = "file://" + f.git.Path(f.repo) }
			},
			appRepoOf:    func(f *fixture) string { return "file://" + f.git.Path(f.repo) },
			refusedByAPI: []string{"spec.forProvider.repo.url", "file://, git:// and local paths are refused"},
		},
		"LocalPath": {
			prepare: func(_ *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Repo.URL = f.git.Path(f.repo) }
			},
			appRepoOf:    func(f *fixture) string { return f.git.Path(f.repo) },
			refusedByAPI: []string{"spec.forProvider.repo.url", "file://, git:// and local paths are refused"},
		},
		"GitProtocol": {
			prepare: func(_ *testing.T, _ *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Repo.URL = "git://127.0.0.1:1/acme/config.git" }
			},
			appRepo:      "git://127.0.0.1:1/acme/config.git",
			refusedByAPI: []string{"spec.forProvider.repo.url", "file://, git:// and local paths are refused"},
		},
		// Hole 4: credentials in the URL are refused, never used, never shown.
		"CredentialsInURL": {
			prepare: func(_ *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Repo.URL = strings.Replace(f.url(), "http://", "http://k8sta:"+password+"@", 1)
				}
			},
			refusedByAPI: []string{"spec.forProvider.repo.url", "must not hold credentials", "spec.git.secretRef"},
		},
		"OverlayMissing": {
			prepare: func(_ *testing.T, _ *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Overlay = "overlays/qa" }
			},
			want:      []string{`spec.forProvider.overlay "overlays/qa" does not exist`},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `overlay "overlays/qa" does not exist at commit {SHORT}: name a directory holding a kustomization.yaml`},
		},
		"OverlayWithoutKustomization": {
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				commit := f.git.Commit(t, f.repo, "main", map[string][]byte{
					"overlays/notes/README.md": []byte("not an overlay\n"),
				}, "add a directory without a kustomization")
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Overlay = "overlays/notes"
					tk.Spec.ForProvider.Change = change(commit, "1.2.3")
				}
			},
			want:      []string{`spec.forProvider.overlay "overlays/notes" holds no kustomization.yaml at commit `, "set it to a directory holding a kustomization.yaml"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `overlay "overlays/notes" holds no kustomization.yaml at commit {SHORT}: name a directory holding a kustomization.yaml`},
		},
		"KustomizeError": {
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				commit := f.git.Commit(t, f.repo, "main", map[string][]byte{
					"overlays/broken/kustomization.yaml": []byte("resources:\n- ../../base\n- missing.yaml\n"),
				}, "add a broken overlay")
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Overlay = "overlays/broken"
					tk.Spec.ForProvider.Change = change(commit, "1.2.3")
				}
			},
			want:      []string{"overlays/broken", "missing.yaml"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `at commit {SHORT}: cannot build overlay "overlays/broken": accumulating resources: accumulation err='accumulating resources from 'missing.yaml': 'overlays/broken/missing.yaml' doesn't exist': must build at directory: not a valid directory: 'overlays/broken/missing.yaml' doesn't exist`},
		},
		"RemotePatchPath": {
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				commit := f.git.Commit(t, f.repo, "main", map[string][]byte{
					"overlays/remote/kustomization.yaml": []byte("resources: [../../base]\npatchesJson6902:\n- target: {kind: Deployment, name: guestbook}\n  path: " + remote.URL + "/replicas.yaml\n"),
				}, "patch from a URL")
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Overlay = "overlays/remote"
					tk.Spec.ForProvider.Change = change(commit, "1.2.3")
				}
			},
			want:      []string{`overlays/remote/kustomization.yaml: patchesJson6902[0].path "` + remote.URL + `/replicas.yaml" is a URL: copy the file into the repository`},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `at commit {SHORT}: cannot build overlay "overlays/remote": overlays/remote/kustomization.yaml: patchesJson6902[0].path "{REMOTE}/replicas.yaml" is a URL: copy the file into the repository and refer to it by a relative path`},
		},
		"RemoteInlineTransformer": {
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				commit := f.git.Commit(t, f.repo, "main", map[string][]byte{
					"overlays/remote/kustomization.yaml": []byte("resources: [../../base]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: " + remote.URL + "/p.yaml\n  target: {kind: Deployment}\n"),
				}, "inline transformer patching from a URL")
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Overlay = "overlays/remote"
					tk.Spec.ForProvider.Change = change(commit, "1.2.3")
				}
			},
			want:      []string{`overlays/remote/kustomization.yaml: transformers[0].path "` + remote.URL + `/p.yaml" is a URL`},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `at commit {SHORT}: cannot build overlay "overlays/remote": overlays/remote/kustomization.yaml: transformers[0].path "{REMOTE}/p.yaml" is a URL: copy the file into the repository and refer to it by a relative path`},
		},
		"AliasBomb": {
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				var lol strings.Builder
				lol.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n")
				for c := 'b'; c <= 'i'; c++ {
					fmt.Fprintf(&lol, "  %c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
				}
				commit := f.git.Commit(t, f.repo, "main", map[string][]byte{
					"overlays/lol/kustomization.yaml": []byte("resources: [../../base, lol.yaml]\n"),
					"overlays/lol/lol.yaml":           []byte(lol.String()),
				}, "a billion laughs")
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Overlay = "overlays/lol"
					tk.Spec.ForProvider.Change = change(commit, "1.2.3")
				}
			},
			want:      []string{"overlays/lol/lol.yaml: YAML aliases (*name) expand the overlay's documents to more than"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "overlay", Problem: `at commit {SHORT}: cannot build overlay "overlays/lol": overlays/lol/lol.yaml: YAML aliases (*name) expand the overlay's documents to more than 1000000 nodes: write the repeated content out, or use fewer nested aliases; K8sTA renders it again when the change or the overlay changes, or after 1h0m0s`},
		},
		"UnknownApplication": {
			prepare: func(_ *testing.T, _ *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", false, nil
			},
			want:      []string{"APP not found", "spec.forProvider.applications[0]"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "applications[0]", Problem: "Application {APP} not found: create it, or name an Application that exists"},
		},
		"CommitNotInRepository": {
			prepare: func(_ *testing.T, _ *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Change = change(strings.Repeat("ab", 20), "1.2.3")
				}
			},
			want:      []string{"spec.forProvider.change.commit " + strings.Repeat("ab", 20) + " is not in"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "change.commit", Problem: "commit {COMMIT} of change {ID} is not in {URL}: push it to the source branch, or fix the source of the change"},
		},
		"InvalidBranch": {
			prepare: func(_ *testing.T, _ *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/..dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Branch = "env/..dev" }
			},
			refusedByAPI: []string{"spec.forProvider.branch", "is not a valid git branch name"},
		},
		"Unreachable": {
			prepare: func(_ *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				return "env/dev", true, func(tk *v1alpha1.Ticket) {
					tk.Spec.ForProvider.Repo.URL = "http://127.0.0.1:1/acme/config.git"
				}
			},
			appRepo:   "http://127.0.0.1:1/acme/config.git",
			want:      []string{"cannot reach spec.forProvider.repo.url"},
			phase:     v1alpha1.PhaseBlocked,
			blockedOn: &v1alpha1.BlockedOn{Field: "repo.url", Problem: `cannot reach the repository: check its URL and the network: cannot fetch http://127.0.0.1:1/acme/config.git: repository unreachable: Get "http://127.0.0.1:1/acme/config.git/info/refs?service=git-upload-pack": dial tcp 127.0.0.1:1: connect: connection refused`},
		},
		"BadCredentials": {
			server: []gitserver.Option{gitserver.WithBasicAuth("k8sta", "the-right-one")},
			prepare: func(t *testing.T, f *fixture) (string, bool, func(*v1alpha1.Ticket)) {
				ctx := context.Background()
				must(t, kube.Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "git"},
					Data:       map[string][]byte{"username": []byte("k8sta"), "password": []byte(password)},
				}))
				must(t, kube.Create(ctx, &v1alpha1.ProviderConfig{
					ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "with-git"},
					Spec:       v1alpha1.ProviderConfigSpec{Git: &v1alpha1.GitCredentials{SecretRef: v1alpha1.SecretReference{Name: "git"}}},
				}))
				return "env/dev", true, func(tk *v1alpha1.Ticket) { tk.Spec.ProviderConfigReference.Name = "with-git" }
			},
			want: []string{"git credentials were refused", "spec.git.secretRef"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tc.server...)
			branch, withApp, mutate := tc.prepare(t, f)
			var app *unstructured.Unstructured
			if withApp {
				app = f.application("guestbook-dev", branch, func(u *unstructured.Unstructured) {
					if tc.appRepo != "" {
						_ = unstructured.SetNestedField(u.Object, tc.appRepo, "spec", "source", "repoURL")
					}
					if tc.appRepoOf != nil {
						_ = unstructured.SetNestedField(u.Object, tc.appRepoOf(f), "spec", "source", "repoURL")
					}
				})
			}
			tk := f.newTicket("guestbook-dev", change(f.source, "1.2.3"), mutate, "guestbook-dev")
			if tc.refusedByAPI != nil {
				err := kube.Create(context.Background(), tk)
				if err == nil {
					t.Fatal("the API server accepted the Ticket")
				}
				for _, w := range tc.refusedByAPI {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the API server's refusal %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("the API server's refusal quotes the password: %q", err)
				}
				if f.branchExists(branch) {
					t.Errorf("rendered branch %s was pushed", branch)
				}
				return
			}
			must(t, kube.Create(context.Background(), tk))
			key := client.ObjectKeyFromObject(tk)

			var synced xpv2.Condition
			eventually(t, "Synced False", func() (bool, string) {
				synced = condition(getTicket(t, key), xpv2.TypeSynced)
				return synced.Status == corev1.ConditionFalse, synced.Message
			})
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "APP", f.argoNS+"/guestbook-dev")
				if !strings.Contains(synced.Message, w) {
					t.Errorf("Synced message %q does not say %q", synced.Message, w)
				}
			}
			if ready := condition(getTicket(t, key), xpv2.TypeReady); ready.Status == corev1.ConditionTrue {
				t.Error("Ready is True for bad input")
			}
			if tc.phase != "" {
				eventually(t, "phase "+tc.phase, func() (bool, string) {
					got := getTicket(t, key).Status.AtProvider.Phase
					return got == tc.phase, got
				})
			}
			// The phase, the condition and blockedOn are written together.
			want := tc.blockedOn
			if want != nil {
				c := tk.Spec.ForProvider.Change
				want = &v1alpha1.BlockedOn{Field: want.Field, Problem: strings.NewReplacer(
					"{APP}", f.argoNS+"/guestbook-dev", "{COMMIT}", c.Commit, "{SHORT}", c.Commit[:12], "{ID}", c.ID, "{URL}", f.url(), "{REMOTE}", remote.URL).Replace(want.Problem)}
			}
			if diff := cmp.Diff(want, getTicket(t, key).Status.AtProvider.BlockedOn); diff != "" {
				t.Errorf("status.atProvider.blockedOn: -want, +got:\n%s", diff)
			}
			if f.branchExists(branch) {
				t.Errorf("rendered branch %s was pushed", branch)
			}
			if app != nil && f.app("guestbook-dev").GetResourceVersion() != app.GetResourceVersion() {
				t.Error("the Application was patched")
			}
			assertNoSecretLeaked(t, f.ns, key)
			if n := requests.Load(); n != 0 {
				t.Errorf("a render made %d requests to a URL an overlay names, want 0", n)
			}
		})
	}
}

func assertNoSecretLeaked(t *testing.T, ns string, key client.ObjectKey) {
	t.Helper()
	tk := getTicket(t, key)
	for _, c := range tk.Status.Conditions {
		if strings.Contains(c.Message, password) {
			t.Errorf("condition %s leaks the password: %q", c.Type, c.Message)
		}
	}
	events := &corev1.EventList{}
	must(t, kube.List(context.Background(), events, client.InNamespace(ns)))
	for _, e := range events.Items {
		if strings.Contains(e.Message, password) {
			t.Errorf("event %s leaks the password: %q", e.Name, e.Message)
		}
	}
}

// The CRD's schema refuses these URLs, but a provider may run with an older
// CRD: Connect refuses them too, before any clone, fetch or credential use.
func TestConnectRefusesWhatTheSchemaRefuses(t *testing.T) {
	cases := map[string]struct {
		url  func(f *fixture) string
		want []string
	}{
		"FileURL": {
			url:  func(f *fixture) string { return "file://" + f.git.Path(f.repo) },
			want: []string{"spec.forProvider.repo.url", "own file system", "use an https:// or ssh URL"},
		},
		"LocalPath": {
			url:  func(f *fixture) string { return f.git.Path(f.repo) },
			want: []string{"spec.forProvider.repo.url", "own file system", "use an https:// or ssh URL"},
		},
		"GitProtocol": {
			url:  func(*fixture) string { return "git://127.0.0.1:1/acme/config.git" },
			want: []string{"spec.forProvider.repo.url", "git://", "use https:// or ssh://"},
		},
		"CredentialsInURL": {
			url:  func(f *fixture) string { return strings.Replace(f.url(), "http://", "http://k8sta:"+password+"@", 1) },
			want: []string{"spec.forProvider.repo.url", "credentials in the URL are refused", "spec.git.secretRef"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			tk := f.newTicket("guestbook-dev", change(f.source, "1.2.3"), func(tk *v1alpha1.Ticket) { tk.Spec.ForProvider.Repo.URL = tc.url(f) }, "guestbook-dev")
			asIfStored(tk)
			c := &connector{kube: kube, repos: repos, argo: newArgoClients(kube, kube.Scheme())}
			_, err := c.Connect(context.Background(), tk)
			if err == nil {
				t.Fatal("Connect accepted the URL")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Connect's error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("Connect's error quotes the password: %q", err)
			}
		})
	}
}
