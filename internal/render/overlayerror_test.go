package render

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// IsOverlayError tells the overlay's own faults, which only its author can
// fix, from a render that was stopped or ran over a bound. Each error comes
// from a real, sandboxed Build, as the Ticket controller runs it.
func TestIsOverlayError(t *testing.T) {
	cases := map[string]struct {
		reason  string
		files   map[string][]byte
		overlay string
		limits  Limits
		cancel  bool
		want    bool
	}{
		"OverlayMissing": {
			reason:  "An overlay that does not exist at the commit.",
			files:   fixture(),
			overlay: "overlays/qa",
			want:    true,
		},
		"ResourceMissing": {
			reason: "kustomize refuses an overlay that names a file the commit lacks.",
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources:\n- ../../base\n- missing.yaml\n")
			}),
			overlay: "overlays/dev",
			want:    true,
		},
		"RemoteResource": {
			reason: "A remote reference is refused before kustomize runs.",
			files: fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte("resources:\n- ../../base\n- https://127.0.0.1:1/acme/extra.yaml\n")
			}),
			overlay: "overlays/dev",
			want:    true,
		},
		"OverABound": {
			reason:  "A render over a bound is a LimitError: the Ticket refuses it on its own terms.",
			files:   fixture(),
			overlay: "overlays/dev",
			limits:  Limits{MaxOutputBytes: 64},
			want:    false,
		},
		"Stopped": {
			reason:  "A render stopped by its caller says nothing of the overlay.",
			files:   fixture(),
			overlay: "overlays/dev",
			cancel:  true,
			want:    false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			} else {
				defer cancel()
			}
			_, err := NewRenderer(tc.limits).Build(ctx, "team-a", MapSource(tc.files), tc.overlay, nil)
			if err == nil {
				t.Fatal("Build(...): want an error")
			}
			if diff := cmp.Diff(tc.want, IsOverlayError(err)); diff != "" {
				t.Errorf("%s\nIsOverlayError(%q): -want, +got:\n%s", tc.reason, err, diff)
			}
		})
	}
}
