package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerHub are the names a docker config may give Docker Hub.
var dockerHub = map[string]bool{
	"docker.io":               true,
	"index.docker.io":         true,
	"registry-1.docker.io":    true,
	"registry.hub.docker.com": true,
}

// NewKeychain returns the credentials of docker config JSON documents: the
// contents of kubernetes.io/dockerconfigjson Secrets ({"auths": {...}}) or
// of legacy .dockercfg ones. Keys may be a host (ghcr.io), a URL
// (https://index.docker.io/v1/), a host with a path prefix
// (ghcr.io/acme), or a wildcard host (*.azurecr.io), as the kubelet
// accepts them; the longest match wins, and among equals the first
// document. A repository without a match is read anonymously. Parse errors
// never quote the documents.
func NewKeychain(configs ...[]byte) (authn.Keychain, error) {
	kc := &configKeychain{}
	for i, b := range configs {
		var doc struct {
			Auths map[string]authEntry `json:"auths"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, errors.Errorf("cannot parse docker config JSON %d: %s", i, jsonReason(err))
		}
		entries := doc.Auths
		if entries == nil {
			// legacy .dockercfg: the map itself
			if err := json.Unmarshal(b, &entries); err != nil {
				return nil, errors.Errorf("cannot parse docker config JSON %d: it has no \"auths\" object", i)
			}
		}
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := entries[k]
			cfg, err := e.config()
			if err != nil {
				return nil, errors.Wrapf(err, "cannot parse docker config JSON %d: entry %q", i, k)
			}
			host, prefix := splitKey(k)
			kc.entries = append(kc.entries, keyEntry{host: host, prefix: prefix, cfg: cfg, order: len(kc.entries)})
		}
	}
	return kc, nil
}

// jsonReason describes a JSON error without quoting the input.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "invalid JSON"
}

type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

func (e authEntry) config() (authn.AuthConfig, error) {
	cfg := authn.AuthConfig{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
	if e.Auth != "" {
		b, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return cfg, errors.New(`"auth" is not base64 of username:password`)
		}
		u, p, ok := strings.Cut(string(b), ":")
		if !ok {
			return cfg, errors.New(`"auth" is not base64 of username:password`)
		}
		if cfg.Username == "" {
			cfg.Username = u
		}
		if cfg.Password == "" {
			cfg.Password = p
		}
	}
	return cfg, nil
}

// splitKey normalizes a docker config key to a host and a path prefix.
func splitKey(k string) (string, string) {
	k = strings.TrimSpace(k)
	if i := strings.Index(k, "://"); i >= 0 {
		k = k[i+3:]
	}
	host, p, _ := strings.Cut(k, "/")
	host = strings.ToLower(host)
	if dockerHub[host] {
		host = "index.docker.io"
		if p == "v1" || p == "v1/" || p == "v2" || p == "v2/" {
			p = ""
		}
	}
	return host, strings.Trim(p, "/")
}

type keyEntry struct {
	host, prefix string
	cfg          authn.AuthConfig
	order        int
}

type configKeychain struct {
	entries []keyEntry
}

// Resolve implements authn.Keychain.
func (k *configKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := strings.ToLower(r.RegistryStr())
	if dockerHub[host] {
		host = "index.docker.io"
	}
	repo := ""
	if s := r.String(); strings.HasPrefix(strings.ToLower(s), strings.ToLower(r.RegistryStr())+"/") {
		repo = s[len(r.RegistryStr())+1:]
	}
	best, bestScore := -1, -1
	for i, e := range k.entries {
		score, ok := e.match(host, repo)
		if ok && score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k.entries[best].cfg), nil
}

// match scores how specifically an entry names host/repo.
func (e keyEntry) match(host, repo string) (int, bool) {
	score := 0
	switch {
	case e.host == host:
		score = 2 * len(e.host)
	case strings.HasPrefix(e.host, "*."):
		ok, _ := path.Match(e.host, host)
		if !ok {
			return 0, false
		}
		score = len(e.host)
	default:
		return 0, false
	}
	if e.prefix != "" {
		if repo != e.prefix && !strings.HasPrefix(repo, e.prefix+"/") {
			return 0, false
		}
		score += 1000 + len(e.prefix)
	}
	return score, true
}

// A redactor removes credentials a keychain handed out from error text.
type redactor struct {
	mu      sync.Mutex
	secrets map[string]struct{}
}

func (r *redactor) add(cfg *authn.AuthConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]struct{}{}
	}
	for _, s := range []string{cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		if len(s) >= 4 {
			r.secrets[s] = struct{}{}
		}
	}
	if cfg.Username != "" && cfg.Password != "" {
		r.secrets[base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))] = struct{}{}
	}
}

func (r *redactor) apply(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// redactingKeychain remembers the credentials it hands out, to redact them.
type redactingKeychain struct {
	kc authn.Keychain
	r  *redactor
}

func (k *redactingKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	a, err := k.kc.Resolve(res)
	if err != nil || a == nil || a == authn.Anonymous {
		return a, err
	}
	return &redactingAuth{a: a, r: k.r}, nil
}

type redactingAuth struct {
	a authn.Authenticator
	r *redactor
}

func (a *redactingAuth) Authorization() (*authn.AuthConfig, error) {
	cfg, err := a.a.Authorization()
	if cfg != nil {
		a.r.add(cfg)
	}
	return cfg, err
}
