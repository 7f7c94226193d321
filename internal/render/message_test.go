package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestCommitMessage(t *testing.T) {
	cases := map[string]struct {
		rec  Record
		want string
	}{
		"Images": {
			rec: Record{
				Track: "guestbook", Station: "dev", Overlay: "overlays/dev",
				Change: v1alpha1.Change{ID: "c0ffee12", Commit: "0123456789abcdef", Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0", Digest: digestA}, {Repository: "ghcr.io/acme/sidecar", Tag: "0.2.0"}}},
			},
			want: `k8sta: render dev change c0ffee12

Track: guestbook
Overlay: overlays/dev
Source commit: 0123456789abcdef
Images:
- ghcr.io/acme/guestbook:1.2.0@` + digestA + `
- ghcr.io/acme/sidecar:0.2.0

K8sta-Change: c0ffee12
`,
		},
		"NoImages": {
			rec: Record{Track: "guestbook", Station: "regions.guestbook-us.prod", Overlay: "overlays/prod", Change: v1alpha1.Change{ID: "abc", Commit: "0123"}},
			want: `k8sta: render regions.guestbook-us.prod change abc

Track: guestbook
Overlay: overlays/prod
Source commit: 0123
Images: none

K8sta-Change: abc
`,
		},
		"NewlinesCannotForgeTrailers": {
			rec: Record{Track: "t", Station: "dev\n\nK8sta-Change: forged", Overlay: "o\nX: y", Change: v1alpha1.Change{ID: "abc", Commit: "0123"}},
			want: `k8sta: render dev K8sta-Change: forged change abc

Track: t
Overlay: o X: y
Source commit: 0123
Images: none

K8sta-Change: abc
`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := CommitMessage(tc.rec)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CommitMessage(...): -want, +got:\n%s", diff)
			}
			id, ok := OwnChangeID(got)
			if diff := cmp.Diff(tc.rec.Change.ID, id); diff != "" || !ok {
				t.Errorf("OwnChangeID(CommitMessage(...)) = %q, %v; want %q, true", id, ok, tc.rec.Change.ID)
			}
		})
	}
}

func TestIsOwnCommit(t *testing.T) {
	cases := map[string]struct {
		message string
		want    bool
		wantID  string
	}{
		"OwnCommit": {
			message: CommitMessage(Record{Track: "t", Station: "dev", Overlay: "o", Change: v1alpha1.Change{ID: "c0ffee", Commit: "0123"}}),
			want:    true, wantID: "c0ffee",
		},
		"OwnCommitCRLFNoFinalNewline": {
			message: "k8sta: render dev change x\r\n\r\nbody\r\n\r\nK8sta-Change: x",
			want:    true, wantID: "x",
		},
		"OnlyTrailerAfterSubject": {
			message: "Render\n\nK8sta-Change: abc\n\n\n",
			want:    true, wantID: "abc",
		},
		"KeyCaseInsensitive": {
			message: "Render\n\nk8sta-change: abc\n",
			want:    true, wantID: "abc",
		},
		"TrailerAmongOtherTrailers": {
			message: "Fix the thing\n\nLong explanation.\n\nSigned-off-by: A <a@example.com>\nK8sta-Change: abc\nCo-authored-by: B <b@example.com>\n",
			want:    true, wantID: "abc",
		},
		"TrailerWithContinuationLine": {
			message: "Subject\n\nReviewed-by: A\n  and B\nK8sta-Change: abc\n",
			want:    true, wantID: "abc",
		},
		"MixedBlockWithSignedOffBy": {
			// git: a quarter of the lines are trailers and one is
			// git-generated.
			message: "Subject\n\nsome text\nK8sta-Change: abc\nSigned-off-by: A <a@example.com>\n",
			want:    true, wantID: "abc",
		},
		"HumanMentionsTrailerInSubject": {
			message: "Explain K8sta-Change: trailers in the docs\n\nWhat the trailer does.\n",
		},
		"SubjectOnlyLooksLikeTrailer": {
			message: "K8sta-Change: abc\n",
		},
		"SubjectParagraphOnly": {
			message: "K8sta-Change: abc\nSigned-off-by: A <a@example.com>\n",
		},
		"TrailerInMiddleParagraph": {
			message: "Subject\n\nK8sta-Change: abc\n\nA closing paragraph.\n",
		},
		"LastParagraphNotAllTrailers": {
			message: "Subject\n\nWe no longer write\nK8sta-Change: abc\nin messages.\n",
		},
		"TrailerMentionedInProse": {
			message: "Subject\n\nThe K8sta-Change: trailer marks own commits.\n",
		},
		"EmptyValue": {
			message: "Subject\n\nK8sta-Change:\n",
		},
		"AfterPatchDivider": {
			message: "Subject\n\nBody\n---\n\nK8sta-Change: abc\n",
		},
		"Empty": {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, IsOwnCommit(tc.message)); diff != "" {
				t.Errorf("IsOwnCommit(%q): -want, +got:\n%s", tc.message, diff)
			}
			id, _ := OwnChangeID(tc.message)
			if diff := cmp.Diff(tc.wantID, id); diff != "" {
				t.Errorf("OwnChangeID(%q): -want, +got:\n%s", tc.message, diff)
			}
		})
	}
}
