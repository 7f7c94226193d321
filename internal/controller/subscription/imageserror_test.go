package subscription

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/registry"
)

// registry.Policies says which image is invalid and why; the Subscription
// names the field its user edits, spec.forProvider.images[i].<field>.
func TestImagesErrorNamesTheSubscriptionsField(t *testing.T) {
	cases := map[string]struct {
		images     []v1alpha1.ImageSubscription
		wantPrefix string
		wantFix    string
	}{
		"BadConstraint": {
			images: []v1alpha1.ImageSubscription{
				{Repository: "ghcr.io/acme/a", Strategy: "SemVer"},
				{Repository: "ghcr.io/acme/b", Strategy: "SemVer", Constraint: "1.x.y.z"},
			},
			wantPrefix: `spec.forProvider.images[1].constraint "1.x.y.z" is invalid: `,
			wantFix:    `; write a semver constraint such as ">=1.2.0 <2.0.0" or "~1.4", or leave it empty for any release`,
		},
		"BadIgnoreTag": {
			images:     []v1alpha1.ImageSubscription{{Repository: "ghcr.io/acme/a", Strategy: "SemVer", IgnoreTags: []string{".*", "("}}},
			wantPrefix: `spec.forProvider.images[0].ignoreTags[1] "(" is invalid: `,
			wantFix:    `; write a Go regular expression, e.g. '.*-rc.*'`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := registry.Policies(tc.images)
			if err == nil {
				t.Fatal("registry.Policies(...): want an error")
			}
			got := imagesError(err).Error()
			if diff := cmp.Diff(tc.wantPrefix, got[:min(len(got), len(tc.wantPrefix))]); diff != "" {
				t.Errorf("imagesError(...): -want prefix, +got:\n%s", diff)
			}
			if !strings.HasSuffix(got, tc.wantFix) {
				t.Errorf("imagesError(...) = %q, want it to end %q", got, tc.wantFix)
			}
		})
	}
	other := errors.New("boom")
	if got := imagesError(other); got != other { //nolint:errorlint // the same error, unchanged
		t.Errorf("imagesError(%v) = %v, want it unchanged", other, got)
	}
}
