// Package discover sorts a Track's new source-branch commits by what they
// touch: the base, which every station renders, only some stations'
// overlays, or nothing the Track builds from.
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
	// Base is the newest commit that touched the base (a path outside every
	// station's overlay, within the Track's paths), or "" if none did.
	Base string
	// Overlays are the commits, oldest first, that touched only overlays
	// among the Track's paths.
	Overlays []OverlayCommit
}

// Classify sorts commits (oldest first) by the paths they change; base is
// the last base commit before them. paths are the repository paths whose
// changes are the Track's (directories or files, whole segments, a
// trailing / optional); none means every path. The overlays always count:
// a commit that touches none of paths and no overlay, such as another
// app's directory in a monorepo, is no change at all. K8sTA's own commits,
// known by their trailer, are skipped: they are never a human's change.
func Classify(commits []gitrepo.Commit, overlays []Overlay, paths []string, base string) Classified {
	var c Classified
	for _, cm := range commits {
		if render.IsOwnCommit(cm.Message) || len(cm.Paths) == 0 {
			continue
		}
		stations, touchesBase := owners(cm.Paths, overlays, paths)
		switch {
		case touchesBase:
			c.Base, base = cm.Hash, cm.Hash
		case len(stations) > 0:
			c.Overlays = append(c.Overlays, OverlayCommit{Commit: cm.Hash, Stations: stations, Base: base})
		}
	}
	return c
}

// owners returns the stations whose overlays hold changed, and whether any
// of changed lies outside every overlay but within paths (everywhere, when
// paths is empty).
func owners(changed []string, overlays []Overlay, paths []string) ([]string, bool) {
	set := map[string]bool{}
	for _, p := range changed {
		owned := false
		for _, o := range overlays {
			if within(p, o.Dir) {
				set[o.Station] = true
				owned = true
			}
		}
		if !owned && followed(p, paths) {
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

// followed reports whether p is within one of paths, or paths is empty.
func followed(p string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, d := range paths {
		if within(p, d) {
			return true
		}
	}
	return false
}

func within(p, dir string) bool {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return false
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
