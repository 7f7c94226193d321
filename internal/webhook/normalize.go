package webhook

import (
	"regexp"
	"strings"
)

// dockerHubHosts are the names of Docker Hub.
var dockerHubHosts = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true, "hub.docker.com": true,
}

// NormalizeImageRepository returns the canonical form of an image
// repository, so that a Subscription's repository and a webhook's compare
// equal: lower case, no scheme, tag or digest, Docker Hub as docker.io with
// library/ for official images. "nginx" → "docker.io/library/nginx",
// "GHCR.io/Acme/App:v1" → "ghcr.io/acme/app". It returns "" for what is
// not an image repository.
func NormalizeImageRepository(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, "/")
	// A tag follows the last ':' after the last '/'.
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') && (strings.Contains(s, "/") || i > 0) {
		s = s[:i]
	}
	host, rest, ok := strings.Cut(s, "/")
	if !ok || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		host, rest = "docker.io", s // no host: Docker Hub
	}
	if dockerHubHosts[host] {
		host = "docker.io"
		if !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
	}
	if !hostRE.MatchString(host) {
		return ""
	}
	for _, c := range strings.Split(rest, "/") {
		if !componentRE.MatchString(c) {
			return ""
		}
	}
	return host + "/" + rest
}

var (
	hostRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
)

// NormalizeGitURL returns the canonical form of a git repository URL, so
// that a Track's repo URL and a webhook's compare equal: lower-case
// host/path with no scheme, user, port, ".git" or trailing slash.
// "https://github.com/Acme/App.git", "git@github.com:acme/app.git" and
// "ssh://git@github.com:22/acme/app" all give "github.com/acme/app".
func NormalizeGitURL(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	slash := strings.IndexByte(s, '/')
	scp := false
	if i := strings.Index(s, "://"); i >= 0 && (slash < 0 || i < slash) {
		s = s[i+3:]
	} else if c := colonOutsideBrackets(s); c >= 0 && (slash < 0 || c < slash) {
		scp = true // user@host:path
	}
	var host, path string
	if scp {
		c := colonOutsideBrackets(s)
		host, path = s[:c], s[c+1:]
	} else {
		host, path, _ = strings.Cut(s, "/")
	}
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			host = host[:i+1]
		}
	} else {
		host, _, _ = strings.Cut(host, ":") // drop a port
	}
	host = strings.TrimSpace(host)
	// Trim slashes, spaces and ".git" until none is left, so that a
	// normalized URL normalizes to itself.
	for {
		trimmed := strings.TrimSuffix(strings.Trim(strings.TrimSpace(path), "/"), ".git")
		if trimmed == path {
			break
		}
		path = trimmed
	}
	if path == "" {
		return host
	}
	return host + "/" + path
}

// colonOutsideBrackets is the index of the first ':' that is not inside an
// IPv6 literal ([::1]), or -1.
func colonOutsideBrackets(s string) int {
	depth := 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ':':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// appendUnique appends normalized, non-empty values not yet present.
func appendUnique(list []string, vs ...string) []string {
	for _, v := range vs {
		if v == "" {
			continue
		}
		dup := false
		for _, x := range list {
			if x == v {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}
