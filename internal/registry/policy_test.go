package registry

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestValidate(t *testing.T) {
	ok := Policy{Repository: "ghcr.io/acme/guestbook"}
	cases := map[string]struct {
		p         Policy
		wantField string
	}{
		"Default":               {p: ok},
		"Full":                  {p: Policy{Repository: "ghcr.io/acme/guestbook", Strategy: SemVer, Constraint: ">=1.2.0 <2.0.0", AllowTags: `^v?\d+\.\d+\.\d+$`, IgnoreTags: []string{".*-rc.*"}, Platform: "linux/amd64", DiscoveryLimit: 20}},
		"DockerHubShort":        {p: Policy{Repository: "nginx"}},
		"EmptyRepository":       {p: Policy{}, wantField: "repository"},
		"RepositoryWithTag":     {p: Policy{Repository: "ghcr.io/acme/guestbook:v1"}, wantField: "repository"},
		"UnknownStrategy":       {p: Policy{Repository: "x/y", Strategy: "Latest"}, wantField: "strategy"},
		"BadConstraint":         {p: Policy{Repository: "x/y", Constraint: ">=1.x.y.z"}, wantField: "constraint"},
		"DigestNeedsTag":        {p: Policy{Repository: "x/y", Strategy: Digest}, wantField: "constraint"},
		"DigestBadTag":          {p: Policy{Repository: "x/y", Strategy: Digest, Constraint: "a b"}, wantField: "constraint"},
		"DigestNoFilters":       {p: Policy{Repository: "x/y", Strategy: Digest, Constraint: "latest", AllowTags: "x"}, wantField: "allowTags"},
		"LexicalNoConstraint":   {p: Policy{Repository: "x/y", Strategy: Lexical, Constraint: "latest"}, wantField: "constraint"},
		"BadAllow":              {p: Policy{Repository: "x/y", AllowTags: "("}, wantField: "allowTags"},
		"BadIgnore":             {p: Policy{Repository: "x/y", IgnoreTags: []string{"ok", "["}}, wantField: "ignoreTags[1]"},
		"BadPlatform":           {p: Policy{Repository: "x/y", Platform: "amd64"}, wantField: "platform"},
		"BadPlatformTooLong":    {p: Policy{Repository: "x/y", Platform: "linux/arm64/v8/x"}, wantField: "platform"},
		"NegativeLimit":         {p: Policy{Repository: "x/y", DiscoveryLimit: -1}, wantField: "discoveryLimit"},
		"HugeLimit":             {p: Policy{Repository: "x/y", DiscoveryLimit: MaxDiscoveryLimit + 1}, wantField: "discoveryLimit"},
		"PlatformWithVariantOK": {p: Policy{Repository: "x/y", Platform: "linux/arm64/v8"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate(): %v", err)
				}
				return
			}
			fe, ok := err.(*FieldError) //nolint:errorlint // Validate returns it unwrapped.
			if !ok {
				t.Fatalf("Validate(): want a *FieldError for %s, got %v", tc.wantField, err)
			}
			if fe.Field != tc.wantField || fe.Fix == "" || fe.Reason == "" {
				t.Errorf("Validate(): got %#v, want field %s with a reason and a fix", fe, tc.wantField)
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	_, err := Policies([]v1alpha1.ImageSubscription{
		{Repository: "ghcr.io/acme/a", Strategy: "SemVer"},
		{Repository: "ghcr.io/acme/b", Strategy: "SemVer", Constraint: "1.x.y.z"},
	})
	var ie *ImageError
	if !errors.As(err, &ie) {
		t.Fatalf("Policies(...): errors.As(%v, *ImageError) = false", err)
	}
	want := &ImageError{Index: 1, Field: &FieldError{Field: "constraint", Value: "1.x.y.z", Fix: `write a semver constraint such as ">=1.2.0 <2.0.0" or "~1.4", or leave it empty for any release`}}
	if diff := cmp.Diff(want, ie, cmpopts.IgnoreFields(FieldError{}, "Reason")); diff != "" || ie.Field.Reason == "" {
		t.Errorf("Policies(...): -want, +got (and a reason):\n%s", diff)
	}
	if strings.Contains(err.Error(), "spec.") {
		t.Errorf("Policies(...): %q names a managed resource's field: the caller does", err)
	}
	ps, err := Policies([]v1alpha1.ImageSubscription{{Repository: "ghcr.io/acme/a", Strategy: "Digest", Constraint: "main", Platform: "linux/amd64", DiscoveryLimit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Policy{{Repository: "ghcr.io/acme/a", Strategy: Digest, Constraint: "main", Platform: "linux/amd64", DiscoveryLimit: 5}}, ps); diff != "" {
		t.Errorf("Policies(...): -want, +got:\n%s", diff)
	}
}

func TestParseVersion(t *testing.T) {
	for tag, want := range map[string]string{
		"1.2.3": "1.2.3", "v1.2.3": "1.2.3", "1.2.3-rc.1": "1.2.3-rc.1", "v0.0.1-alpha": "0.0.1-alpha",
		"1.2": "", "latest": "", "20240101": "", "vv1.2.3": "", "V1.2.3": "", "01.2.3": "", "": "", "v": "",
		"1.2.3.4": "", "sha-abc123": "",
	} {
		v, ok := ParseVersion(tag)
		got := ""
		if ok {
			got = v.String()
		}
		if got != want {
			t.Errorf("ParseVersion(%q): got %q, want %q", tag, got, want)
		}
	}
}

func TestNaturalOrder(t *testing.T) {
	tags := []string{"build-10", "build-9", "build-100", "a", "build-09", "build-9a", "2024-01-02", "2023-12-31", ""}
	sort.Slice(tags, func(i, j int) bool { return naturalLess(tags[i], tags[j]) })
	want := []string{"", "2023-12-31", "2024-01-02", "a", "build-9", "build-9a", "build-09", "build-10", "build-100"}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("-want, +got:\n%s", diff)
	}
}
