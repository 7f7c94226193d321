package fn

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

func TestCheckRepoURL(t *testing.T) {
	cases := map[string]struct {
		reason string
		url    string
		want   string
	}{
		"HTTPS":             {reason: "https is the common case.", url: "https://github.com/acme/app.git"},
		"HTTPSPort":         {reason: "A port is allowed.", url: "https://git.example.com:8443/acme/app"},
		"SSH":               {reason: "ssh with a user is allowed.", url: "ssh://git@github.com/acme/app.git"},
		"SSHPort":           {reason: "ssh with a port is allowed.", url: "ssh://git@git.example.com:2222/acme/app"},
		"SCP":               {reason: "git's scp-like form is allowed.", url: "git@github.com:acme/app.git"},
		"Loopback":          {reason: "Plain http passes the schema: the demo's provider lists 127.0.0.1 with --insecure-git-host.", url: "http://127.0.0.1:38211/guestbook-config.git"},
		"Localhost":         {reason: "localhost passes the schema like any host.", url: "http://localhost:8080/app"},
		"IPv6Loopback":      {reason: "[::1] passes the schema like any host.", url: "http://[::1]:8080/app"},
		"HTTP":              {reason: "Plain http to another host passes the schema: only the provider knows the hosts its operator allows.", url: "http://example.com/acme/app"},
		"HTTPNoHost":        {reason: "A plain http URL names a host.", url: "http:///acme/app", want: msgURLScheme},
		"HTTPUserLoopback":  {reason: "User info before a loopback host is credentials, and no loopback.", url: "http://localhost@example.com/app", want: msgURLCredentials},
		"File":              {reason: "file:// reads the provider's own disk.", url: "file:///var/lib/k8sta/repo", want: msgURLScheme},
		"LocalPath":         {reason: "A local path reads the provider's own disk.", url: "/var/lib/k8sta/repo", want: msgURLScheme},
		"RelativePath":      {reason: "A relative path too.", url: "../other-team", want: msgURLScheme},
		"Git":               {reason: "git:// is unauthenticated and unencrypted.", url: "git://github.com/acme/app", want: msgURLScheme},
		"Ext":               {reason: "git's ext:: transport runs a command.", url: "ext::sh -c touch% /tmp/pwned", want: msgURLScheme},
		"UpperCaseScheme":   {reason: "Schemes are written in lower case.", url: "HTTPS://github.com/acme/app", want: msgURLScheme},
		"HostOnlySCP":       {reason: "scp-like needs a user, or it reads like a local path.", url: "github.com:acme/app", want: msgURLScheme},
		"Password":          {reason: "A password in the URL is refused.", url: "https://user:s3cret@github.com/acme/app", want: msgURLCredentials},
		"Token":             {reason: "A token as user is refused.", url: "https://ghp_abcdef@github.com/acme/app", want: msgURLCredentials},
		"SSHPassword":       {reason: "A password in an ssh URL is refused.", url: "ssh://git:s3cret@github.com/acme/app", want: msgURLCredentials},
		"LoopbackPassword":  {reason: "Credentials are refused on loopback too.", url: "http://u:p@127.0.0.1:8080/app", want: msgURLCredentials},
		"Whitespace":        {reason: "A URL has no whitespace.", url: "https://github.com/acme/app x", want: msgURLScheme},
		"TooLong":           {reason: "A URL is at most 2048 characters.", url: "https://github.com/" + strings.Repeat("a", 2048), want: "is longer than 2048 characters"},
		"EmptyHost":         {reason: "An https URL names a host.", url: "https:///acme/app", want: msgURLScheme},
		"SCPWithoutPath":    {reason: "scp-like names a path.", url: "git@github.com:", want: msgURLScheme},
		"SSHWithoutUser":    {reason: "ssh without a user is allowed.", url: "ssh://github.com/acme/app"},
		"HTTPSIPv6":         {reason: "An IPv6 host is written in brackets.", url: "https://[2001:db8::1]/acme/app"},
		"LoopbackNoPath":    {reason: "A loopback URL may have no path.", url: "http://127.0.0.1:8080"},
		"LoopbackOtherPort": {reason: "Any port passes the schema.", url: "http://127.0.0.1/app"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, checkRepoURL(tc.url)); diff != "" {
				t.Errorf("%s\ncheckRepoURL(%q): -want, +got:\n%s", tc.reason, tc.url, diff)
			}
		})
	}
}

func TestCheckBranch(t *testing.T) {
	cases := map[string]struct {
		branch string
		want   string
	}{
		"Default":     {branch: "env/dev"},
		"Simple":      {branch: "main"},
		"Nested":      {branch: "rendered/eu/prod-1.2_x"},
		"DotDot":      {branch: "env/../main", want: msgBranch},
		"LeadingDash": {branch: "-f", want: msgBranch},
		"LeadingDot":  {branch: "env/.hidden", want: msgBranch},
		"Lock":        {branch: "env/prod.lock", want: msgBranch},
		"LockPart":    {branch: "env.lock/prod", want: msgBranch},
		"TrailingDot": {branch: "env/prod.", want: msgBranch},
		"Slashes":     {branch: "env//prod", want: msgBranch},
		"Trailing":    {branch: "env/", want: msgBranch},
		"Space":       {branch: "env prod", want: msgBranch},
		"Reflog":      {branch: "main@{1}", want: msgBranch},
		"Colon":       {branch: "a:b", want: msgBranch},
		"HEAD":        {branch: "HEAD", want: msgBranch},
		"TooLong":     {branch: strings.Repeat("a", 256), want: "is longer than 255 characters"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, checkBranch(tc.branch)); diff != "" {
				t.Errorf("checkBranch(%q): -want, +got:\n%s", tc.branch, diff)
			}
		})
	}
}

func TestCheckGitPath(t *testing.T) {
	cases := map[string]struct {
		reason string
		path   string
		want   string
	}{
		"Directory":       {reason: "A directory with its trailing /.", path: "apps/guestbook/"},
		"NoTrailingSlash": {reason: "The trailing / is optional.", path: "apps/guestbook"},
		"File":            {reason: "A path may name a file.", path: "kustomization.yaml"},
		"DotDirectory":    {reason: "A segment that starts with a dot is a name like any other.", path: ".github/workflows/"},
		"DotsInName":      {reason: "So is one that holds dots.", path: "apps/..guest../x.y"},
		"Spaces":          {reason: "git paths may hold spaces.", path: "apps/my app/"},
		"Empty":           {reason: "An empty path names nothing.", path: "", want: "is empty: name a directory or file relative to the repository root, e.g. apps/guestbook/"},
		"Absolute":        {reason: "A path is relative to the repository root.", path: "/apps/guestbook", want: msgPathAbsolute},
		"Root":            {reason: "/ alone is absolute too.", path: "/", want: msgPathAbsolute},
		"DotDot":          {reason: "No .. segment.", path: "apps/../base", want: msgPathDotSegment},
		"DotDotLast":      {reason: "Nor a trailing one.", path: "apps/..", want: msgPathDotSegment},
		"Dot":             {reason: "Nor a . segment: one spelling per path.", path: "./base", want: msgPathDotSegment},
		"DotAlone":        {reason: "Unset paths mean every path; . does not.", path: ".", want: msgPathDotSegment},
		"EmptySegment":    {reason: "No empty segment.", path: "apps//guestbook", want: msgPathEmptySegment},
		"DoubleTrailing":  {reason: "One trailing / only.", path: "apps/guestbook//", want: msgPathEmptySegment},
		"Newline":         {reason: "No control character: a newline would forge lines wherever the path is shown.", path: "apps/a\nb", want: msgPathControl},
		"NUL":             {reason: "No NUL.", path: "apps/a\x00", want: msgPathControl},
		"Tab":             {reason: "No tab.", path: "apps/\ta", want: msgPathControl},
		"Delete":          {reason: "No DEL.", path: "apps/\x7f", want: msgPathControl},
		"AtTheLimit":      {reason: "1024 characters are allowed.", path: strings.Repeat("a", 1024)},
		"TooLong":         {reason: "1025 are not.", path: strings.Repeat("a", 1025), want: "is longer than 1024 characters"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, checkGitPath(tc.path)); diff != "" {
				t.Errorf("%s\ncheckGitPath(%q): -want, +got:\n%s", tc.reason, tc.path, diff)
			}
		})
	}
}

// TestXRDPatterns keeps the function's checks and the XRD's rules one set:
// every regular expression and message the function checks is in both XRDs.
func TestXRDPatterns(t *testing.T) {
	for _, path := range []string{"../package/configuration/xrd.yaml", "../examples/legacy/xrd.yaml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		xrd := string(b)
		for _, s := range []string{remoteURL.String(), plainHTTPURL.String(), urlCredentials.String(), branchName.String(), badBranch.String(), v1alpha1.ChangeIDPattern,
			dotSegment.String(), control.String(), "!self.contains('//')", "maxLength: 1024", "maxItems: 32",
			msgURLScheme, msgURLCredentials, msgBranch, msgPathAbsolute, msgPathDotSegment, msgPathEmptySegment, msgPathControl} {
			if !strings.Contains(xrd, s) {
				t.Errorf("%s does not contain %q, which the function checks", path, s)
			}
		}
	}
}
