package repourl

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type parsed struct {
	String, Key, MatchKey, Scheme, Host, User string
}

func view(u URL) parsed {
	return parsed{String: u.String(), Key: u.Key(), MatchKey: u.MatchKey(), Scheme: u.Scheme(), Host: u.Host(), User: u.User()}
}

func TestParseAccepts(t *testing.T) {
	cases := map[string]struct {
		raw  string
		want parsed
	}{
		"HTTPS": {"https://github.com/acme/config", parsed{
			"https://github.com/acme/config", "https://github.com/acme/config", "github.com/acme/config", "https", "github.com", ""}},
		"HTTPSDotGit": {"https://github.com/acme/config.git", parsed{
			"https://github.com/acme/config.git", "https://github.com/acme/config", "github.com/acme/config", "https", "github.com", ""}},
		"UpperHostAndScheme": {"HTTPS://GitHub.COM/Acme/Config.git/", parsed{
			"https://github.com/Acme/Config.git", "https://github.com/Acme/Config", "github.com/acme/config", "https", "github.com", ""}},
		"DefaultPort": {"https://github.com:443/acme/config", parsed{
			"https://github.com/acme/config", "https://github.com/acme/config", "github.com/acme/config", "https", "github.com", ""}},
		"OtherPort": {"https://git.example.com:8443/acme/config", parsed{
			"https://git.example.com:8443/acme/config", "https://git.example.com:8443/acme/config", "git.example.com:8443/acme/config", "https", "git.example.com:8443", ""}},
		"LeadingZeroPort": {"https://git.example.com:0443/a", parsed{
			"https://git.example.com/a", "https://git.example.com/a", "git.example.com/a", "https", "git.example.com", ""}},
		"Spaces": {"  https://github.com/acme/config \n", parsed{
			"https://github.com/acme/config", "https://github.com/acme/config", "github.com/acme/config", "https", "github.com", ""}},
		"SSH": {"ssh://git@github.com/acme/config.git", parsed{
			"ssh://git@github.com/acme/config.git", "ssh://github.com/acme/config", "github.com/acme/config", "ssh", "github.com", "git"}},
		"SSHDefaultPort": {"ssh://git@GitHub.com:22/acme/config", parsed{
			"ssh://git@github.com/acme/config", "ssh://github.com/acme/config", "github.com/acme/config", "ssh", "github.com", "git"}},
		"SSHPort": {"ssh://git@git.example.com:2222/acme/config", parsed{
			"ssh://git@git.example.com:2222/acme/config", "ssh://git.example.com:2222/acme/config", "git.example.com:2222/acme/config", "ssh", "git.example.com:2222", "git"}},
		"SCP": {"git@GitHub.com:acme/config.git", parsed{
			"git@github.com:acme/config.git", "ssh://github.com/acme/config", "github.com/acme/config", "ssh", "github.com", "git"}},
		"SCPNoUser": {"github.com:acme/config", parsed{
			"github.com:acme/config", "ssh://github.com/acme/config", "github.com/acme/config", "ssh", "github.com", ""}},
		"SCPIPv6": {"git@[::1]:acme/config", parsed{
			"git@[::1]:acme/config", "ssh://[::1]/acme/config", "[::1]/acme/config", "ssh", "[::1]", "git"}},
		"HTTPLoopback": {"http://127.0.0.1:8080/config.git", parsed{
			"http://127.0.0.1:8080/config.git", "http://127.0.0.1:8080/config", "127.0.0.1:8080/config", "http", "127.0.0.1:8080", ""}},
		"HTTPLocalhost": {"http://LocalHost/config", parsed{
			"http://localhost/config", "http://localhost/config", "localhost/config", "http", "localhost", ""}},
		"HTTPIPv6Loopback": {"http://[::1]:3000/config", parsed{
			"http://[::1]:3000/config", "http://[::1]:3000/config", "[::1]:3000/config", "http", "[::1]:3000", ""}},
		"PercentEscapes": {"https://github.com/%61cme/a%2fb%7E%41pp", parsed{
			"https://github.com/acme/a%2Fb~App", "https://github.com/acme/a%2Fb~App", "github.com/acme/a%2fb~app", "https", "github.com", ""}},
		"EscapedDotGit": {"https://github.com/acme/app%2Egit", parsed{
			"https://github.com/acme/app.git", "https://github.com/acme/app", "github.com/acme/app", "https", "github.com", ""}},
		"SCPPercentIsLiteral": {"git@github.com:%61cme/app", parsed{
			"git@github.com:%61cme/app", "ssh://github.com/%2561cme/app", "github.com/%2561cme/app", "ssh", "github.com", "git"}},
		"MatchKeyLowerCaseFirst": {"https://github.com/Acme/App.GIT", parsed{
			"https://github.com/Acme/App.GIT", "https://github.com/Acme/App.GIT", "github.com/acme/app", "https", "github.com", ""}},
	}
	// Plain http only to the hosts the operator lists; loopback is no exception.
	p, err := NewPolicy("127.0.0.1:8080", "localhost", "[::1]")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := p.Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.raw, err)
			}
			if diff := cmp.Diff(tc.want, view(u)); diff != "" {
				t.Errorf("Parse(%q): -want +got:\n%s", tc.raw, diff)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	cases := map[string]struct {
		raw     string
		kind    error
		mention string // the message names the fix
	}{
		"Empty":            {"", ErrInvalid, "set it to an https:// or ssh URL"},
		"AbsolutePath":     {"/srv/git/config.git", ErrLocal, "own file system"},
		"RelativePath":     {"./config", ErrLocal, "own file system"},
		"ParentPath":       {"../config", ErrLocal, "own file system"},
		"HomePath":         {"~/config", ErrLocal, "own file system"},
		"BarePath":         {"srv/git/config", ErrLocal, "own file system"},
		"WindowsPath":      {"C:/git/config", ErrLocal, "own file system"},
		"WindowsBackslash": {`C:\git\config`, ErrInvalid, "backslash"},
		"FileURL":          {"file:///srv/git/config.git", ErrLocal, "own file system"},
		"FileURLHost":      {"FILE://localhost/srv/git/config.git", ErrLocal, "own file system"},
		"GitProtocol":      {"git://github.com/acme/config.git", ErrScheme, "use https:// or ssh://"},
		"FTP":              {"ftp://example.com/config.git", ErrScheme, "use https:// or ssh://"},
		"GitSSH":           {"git+ssh://git@example.com/config.git", ErrScheme, "use https:// or ssh://"},
		"RemoteHelper":     {"ext::sh -c touch% /tmp/pwned", ErrInvalid, "space"},
		"RemoteHelperNoSp": {"ext::sh", ErrScheme, "remote-helper"},
		"HTTP":             {"http://git.example.com/acme/config", ErrInsecure, "--insecure-git-host"},
		"HTTPPrivateIP":    {"http://10.0.0.1/acme/config", ErrInsecure, "--insecure-git-host"},
		"HTTPLoopback":     {"http://127.0.0.1:8080/config.git", ErrInsecure, "--insecure-git-host"},
		"HTTPLocalhost":    {"http://localhost/config", ErrInsecure, "--insecure-git-host"},
		"HTTPIPv6Loopback": {"http://[::1]:3000/config", ErrInsecure, "--insecure-git-host"},
		"EscapedDotDot":    {"https://github.com/acme/%2e%2E/other", ErrInvalid, `".."`},
		"EscapeInHost":     {"https://git%68ub.com/acme/config", ErrInvalid, "not a DNS name"},
		"UserPassword":     {"https://alice:s3cret@github.com/acme/config", ErrCredentials, "spec.git.secretRef"},
		"Token":            {"https://ghp_T0kenT0ken@github.com/acme/config", ErrCredentials, "spec.git.secretRef"},
		"TokenLoopback":    {"http://x-access-token:s3cret@127.0.0.1/config", ErrCredentials, "spec.git.secretRef"},
		"SSHPassword":      {"ssh://git:hunter2@github.com/acme/config", ErrCredentials, "spec.git.secretRef"},
		"SCPPassword":      {"git:hunter2@github.com:acme/config", ErrCredentials, "spec.git.secretRef"},
		"NoPath":           {"https://github.com", ErrInvalid, "names no repository"},
		"OnlyDotGit":       {"https://github.com/.git", ErrInvalid, "names no repository"},
		"DotDot":           {"https://github.com/acme/../other", ErrInvalid, `".."`},
		"Query":            {"https://github.com/acme/config?ref=x", ErrInvalid, "no query"},
		"Fragment":         {"https://github.com/acme/config#main", ErrInvalid, "no query"},
		"BadPort":          {"https://github.com:99999/acme/config", ErrInvalid, "1 to 65535"},
		"BadHost":          {"https://git_hub!/acme/config", ErrInvalid, "not a DNS name"},
		"NoHost":           {"https:///acme/config", ErrInvalid, "not a DNS name"},
		"SchemeNoSlashes":  {"https:/acme/config", ErrInvalid, "https://host/path"},
		"AmbiguousPort":    {"example.com:2222/acme/config", ErrInvalid, "ambiguous"},
		"ControlChar":      {"https://github.com/acme/con\x00fig", ErrInvalid, "control character"},
		"TooLong":          {"https://github.com/" + strings.Repeat("a", MaxLength), ErrInvalid, "longer than"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := Parse(tc.raw)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("Parse(%q): want error %v, got %v (URL %q)", tc.raw, tc.kind, err, u)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%q): error is not a *Error: %T", tc.raw, err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Parse(%q): error %q does not mention %q", tc.raw, err, tc.mention)
			}
			for _, secret := range []string{"s3cret", "ghp_T0kenT0ken", "hunter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Parse(%q): error %q holds the credential %q", tc.raw, err, secret)
				}
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	p, err := NewPolicy("git.example.com", "Gitea.Local:3000")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		raw  string
		want error
	}{
		"AllowedAnyPort":    {"http://git.example.com:8080/acme/config", nil},
		"AllowedHost":       {"http://git.example.com/acme/config", nil},
		"AllowedHostPort":   {"http://gitea.local:3000/acme/config", nil},
		"OtherPort":         {"http://gitea.local:3001/acme/config", ErrInsecure},
		"DefaultPortOfPair": {"http://gitea.local/acme/config", ErrInsecure},
		"OtherHost":         {"http://evil.example.com/acme/config", ErrInsecure},
		"Subdomain":         {"http://x.git.example.com/acme/config", ErrInsecure},
		"Loopback":          {"http://127.0.0.1/acme/config", ErrInsecure},
		"Localhost":         {"http://localhost/acme/config", ErrInsecure},
		"HTTPS":             {"https://evil.example.com/acme/config", nil},
		"StillNoGit":        {"git://git.example.com/acme/config", ErrScheme},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := p.Parse(tc.raw)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Parse(%q): want %v, got %v", tc.raw, tc.want, err)
			}
		})
	}
	// Check refuses a URL that another policy accepted: fetch-time checks
	// hold even when a URL was parsed elsewhere.
	u, err := p.Parse("http://git.example.com/acme/config")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Policy{}).Check(u); !errors.Is(err, ErrInsecure) {
		t.Errorf("Policy{}.Check(%s): want %v, got %v", u, ErrInsecure, err)
	}
	for _, bad := range []string{"", "host:port", "a b", "[::1", "http://x"} {
		if _, err := NewPolicy(bad); err == nil {
			t.Errorf("NewPolicy(%q): want an error", bad)
		}
	}
}

// TestOneRepository is the one vocabulary: spellings of one repository share
// a Key (one clone) and a MatchKey; spellings that may be two repositories on
// some server do not share a Key.
func TestOneRepository(t *testing.T) {
	type same struct{ Key, Match bool }
	cases := map[string]struct {
		a, b string
		want same
	}{
		"HostCase":          {"https://GitHub.com/acme/app", "https://github.com/acme/app", same{true, true}},
		"DefaultPort":       {"https://github.com:443/acme/app", "https://github.com/acme/app", same{true, true}},
		"DotGitSlash":       {"https://github.com/acme/app.git/", "https://github.com/acme/app", same{true, true}},
		"SCPAndSSH":         {"git@github.com:acme/app.git", "ssh://git@github.com:22/acme/app", same{true, true}},
		"SSHLogin":          {"ssh://alice@github.com/acme/app", "ssh://git@github.com/acme/app", same{true, true}},
		"PathCase":          {"https://github.com/Acme/App", "https://github.com/acme/app", same{false, true}},
		"HTTPSAndSSH":       {"https://github.com/acme/app", "git@github.com:acme/app", same{false, true}},
		"HTTPAndHTTPS":      {"http://git.example.com/acme/app", "https://git.example.com/acme/app", same{false, true}},
		"OtherPort":         {"https://github.com:8443/acme/app", "https://github.com/acme/app", same{false, false}},
		"OtherRepo":         {"https://github.com/acme/app", "https://github.com/acme/app2", same{false, false}},
		"OtherHost":         {"https://github.com/acme/app", "https://gitlab.com/acme/app", same{false, false}},
		"SubPathIsNotSame":  {"https://github.com/acme/app", "https://github.com/acme/app/sub", same{false, false}},
		"PrefixIsNotSame":   {"https://github.com/acme/app", "https://github.com/acme/ap", same{false, false}},
		"PercentEscapes":    {"https://github.com/%61cme/a%70p", "https://github.com/acme/app", same{true, true}},
		"EscapedHexCase":    {"https://github.com/acme/a%2fb", "https://github.com/acme/a%2Fb", same{true, true}},
		"EscapedSlash":      {"https://github.com/acme/a%2Fb", "https://github.com/acme/a/b", same{false, false}},
		"SCPPercent":        {"git@github.com:%61cme/app", "ssh://git@github.com/acme/app", same{false, false}},
		"SCPPercentEscaped": {"git@github.com:%61cme/app", "ssh://git@github.com/%2561cme/app", same{true, true}},
		"UpperDotGit":       {"https://github.com/acme/APP.GIT", "https://github.com/acme/app", same{false, true}},
	}
	p, err := NewPolicy("git.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a, err := p.Parse(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Parse(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			got := same{Key: a.Key() == b.Key(), Match: Same(tc.a, tc.b)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%q and %q: -want +got:\n%s", tc.a, tc.b, diff)
			}
		})
	}
}

// TestMatchKey covers the spellings webhook payloads and Argo CD
// Applications use, which Parse may refuse.
func TestMatchKey(t *testing.T) {
	cases := map[string]string{
		"https://github.com/Acme/App.git":               "github.com/acme/app",
		"git@github.com:acme/app.git":                   "github.com/acme/app",
		"ssh://git@github.com:22/acme/app":              "github.com/acme/app",
		"https://user:pw@gitlab.example.com/g/sub/app/": "gitlab.example.com/g/sub/app",
		"github.com/acme/app":                           "github.com/acme/app",
		"http://gitea.local:3000/a/b.git?x=1":           "gitea.local:3000/a/b",
		"gitea.local:3000/a/b":                          "gitea.local:3000/a/b",
		"git://github.com/acme/app.git":                 "github.com/acme/app",
		"https://github.com/acme/app#main":              "github.com/acme/app",
		"/srv/git/app":                                  "",
		"file:///srv/git/app":                           "",
		"":                                              "",
		"nonsense":                                      "",
		"https://github.com":                            "",
		"https://github.com/Acme/App.GIT":               "github.com/acme/app",
		"https://github.com/%61cme/app":                 "github.com/acme/app",
		"github.com:%61cme/app":                         "github.com/%2561cme/app",
	}
	for in, want := range cases {
		if diff := cmp.Diff(want, MatchKey(in)); diff != "" {
			t.Errorf("MatchKey(%q): -want +got:\n%s", in, diff)
		}
	}
}

// FuzzParse: Parse never panics; an accepted URL's Key is a fixed point,
// its String parses back to the same Key and MatchKey, and no credential
// survives in String, Key, MatchKey or an error; MatchKey is idempotent.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://github.com/acme/app.git", "https://u:p@h/a.git/", "git@github.com:acme/app", "ssh://git:pw@h:22/a",
		"http://127.0.0.1:8080/x", "file:///x", "/x", "git://h/x", "[::1]:x", "git@[::1]:x", "h:22/x", "https://h:0443/A/..",
		"https://h/a%2", ":", "@", "//", "a:b@c:d", "https://h/%61%2f%2E%2e/x.GIT", "h:%61/x", "http://h/%7E",
		// A credential that is also the host, a path or a normalised port:
		// the URL without it says the same, so saying it leaks nothing.
		"A://:0000@0000", "https://u:acme@h/ACME", "https://u:h:8443@h:08443/x",
	} {
		f.Add(s)
	}
	// Plain http to a few hosts, so that it is parsed too.
	p, err := NewPolicy("127.0.0.1:8080", "h")
	if err != nil {
		f.Fatal(err)
	}
	Parse := p.Parse
	f.Fuzz(func(t *testing.T, raw string) {
		if k := MatchKey(raw); MatchKey(k) != k {
			t.Fatalf("MatchKey(%q) = %q, and again %q", raw, k, MatchKey(k))
		}
		u, err := Parse(raw)
		secrets := leakable(Parse, raw)
		if err != nil {
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("Parse(%q): error %q holds credential %q", raw, err, s)
				}
			}
			return
		}
		if k := MatchKey(raw); k != u.MatchKey() {
			t.Fatalf("MatchKey(%q) = %q, but Parse(...).MatchKey() = %q", raw, k, u.MatchKey())
		}
		again, err := Parse(u.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", raw, u.String(), err)
		}
		if again.Key() != u.Key() || again.MatchKey() != u.MatchKey() || again.String() != u.String() {
			t.Fatalf("Parse(%q) = %+v, and again %+v", raw, view(u), view(again))
		}
		k, err := Parse(u.Key())
		if err != nil || k.Key() != u.Key() {
			t.Fatalf("Key %q of %q is not a fixed point: %q, %v", u.Key(), raw, k.Key(), err)
		}
		for _, s := range secrets {
			for _, out := range []string{u.String(), u.Key(), u.MatchKey()} {
				if strings.Contains(out, s) {
					t.Fatalf("Parse(%q): %q holds credential %q", raw, out, s)
				}
			}
		}
	})
}

func TestLeakable(t *testing.T) {
	p, err := NewPolicy("h")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"https://user:secret@h/acme/app": {"secret", "user"},
		"ssh://git:secret@h/acme/app":    {"secret"},
		"https://u:p@h/acme/app":         nil,       // shorter than 4 bytes: too common to judge
		"A://:0000@0000":                 nil,       // the host
		"https://u:acme@h/ACME":          nil,       // the path, lower-cased
		"https://u:h:8443@h:08443/x":     nil,       // the host and its normalised port
		"https://u:h:443@h:0443/x":       {"h:443"}, // the default port is dropped
		"https://u:%61cme@h/%61cme":      nil,       // the path as written
		"https://h/acme/app":             nil,
		"git@h:acme/app":                 nil,
	}
	for raw, want := range cases {
		if diff := cmp.Diff(want, leakable(p.Parse, raw), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("leakable(%q): -want +got:\n%s", raw, diff)
		}
	}
}

// leakable are the credentials of raw (the password of any userinfo, and
// the user of an http(s) URL) that Parse must never give back. A credential
// that the same URL without its userinfo gives back anyway (it is also the
// host, or a path the URL's normal form spells the same) proves nothing,
// and is left out.
func leakable(parse func(string) (URL, error), raw string) []string {
	secrets, bare := credentials(raw)
	if len(secrets) == 0 {
		return nil
	}
	said := []string{bare, MatchKey(bare)}
	if u, err := parse(bare); err != nil {
		said = append(said, err.Error())
	} else {
		said = append(said, u.String(), u.Key(), u.MatchKey())
	}
	anyway := strings.ToLower(strings.Join(said, "\n"))
	var out []string
	for _, s := range secrets {
		if !strings.Contains(anyway, strings.ToLower(s)) {
			out = append(out, s)
		}
	}
	return out
}

// credentials splits raw into its credentials and raw without its userinfo.
func credentials(raw string) (secrets []string, bare string) {
	raw = strings.TrimSpace(raw)
	i := strings.Index(raw, "://")
	if i <= 0 || !validScheme(raw[:i]) {
		return nil, raw
	}
	scheme := strings.ToLower(raw[:i])
	authority := raw[i+3:]
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return nil, raw
	}
	bare = raw[:i+3] + raw[i+3+at+1:]
	user, pass, ok := strings.Cut(authority[:at], ":")
	if ok && len(pass) >= 4 {
		secrets = append(secrets, pass)
	}
	if (scheme == "http" || scheme == "https") && len(user) >= 4 {
		secrets = append(secrets, user)
	}
	return secrets, bare
}
