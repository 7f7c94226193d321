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

// uniques collects normalized, non-empty values once each, in the order
// first seen. A set finds duplicates, so collecting n values costs n
// lookups, not n²/2 comparisons.
type uniques struct {
	list []string
	seen map[string]struct{}
	// steps counts the lookups, so that a test proves collecting is linear.
	steps int
}

// add adds the values not yet present.
func (u *uniques) add(vs ...string) {
	for _, v := range vs {
		if v == "" {
			continue
		}
		u.steps++
		if _, dup := u.seen[v]; dup {
			continue
		}
		if u.seen == nil {
			u.seen = map[string]struct{}{}
		}
		u.seen[v] = struct{}{}
		u.list = append(u.list, v)
	}
}

// over reports whether more than MaxEventRepositories values are collected.
func (u *uniques) over() bool { return len(u.list) > MaxEventRepositories }

// unique returns the normalized, non-empty values, once each.
func unique(vs ...string) []string {
	var u uniques
	u.add(vs...)
	return u.list
}
