package argocd

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

var testGrant = Grant{Track: testTrack, RepoURL: testRepo, Branch: testBranch}

// changeBeforeFirstPatch wraps a real client only to inject timing: right
// before the first Patch it changes the Application through the real API
// server (with change, a merge patch), so that the patch, locked on the
// resourceVersion the caller read, meets a real conflict on the real server.
// Every call then goes to the real API server unchanged.
type changeBeforeFirstPatch struct {
	change []byte

	mu      sync.Mutex
	done    bool
	patches int
}

func (w *changeBeforeFirstPatch) client(t *testing.T, c client.WithWatch) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			w.mu.Lock()
			first := !w.done
			w.done = true
			w.patches++
			w.mu.Unlock()
			if first {
				a := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
				if err := c.Patch(ctx, a, client.RawPatch(types.MergePatchType, w.change)); err != nil {
					t.Errorf("cannot change the Application before the first patch: %v", err)
				}
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	})
}

// An Application that stops authorizing the Track between the read and the
// patch is never synced or refreshed: after the conflict, the object read
// again is authorized again, and the error names what is missing.
func TestPatchesAreAuthorizedAgainstTheObjectTheyApplyTo(t *testing.T) {
	c := realAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cases := map[string]struct {
		change []byte
		want   []string
	}{
		"AnnotationRemoved": {
			change: []byte(`{"metadata":{"annotations":{"k8sta.io/authorized-tracks":null}}}`),
			want:   []string{"does not authorize track team-a/guestbook", AuthorizedTracksAnnotation},
		},
		"AnotherTrackAuthorized": {
			change: []byte(`{"metadata":{"annotations":{"k8sta.io/authorized-tracks":"team-b/guestbook"}}}`),
			want:   []string{"does not authorize track team-a/guestbook", AuthorizedTracksAnnotation},
		},
		"SourcePointedElsewhere": {
			change: []byte(`{"spec":{"source":{"repoURL":"https://git.example.com/acme/other.git"}}}`),
			want:   []string{"spec.source.repoURL"},
		},
		"SourceOnAnotherBranch": {
			change: []byte(`{"spec":{"source":{"targetRevision":"main"}}}`),
			want:   []string{"spec.source.targetRevision to env/dev"},
		},
	}
	for name, tc := range cases {
		for _, call := range []string{"Trigger", "Refresh"} {
			t.Run(name+"/"+call, func(t *testing.T) {
				appName := strings.ToLower("reauthorize-" + name + "-" + call)
				a, before := createApp(t, c, appName, singleSourceYAML)
				w := &changeBeforeFirstPatch{change: tc.change}

				var err error
				switch call {
				case "Trigger":
					err = Trigger(ctx, w.client(t, c), a, testGrant, rev, ticket)
				case "Refresh":
					err = Refresh(ctx, w.client(t, c), a, testGrant)
				}

				if !IsUnauthorized(err) {
					t.Fatalf("%s(...): got %v, want an *UnauthorizedError", call, err)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s(...): error %q does not say %q", call, err, s)
					}
				}
				if w.patches != 1 {
					t.Errorf("%s(...) sent %d patches, want 1 (the one that met the conflict)", call, w.patches)
				}
				after := getUnstructured(t, c, appName)
				if got := field(after, "operation"); got != nil {
					t.Errorf(".operation: want none, got %v", got)
				}
				if got := after.GetAnnotations()[RefreshAnnotation]; got != "" {
					t.Errorf("annotation %s = %q, want none", RefreshAnnotation, got)
				}
				if got, want := field(after, "status", "operationState"), field(before, "status", "operationState"); got == nil && want != nil {
					t.Errorf("status.operationState was cleared")
				}
			})
		}
	}
}
