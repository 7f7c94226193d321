package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An Image is one container image a change sets.
type Image struct {
	// Repository is the image repository, e.g. ghcr.io/acme/guestbook.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$')",message="change.images[].repository must be an image repository without scheme, tag or digest, e.g. ghcr.io/acme/guestbook or registry.example.com:5000/team/app"
	Repository string `json:"repository"`

	// Tag is the tag that was selected.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`
	// +optional
	Tag string `json:"tag,omitempty"`

	// Digest is the manifest digest the tag resolved to when it was selected.
	// +kubebuilder:validation:MaxLength=135
	// +kubebuilder:validation:Pattern=`^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$`
	// +optional
	Digest string `json:"digest,omitempty"`
}

// String returns the image reference: repository[:tag][@digest].
func (i Image) String() string {
	s := i.Repository
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// A Change is what moves down a Track: a source-branch commit to render from
// and the images to set.
type Change struct {
	// ID is a short stable hash of commit and images; see ChangeID.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{12}$`
	ID string `json:"id"`

	// Commit is the full SHA of the source-branch commit to render from.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	Commit string `json:"commit"`

	// Images are the image overrides, by repository.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Images []Image `json:"images,omitempty"`

	// DiscoveredAt is when the Subscription first saw this change.
	// +optional
	DiscoveredAt *metav1.Time `json:"discoveredAt,omitempty"`
}

// ShortCommitLength is how many hex digits of a commit K8sTA shows in
// messages, conditions and logs: as many as a change's ID has, enough to be
// unambiguous in any repository a Track renders from.
const ShortCommitLength = 12

// ShortCommit returns commit as K8sTA shows it: its first ShortCommitLength
// characters.
func ShortCommit(commit string) string {
	if len(commit) > ShortCommitLength {
		return commit[:ShortCommitLength]
	}
	return commit
}

// ChangeID is the short stable hash that identifies a commit with a set of
// images: the same inputs in any image order give the same ID.
func ChangeID(commit string, images []Image) string {
	lines := make([]string, 0, len(images))
	for _, i := range images {
		lines = append(lines, i.Repository+"\x00"+i.Tag+"\x00"+i.Digest)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(commit + "\n" + strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])[:changeIDLength]
}

// CommitPattern is what a change's commit is: a full SHA-1 commit id, 40
// lower-case hexadecimal digits. Change.Commit's Pattern marker says the
// same (a marker cannot name a constant; TestChangeSchema keeps the
// generated CRDs and this constant equal).
const CommitPattern = `^[0-9a-f]{40}$`

var commitRegexp = regexp.MustCompile(CommitPattern)

// IsCommitSHA reports whether s is a change's commit.
func IsCommitSHA(s string) bool {
	return commitRegexp.MatchString(s)
}

// MaxChangeImages is how many images a change sets at most: one for each
// image a Track subscribes to. Change.Images' MaxItems marker says the same.
const MaxChangeImages = 20

// ChangeIDPattern is what a change id is: 12 lower-case hexadecimal
// digits, as ChangeID makes them. Every field that holds one says so in its
// Pattern, and the Track XRD in its rules.
const ChangeIDPattern = `^[0-9a-f]{12}$`

const changeIDLength = 12

var changeIDRegexp = regexp.MustCompile(ChangeIDPattern)

// IsChangeID reports whether s is a change id.
func IsChangeID(s string) bool {
	return changeIDRegexp.MatchString(s)
}
