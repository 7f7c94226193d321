package argocd

import (
	"context"
	"encoding/json"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A Grant is what a sync or refresh must be authorized for: the Track
// ("<namespace>/<track>") asking, and the repository and branch it renders
// to. Trigger and Refresh check it with Authorize against the very object
// they patch.
// +kubebuilder:object:generate=false
type Grant struct {
	Track   string
	RepoURL string
	Branch  string
}

// authorize checks that app, as read, lets g sync it and returns the index
// of the source to sync.
func (g Grant) authorize(app *Application) (int, error) {
	return Authorize(app, g.Track, g.RepoURL, g.Branch)
}

// Trigger asks Argo CD to sync revision, the rendered commit, into the source
// of app that g is authorized for, for the ticket info value info
// ("<ticket>/<change id>"). It sends one JSON merge patch, locked on app's
// resourceVersion, that sets
//
//   - the annotation argocd.argoproj.io/refresh: hard,
//   - .operation: initiatedBy {username: k8sta, automated: true}, info
//     [{name: k8sta.io/ticket, value: info}], sync {revision (single source)
//     or revisions (multi-source: revision at the authorized source, every
//     other source its own targetRevision), syncOptions from
//     spec.syncPolicy}, and retry from spec.syncPolicy (Argo CD keeps the
//     retry strategy on the operation, beside sync: a retry under sync would
//     be pruned by its CRD),
//   - status.operationState: null.
//
// Every patch is authorized (Authorize) against the object whose
// resourceVersion it is locked on, so an Application that stops authorizing
// g between a read and a patch is never synced: the patch fails with a
// conflict and the object read again is authorized again, which returns an
// *UnauthorizedError (wrapped; see IsUnauthorized).
//
// It never touches spec and never Updates. On a conflict (somebody changed
// the Application since it was read) it reads it again, authorizes and
// judges it again, and retries a few times while it still needs the sync
// (Judge says NeedsSync, or still says what it said of the object the caller
// passed, e.g. Failed for a deliberate re-sync); otherwise it stops and
// returns nil, and the caller's next Judge tells where the Application
// stands. Trigger does nothing (and returns nil) while an operation runs,
// whoever started it: Argo CD runs one at a time and another actor's
// operation must never be replaced; Judge reports Waiting for it. app is
// updated to what the API server returned.
func Trigger(ctx context.Context, c client.Client, app *Application, g Grant, revision, info string) error {
	name := appName(app)
	var asked State
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh := &Application{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(app), fresh); err != nil {
				return err
			}
			*app = *fresh
		}
		sourceIndex, err := g.authorize(app)
		if err != nil {
			return err
		}
		state := Judge(app, revision, sourceIndex, info).State
		if first {
			asked = state
		} else if state != NeedsSync && state != asked {
			// Somebody changed the Application since the caller judged it:
			// sync only if it still calls for what the caller saw.
			return nil
		}
		first = false
		if _, running := runningOperation(app); running {
			return nil
		}
		patch, err := triggerPatch(app, revision, sourceIndex, info)
		if err != nil {
			return err
		}
		return patchApplication(ctx, c, app, patch)
	})
	return errors.Wrapf(err, "cannot trigger a sync of Application %s", name)
}

// Refresh asks Argo CD to refresh app (hard), with a merge patch of only the
// annotation argocd.argoproj.io/refresh, locked on app's resourceVersion and
// authorized for g against that very object as Trigger's is: on a conflict it
// reads the Application again and authorizes it again. app is updated to
// what the API server returned.
func Refresh(ctx context.Context, c client.Client, app *Application, g Grant) error {
	name := appName(app)
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh := &Application{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(app), fresh); err != nil {
				return err
			}
			*app = *fresh
		}
		first = false
		if _, err := g.authorize(app); err != nil {
			return err
		}
		if app.GetResourceVersion() == "" {
			return errors.New("the Application has no resourceVersion to lock the patch on")
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{
				"resourceVersion": app.GetResourceVersion(),
				"annotations":     map[string]string{RefreshAnnotation: RefreshHard},
			},
		})
		if err != nil {
			return errors.Wrap(err, "cannot encode the refresh patch")
		}
		return patchApplication(ctx, c, app, patch)
	})
	return errors.Wrapf(err, "cannot refresh Application %s", name)
}

// triggerPatchBody is the merge patch Trigger sends.
// +kubebuilder:object:generate=false
type triggerPatchBody struct {
	Metadata  triggerPatchMeta   `json:"metadata"`
	Operation Operation          `json:"operation"`
	Status    triggerPatchStatus `json:"status"`
}

// +kubebuilder:object:generate=false
type triggerPatchMeta struct {
	ResourceVersion string            `json:"resourceVersion"`
	Annotations     map[string]string `json:"annotations"`
}

// +kubebuilder:object:generate=false
type triggerPatchStatus struct {
	OperationState *OperationState `json:"operationState"` // always null
}

func triggerPatch(app *Application, revision string, sourceIndex int, info string) ([]byte, error) {
	if app.GetResourceVersion() == "" {
		return nil, errors.New("the Application has no resourceVersion to lock the patch on")
	}
	if revision == "" {
		return nil, errors.New("no revision to sync")
	}
	sync := &SyncOperation{}
	if app.Spec.HasMultipleSources() {
		if sourceIndex < 0 || sourceIndex >= len(app.Spec.Sources) {
			return nil, errors.Errorf("the Application has no source #%d: it has %d", sourceIndex, len(app.Spec.Sources))
		}
		sync.Revisions = make([]string, len(app.Spec.Sources))
		for i, s := range app.Spec.Sources {
			sync.Revisions[i] = s.TargetRevision
		}
		sync.Revisions[sourceIndex] = revision
	} else {
		if sourceIndex != 0 {
			return nil, errors.Errorf("the Application has a single source, not source #%d", sourceIndex)
		}
		sync.Revision = revision
	}
	op := Operation{
		Sync:        sync,
		InitiatedBy: OperationInitiator{Username: UsernameK8sTA, Automated: true},
		Info:        []Info{{Name: TicketInfoName, Value: info}},
	}
	if p := app.Spec.SyncPolicy; p != nil {
		sync.SyncOptions = p.SyncOptions
		sync.Prune = p.Automated != nil && p.Automated.Prune
		if len(p.Retry) > 0 && string(p.Retry) != "null" {
			op.Retry = p.Retry
		}
	}
	return json.Marshal(triggerPatchBody{
		Metadata: triggerPatchMeta{
			ResourceVersion: app.GetResourceVersion(),
			Annotations:     map[string]string{RefreshAnnotation: RefreshHard},
		},
		Operation: op,
	})
}

// patchApplication merge-patches app and replaces it with the result. The
// result is decoded into a fresh object: decoding into app would keep fields
// the response no longer has.
func patchApplication(ctx context.Context, c client.Client, app *Application, patch []byte) error {
	out := &Application{ObjectMeta: metav1.ObjectMeta{Namespace: app.GetNamespace(), Name: app.GetName()}}
	if err := c.Patch(ctx, out, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return err
	}
	*app = *out
	return nil
}
