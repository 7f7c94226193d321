package kubectlk8sta

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxNameLength keeps control names as short as the composed Tickets' and
// usable as label values.
const maxNameLength = 63

// hashLength is how many hex digits of sha256(track/path) a cut name ends in.
const hashLength = 8

// ControlName is the readable name of the Approval, Freeze or Pin that
// kubectl k8sta keeps for a station of a Track: <track>-<path, '.' turned
// into '-'>, or <track> for a Freeze of the whole Track (path ""). A name
// longer than 63 characters is cut and ends in 8 hex digits of
// sha256(track/path).
func ControlName(track, path string) string {
	name := readableName(track, path)
	if len(name) <= maxNameLength {
		return name
	}
	return hashedName(track, path)
}

// hashedName is the name a control takes when its readable name is longer
// than 63 characters or is taken by another Track's or station's control
// (track a-b station c and Track a station path b.x.c read alike).
func hashedName(track, path string) string {
	name := readableName(track, path)
	sum := sha256.Sum256([]byte(track + "/" + path))
	keep := min(len(name), maxNameLength-hashLength-1)
	return strings.TrimRight(name[:keep], "-.") + "-" + hex.EncodeToString(sum[:])[:hashLength]
}

func readableName(track, path string) string {
	if path == "" {
		return track
	}
	return track + "-" + strings.ReplaceAll(path, ".", "-")
}

// trackLabel is the k8sta.io/track label value of a Track's controls: its
// name, cut like a control name when longer than a label value may be.
func trackLabel(track string) string {
	return ControlName(track, "")
}
