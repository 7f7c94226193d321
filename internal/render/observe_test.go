package render

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// builds records what a BuildObserver is told: the results, in order.
type builds struct {
	mu   sync.Mutex
	seen []string
}

func (b *builds) observe(result string, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if took < 0 {
		result += " (negative duration)"
	}
	b.seen = append(b.seen, result)
}

// The observer is told of each render that held a slot, with its result in
// a word; a Build refused before (an invalid overlay path, a busy tenant)
// is no render.
func TestBuildObserverIsToldOfEveryRender(t *testing.T) {
	cases := map[string]struct {
		limits  Limits
		files   map[string][]byte
		overlay string
		want    []string
	}{
		"Rendered":        {overlay: "overlays/dev", want: []string{ResultRendered}},
		"OverlayMissing":  {overlay: "overlays/qa", want: []string{ResultInvalid}},
		"KustomizeFails":  {overlay: "overlays/dev", files: map[string][]byte{"overlays/dev/kustomization.yaml": []byte("resources: [missing.yaml]\n")}, want: []string{ResultInvalid}},
		"OverOutputBound": {limits: Limits{MaxOutputBytes: 16}, overlay: "overlays/dev", want: []string{ResultLimitExceeded}},
		"OutsideTheRepo":  {overlay: "../etc"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files := fixture()
			for p, c := range tc.files {
				files[p] = c
			}
			var seen builds
			r := NewRenderer(tc.limits, WithBuildObserver(seen.observe))
			_, _ = r.Build(context.Background(), "team-a", MapSource(files), tc.overlay, nil)
			if diff := cmp.Diff(tc.want, seen.seen); diff != "" {
				t.Errorf("renders: -want, +got:\n%s", diff)
			}
		})
	}
}
