package v1alpha1

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func TestIsChangeID(t *testing.T) {
	cases := map[string]struct {
		reason string
		id     string
		want   bool
	}{
		"Made":      {reason: "What ChangeID makes is a change id.", id: ChangeID("0123456789abcdef0123456789abcdef01234567", []Image{{Repository: "ghcr.io/acme/guestbook", Tag: "v1.2.3"}}), want: true},
		"UpperCase": {reason: "A change id is lower case.", id: "0123456789AB"},
		"TooLong":   {reason: "A change id has 12 digits, not a commit's 40.", id: "0123456789abc"},
		"TooShort":  {reason: "A change id has 12 digits.", id: "0123456789a"},
		"NotHex":    {reason: "A tag is not a change id.", id: "v1.2.3-rc.10"},
		"Empty":     {reason: "Nothing is no change id.", id: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, IsChangeID(tc.id)); diff != "" {
				t.Errorf("%s\nIsChangeID(%q): -want, +got:\n%s", tc.reason, tc.id, diff)
			}
		})
	}
}

func TestIsCommitSHA(t *testing.T) {
	cases := map[string]struct {
		reason string
		commit string
		want   bool
	}{
		"Full":      {reason: "A full SHA-1 commit id is a change's commit.", commit: "0123456789abcdef0123456789abcdef01234567", want: true},
		"UpperCase": {reason: "A change's commit is lower case, as git prints it.", commit: "0123456789ABCDEF0123456789ABCDEF01234567"},
		"Short":     {reason: "A short commit id is ambiguous.", commit: "0123456789ab"},
		"TooLong":   {reason: "A SHA-256 commit id is not one.", commit: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		"NotHex":    {reason: "A branch is not a commit.", commit: "main"},
		"Newline":   {reason: "Nothing may follow the 40 digits.", commit: "0123456789abcdef0123456789abcdef01234567\n"},
		"Empty":     {reason: "Nothing is no commit.", commit: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, IsCommitSHA(tc.commit)); diff != "" {
				t.Errorf("%s\nIsCommitSHA(%q): -want, +got:\n%s", tc.reason, tc.commit, diff)
			}
		})
	}
}

// TestChangeSchema checks that every Change the generated CRDs hold is
// validated as CommitPattern, ChangeIDPattern and MaxChangeImages say: the
// kubebuilder markers cannot name the constants the function checks a
// Track's history with, so this holds the two together.
func TestChangeSchema(t *testing.T) {
	type change struct {
		Commit, ID string
		Images     int64
	}
	want := change{Commit: CommitPattern, ID: ChangeIDPattern, Images: MaxChangeImages}
	for _, crd := range []string{"provider.k8sta.io_tickets.yaml", "provider.k8sta.io_subscriptions.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "package", "crds", crd))
		if err != nil {
			t.Fatal(err)
		}
		var c apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatalf("cannot parse %s: %v", crd, err)
		}
		found := 0
		var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
		walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
			p := s.Properties
			if _, ok := p["commit"]; ok {
				if _, ok := p["id"]; ok {
					found++
					got := change{Commit: p["commit"].Pattern, ID: p["id"].Pattern}
					if i := p["images"].MaxItems; i != nil {
						got.Images = *i
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("%s %s: -want (the constants), +got (the CRD):\n%s", crd, path, diff)
					}
				}
			}
			for name, sub := range p {
				walk(path+"."+name, &sub)
			}
			if s.Items != nil && s.Items.Schema != nil {
				walk(path+"[]", s.Items.Schema)
			}
		}
		for _, v := range c.Spec.Versions {
			if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
				walk(v.Name, v.Schema.OpenAPIV3Schema)
			}
		}
		if found == 0 {
			t.Errorf("%s holds no Change: want at least one", crd)
		}
	}
}
