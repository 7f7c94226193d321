package credentials

import (
	"net/url"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/gitrepo"
	"github.com/k8sta/k8sta/internal/repourl"
)

// Git is what a provider config's spec.git resolves to: the credentials and
// the repositories they are for. The zero Git is anonymous access.
type Git struct {
	auth gitrepo.Auth
	// prefixes are spec.git.repositories.
	prefixes []v1alpha1.RepositoryPrefix
	// scoped: the credentials are only for repositories a prefix covers. A
	// ClusterProviderConfig's always are; a ProviderConfig's when it lists
	// prefixes.
	scoped bool
	// config names the provider config, for messages.
	config string
}

// For returns the credentials to fetch and push repository u with, or an
// error that names spec.git.repositories when they are not for u. It never
// falls back to anonymous access: a tenant's repository URL must not decide
// whether the platform's credentials go to a host, and an anonymous fetch
// that half works (fetches, then cannot push) is harder to understand than a
// refusal. p is the policy u was parsed with.
func (g Git) For(u repourl.URL, p repourl.Policy) (gitrepo.Auth, error) {
	if !g.scoped {
		return g.auth, nil
	}
	fix := "add the repository's URL, or a prefix of it such as its owner's (e.g. https://github.com/acme/), to " + g.config + "'s spec.git.repositories, or give this namespace a ProviderConfig with git credentials of its own"
	if len(g.prefixes) == 0 {
		return gitrepo.Auth{}, errors.Errorf("%s's git credentials are for no repository: its spec.git.repositories is empty, and a ClusterProviderConfig's credentials are only for the repositories it lists; spec.forProvider.repo.url is %s: %s", g.config, u, fix)
	}
	for i, raw := range g.prefixes {
		prefix, err := p.Parse(string(raw))
		if errors.Is(err, repourl.ErrInsecure) {
			// Plain http to a host the operator does not allow: no repository
			// the provider may fetch is under it.
			continue
		}
		if err != nil {
			return gitrepo.Auth{}, errors.Wrapf(err, "%s: spec.git.repositories[%d]", g.config, i)
		}
		if Covers(prefix, u) {
			return g.auth, nil
		}
	}
	return gitrepo.Auth{}, errors.Errorf("%s's git credentials are not for spec.forProvider.repo.url %s: no prefix in its spec.git.repositories covers it: %s", g.config, u, fix)
}

// Covers reports whether repository u is prefix or under it: the same
// scheme (scp-like is ssh), host and port, and prefix's path segments lead
// u's, compared as written (case-sensitively) after unescaping. A path with
// a segment a server could read as another path (empty, "." or "..", or
// holding an escaped "/" or "\") is covered by nothing.
func Covers(prefix, u repourl.URL) bool {
	if prefix.IsZero() || u.IsZero() || prefix.Scheme() != u.Scheme() || prefix.Host() != u.Host() {
		return false
	}
	ps, ok := segments(prefix)
	if !ok {
		return false
	}
	us, ok := segments(u)
	if !ok || len(ps) > len(us) {
		return false
	}
	for i := range ps {
		if ps[i] != us[i] {
			return false
		}
	}
	return true
}

// segments is u's path (as its Key has it: no trailing "/" or ".git"),
// unescaped segment by segment.
func segments(u repourl.URL) ([]string, bool) {
	path := strings.TrimPrefix(u.Key(), u.Scheme()+"://"+u.Host()+"/")
	raw := strings.Split(path, "/")
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil || s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
