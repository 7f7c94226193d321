package credentials

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/repourl"
)

// mustParse parses raw with a policy that allows plain http to github.com,
// so that a test can show that an https prefix does not cover it.
func mustParse(t *testing.T, raw string) repourl.URL {
	t.Helper()
	p, err := repourl.NewPolicy("github.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Parse(raw)
	if err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return u
}

// A prefix covers the repositories on its scheme, host and port whose path
// starts with its path on a segment boundary, and nothing a server could
// read as a path outside it.
func TestCovers(t *testing.T) {
	cases := map[string]struct {
		prefix, repo string
		want         bool
	}{
		"Owner":                {"https://github.com/acme/", "https://github.com/acme/app.git", true},
		"TheRepositoryItself":  {"https://github.com/acme/app.git", "https://github.com/acme/app/", true},
		"Subgroup":             {"https://gitlab.example.com/group", "https://gitlab.example.com/group/sub/app", true},
		"AnotherHost":          {"https://github.com/acme/", "https://attacker.example/acme/app", false},
		"HostPrefixIsNotHost":  {"https://github.com/acme/", "https://github.com.attacker.example/acme/app", false},
		"NotASegmentBoundary":  {"https://github.com/acme", "https://github.com/acme-evil/app", false},
		"ParentOfThePrefix":    {"https://github.com/acme/app/sub", "https://github.com/acme/app", false},
		"AnotherOwner":         {"https://github.com/acme/", "https://github.com/platform/secrets", false},
		"PlainHTTPSameHost":    {"https://github.com/acme/", "http://github.com/acme/app", false},
		"AnotherPort":          {"https://git.example.com:8443/acme", "https://git.example.com/acme/app", false},
		"DefaultPortWritten":   {"https://git.example.com:443/acme", "https://git.example.com/acme/app", true},
		"HostCase":             {"https://GitHub.com/acme", "https://github.com/acme/app", true},
		"PathCaseAsWritten":    {"https://github.com/acme", "https://github.com/ACME/app", false},
		"IPv6Spellings":        {"https://[::1]:8443/acme", "https://[0:0::1]:8443/acme/app", true},
		"SCPPrefixSSHRepo":     {"git@github.com:acme/", "ssh://git@github.com/acme/app.git", true},
		"SSHPrefixSCPRepo":     {"ssh://git@github.com/acme", "git@github.com:acme/app.git", true},
		"SSHPrefixHTTPSRepo":   {"ssh://git@github.com/acme", "https://github.com/acme/app", false},
		"AnotherSSHLogin":      {"ssh://deploy@git.example.com/acme", "ssh://git@git.example.com/acme/app", true},
		"EscapedLetter":        {"https://github.com/acme", "https://github.com/%61cme/app", true},
		"EscapedSlash":         {"https://github.com/acme/", "https://github.com/acme/x%2F..%2F..%2Fplatform/secrets", false},
		"EscapedBackslash":     {"https://github.com/acme/", "https://github.com/acme/x%5C..%5Cplatform", false},
		"EmptySegment":         {"https://github.com/acme/", "https://github.com/acme//app", false},
		"ZeroPrefixCoversNone": {"", "https://github.com/acme/app", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var prefix repourl.URL
			if tc.prefix != "" {
				prefix = mustParse(t, tc.prefix)
			}
			if got := Covers(prefix, mustParse(t, tc.repo)); got != tc.want {
				t.Errorf("Covers(%q, %q) = %t, want %t", tc.prefix, tc.repo, got, tc.want)
			}
		})
	}
}

// An escaped ".." never reaches Covers: a repository URL or prefix holding one
// does not parse.
func TestEscapedDotDotNeverParses(t *testing.T) {
	p, err := repourl.NewPolicy("github.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"https://github.com/acme/%2e%2e/platform/secrets", "https://github.com/acme/%2e%2e", "https://github.com/acme/%2E./x"} {
		if _, err := p.Parse(raw); err == nil {
			t.Errorf("Parse(%q) accepted an escaped ..", raw)
		}
	}
}

// Git credentials go only to the repositories they are for; any other is
// refused, never fetched anonymously, and the refusal names the config, the
// field and the repository, and never the credentials.
func TestGitFor(t *testing.T) {
	const password = "s3cret-TOKEN"
	auth := gitrepo.Auth{Username: "bot", Password: password}
	cases := map[string]struct {
		git      Git
		repo     string
		wantAuth gitrepo.Auth
		// wantErr are what the error says; nil: no error.
		wantErr []string
	}{
		"NoGitCredentials": {
			git:  Git{},
			repo: "https://attacker.example/x",
		},
		"ProviderConfigWithoutPrefixes": {
			git:      Git{auth: auth, config: "ProviderConfig team-a/default"},
			repo:     "https://git.example.com/team-a/app",
			wantAuth: auth,
		},
		"ClusterProviderConfigWithoutPrefixes": {
			git:     Git{auth: auth, scoped: true, config: "ClusterProviderConfig platform"},
			repo:    "https://github.com/acme/app",
			wantErr: []string{"ClusterProviderConfig platform's git credentials are for no repository", "spec.git.repositories is empty", "https://github.com/acme/app", "ProviderConfig with git credentials of its own"},
		},
		"Covered": {
			git:      Git{auth: auth, scoped: true, config: "ClusterProviderConfig platform", prefixes: []v1alpha1.RepositoryPrefix{"https://gitlab.example.com/infra/", "https://github.com/acme/"}},
			repo:     "https://github.com/acme/app",
			wantAuth: auth,
		},
		"NotCovered": {
			git:     Git{auth: auth, scoped: true, config: "ClusterProviderConfig platform", prefixes: []v1alpha1.RepositoryPrefix{"https://github.com/acme/"}},
			repo:    "https://attacker.example/acme/app",
			wantErr: []string{"ClusterProviderConfig platform's git credentials are not for spec.forProvider.repo.url https://attacker.example/acme/app", "spec.git.repositories"},
		},
		"ProviderConfigWithPrefixesNotCovered": {
			git:     Git{auth: auth, scoped: true, config: "ProviderConfig team-a/default", prefixes: []v1alpha1.RepositoryPrefix{"git@github.com:team-a/"}},
			repo:    "https://github.com/team-a/app",
			wantErr: []string{"ProviderConfig team-a/default's git credentials are not for", "spec.git.repositories"},
		},
		"PlainHTTPPrefixTheOperatorDoesNotAllow": {
			git:      Git{auth: auth, scoped: true, config: "ClusterProviderConfig platform", prefixes: []v1alpha1.RepositoryPrefix{"http://git.internal.example/acme/", "https://github.com/acme/"}},
			repo:     "https://github.com/acme/app",
			wantAuth: auth,
		},
		"BadPrefix": {
			git:     Git{auth: auth, scoped: true, config: "ClusterProviderConfig platform", prefixes: []v1alpha1.RepositoryPrefix{"https://github.com/acme/", "https://github.com/acme/../platform"}},
			repo:    "https://github.com/platform/app",
			wantErr: []string{"ClusterProviderConfig platform: spec.git.repositories[1]", `".." segment`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.git.For(mustParse(t, tc.repo), repourl.Policy{})
			if diff := cmp.Diff(tc.wantAuth, got); diff != "" {
				t.Errorf("For(...): -want, +got auth:\n%s", diff)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("For(...): %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("For(...): no error, want one saying %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("For(...): %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("For(...): %q quotes the password", err)
			}
		})
	}
}
