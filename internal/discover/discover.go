// Package discover turns what a Subscription sees — source-branch commits and
// selected images — into changes.
package discover

import (
	"path"
	"sort"
	"strings"

	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/render"
)

// An Overlay is one station's kustomize directory.
type Overlay struct {
	Station string
	Dir     string
}

// An OverlayCommit touched only some stations' overlays.
type OverlayCommit struct {
	Commit   string
	Stations []string
	// Base is the last base commit before Commit.
	Base string
}

// Classified is a run of source-branch commits, sorted by what they touch.
type Classified struct {
	// Base is the newest commit that touched the base (any path outside
	// every station's overlay), or "" if none did.
	Base string
	// Overlays are the commits, oldest first, that touched only overlays.
	Overlays []OverlayCommit
}

// Classify sorts commits (oldest first) by the paths they change; base is
// the last base commit before them. K8sTA's own commits, known by their
// trailer, are skipped: they are never a human's change.
func Classify(commits []gitrepo.Commit, overlays []Overlay, base string) Classified {
	var c Classified
	for _, cm := range commits {
		if render.IsOwnCommit(cm.Message) || len(cm.Paths) == 0 {
			continue
		}
		stations, touchesBase := owners(cm.Paths, overlays)
		if touchesBase {
			c.Base, base = cm.Hash, cm.Hash
			continue
		}
		c.Overlays = append(c.Overlays, OverlayCommit{Commit: cm.Hash, Stations: stations, Base: base})
	}
	return c
}

// owners returns the stations whose overlays hold paths, and whether any
// path lies outside every overlay.
func owners(paths []string, overlays []Overlay) ([]string, bool) {
	set := map[string]bool{}
	for _, p := range paths {
		owned := false
		for _, o := range overlays {
			if within(p, o.Dir) {
				set[o.Station] = true
				owned = true
			}
		}
		if !owned {
			return nil, true
		}
	}
	stations := make([]string, 0, len(set))
	for s := range set {
		stations = append(stations, s)
	}
	sort.Strings(stations)
	return stations, false
}

func within(p, dir string) bool {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return false
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
