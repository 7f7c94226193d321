package render

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestTreeParseRecordRoundTrip(t *testing.T) {
	cases := map[string]Record{
		"Images": {
			Track: "guestbook", Station: "regions.guestbook-us.prod", Overlay: "overlays/prod",
			Change: v1alpha1.Change{ID: "c0ffee12", Commit: "0123456789abcdef0123456789abcdef01234567", Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/sidecar", Digest: digestB}, {Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0", Digest: digestA}}},
		},
		"NoImages": {Track: "guestbook", Station: "dev", Overlay: "overlays/dev", Change: v1alpha1.Change{ID: "abc", Commit: "0123"}},
		"ValuesThatLookLikeOtherTypes": {
			Track: "null", Station: "yes", Overlay: "~",
			Change: v1alpha1.Change{ID: "true", Commit: "1e10", Images: []v1alpha1.Image{{Repository: "r", Tag: "1.20"}, {Repository: "s", Tag: "010"}}},
		},
	}
	cases["YAML11Scalars"] = Record{
		Track: "0x10", Station: "on", Overlay: "a: b",
		Change: v1alpha1.Change{ID: "off", Commit: ".inf", Images: []v1alpha1.Image{{Repository: "- r", Tag: "0o17", Digest: "#x"}}},
	}
	for name, rec := range cases {
		t.Run(name, func(t *testing.T) {
			manifests := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
			tree := Tree(manifests, rec)
			if diff := cmp.Diff([]string{RecordPath, ManifestsPath}, keys(tree)); diff != "" {
				t.Errorf("Tree(...) paths: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(string(manifests), string(tree[ManifestsPath])); diff != "" {
				t.Errorf("Tree(...)[%s]: -want, +got:\n%s", ManifestsPath, diff)
			}
			got, err := ParseRecord(tree[RecordPath])
			if err != nil {
				t.Fatalf("ParseRecord(...): %v", err)
			}
			if diff := cmp.Diff(rec, got); diff != "" {
				t.Errorf("ParseRecord(Tree(...)): -want, +got:\n%s", diff)
			}
			again := Tree(manifests, got)
			if diff := cmp.Diff(string(tree[RecordPath]), string(again[RecordPath])); diff != "" {
				t.Errorf("record YAML is not stable: -first, +second:\n%s", diff)
			}
		})
	}
}

func TestRecordYAML(t *testing.T) {
	rec := Record{
		Track: "guestbook", Station: "dev", Overlay: "overlays/dev",
		Change: v1alpha1.Change{ID: "c0ffee12", Commit: "0123abc", Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "1.2.0", Digest: digestA}}},
	}
	want := `track: guestbook
station: dev
changeID: c0ffee12
commit: 0123abc
images:
  - repository: ghcr.io/acme/guestbook
    tag: 1.2.0
    digest: ` + digestA + `
overlay: overlays/dev
`
	if diff := cmp.Diff(want, string(Tree(nil, rec)[RecordPath])); diff != "" {
		t.Errorf("record YAML: -want, +got:\n%s", diff)
	}
}

// A branch rendered before the record held a v1alpha1.Change reads as the
// same Record, and the record written today is the same bytes, so that a
// provider rolled back knows the branches this one rendered.
func TestRecordRenderedByAnOlderRelease(t *testing.T) {
	// Written by the record.go of main before issue 12.
	old, err := os.ReadFile("testdata/record-before-issue-12.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		Track: "team-a/guestbook", Station: "regions.guestbook-us.prod", Overlay: "overlays/us/prod",
		Change: v1alpha1.Change{
			ID: "3f1c0ffee123", Commit: "0123456789abcdef0123456789abcdef01234567",
			Images: []v1alpha1.Image{
				{Repository: "ghcr.io/acme/guestbook", Tag: "1.20", Digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
				{Repository: "ghcr.io/acme/sidecar", Tag: "0.2.0"},
			},
		},
	}
	got, err := ParseRecord(old)
	if err != nil {
		t.Fatalf("ParseRecord(old record): %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRecord(old record): -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(string(old), string(Tree(nil, want)[RecordPath])); diff != "" {
		t.Errorf("record YAML: -old release, +today:\n%s", diff)
	}
}

func TestParseRecord(t *testing.T) {
	cases := map[string]struct {
		data    string
		want    Record
		wantErr bool
	}{
		"UnknownFieldIgnored": {
			data: "track: t\nstation: s\nchangeID: c\ncommit: abc\noverlay: o\nfuture: 1\n",
			want: Record{Track: "t", Station: "s", Overlay: "o", Change: v1alpha1.Change{ID: "c", Commit: "abc"}},
		},
		"NotYAML":       {data: "track: [", wantErr: true},
		"NoChangeID":    {data: "track: t\n", wantErr: true},
		"Empty":         {data: "", wantErr: true},
		"WrongTypeList": {data: "- a\n", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseRecord([]byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseRecord(%q): err = %v, wantErr %v", tc.data, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRecord(%q): -want, +got:\n%s", tc.data, diff)
			}
		})
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
