package gitrepo

import (
	"context"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

const (
	tokenUser      = "x-access-token"
	defaultSSHUser = "git"
	sshDialTimeout = 30 * time.Second
)

// followNoRedirects makes go-git's http and https transports refuse every
// redirect. A redirect would take a fetch or push to a host the policy never
// checked: plain http to another host, or a loopback or link-local address.
// git's own default follows the first one. go-git v5 chooses the transport
// of a scheme for the whole process, with no per-fetch option; gitrepo is
// the provider's only user of go-git.
var followNoRedirects = sync.OnceFunc(func() {
	base := http.DefaultTransport.(*http.Transport) //nolint:forcetypeassert // net/http declares it an *http.Transport.
	c := githttp.NewClientWithOptions(&http.Client{Transport: base.Clone()},
		&githttp.ClientOptions{RedirectPolicy: githttp.NoFollowRedirects})
	client.InstallProtocol("http", c)
	client.InstallProtocol("https", c)
})

// authMethod turns the Repo's Auth into a go-git AuthMethod for its URL. A
// nil method is anonymous.
func (r *Repo) authMethod(ctx context.Context) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(r.URL())
	if err != nil {
		return nil, kindf(ErrUnreachable, "invalid repository URL %q", r.URL())
	}
	a := r.auth
	switch ep.Protocol {
	case "http", "https":
		if a.Username != "" || a.Password != "" {
			user := a.Username
			if user == "" {
				user = tokenUser
			}
			return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
		}
		return nil, nil
	case "ssh":
		return r.sshAuth(ctx, ep, a)
	}
	// repourl never yields another scheme; refuse rather than guess.
	return nil, kindf(ErrUnreachable, "unsupported scheme %q", ep.Protocol)
}

func (r *Repo) sshAuth(ctx context.Context, ep *transport.Endpoint, a Auth) (transport.AuthMethod, error) {
	if len(a.SSHPrivateKey) == 0 {
		return nil, kindf(ErrAuth, "no SSH private key given for %s", r.URL())
	}
	user := ep.User
	if user == "" {
		user = defaultSSHUser
	}
	pk, err := gitssh.NewPublicKeys(user, a.SSHPrivateKey, a.Password)
	if err != nil {
		// x/crypto's parse errors name the problem, never the key bytes.
		return nil, withKind(ErrAuth, errors.Wrap(err, "cannot parse SSH private key"))
	}
	auth := &sshAuth{PublicKeys: pk, timeout: sshDialTimeout}
	if d, ok := ctx.Deadline(); ok {
		auth.timeout = time.Until(d)
	}
	switch {
	case len(a.SSHKnownHosts) > 0:
		f, err := os.CreateTemp("", "k8sta-known-hosts-")
		if err != nil {
			return nil, errors.Wrap(err, "cannot write SSH known_hosts")
		}
		defer os.Remove(f.Name()) //nolint:errcheck // best effort
		_, werr := f.Write(a.SSHKnownHosts)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, errors.Wrap(werr, "cannot write SSH known_hosts")
		}
		db, err := gitssh.NewKnownHostsDb(f.Name())
		if err != nil {
			return nil, withKind(ErrAuth, errors.Wrap(err, "cannot parse SSH known_hosts"))
		}
		port := ep.Port
		if port <= 0 {
			port = gitssh.DefaultPort
		}
		pk.HostKeyCallback = db.HostKeyCallback()
		auth.hostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	case a.InsecureIgnoreHostKey:
		pk.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // Only a caller that sets Auth.InsecureIgnoreHostKey gets here; no controller does.
	default:
		return nil, kindf(ErrAuth, "no SSH known_hosts given for %s: refusing to connect without verifying the host key", r.URL())
	}
	return auth, nil
}

// sshAuth adds what go-git leaves out when the caller supplies its own host
// key callback: the host key algorithms known_hosts has for the host, and a
// dial timeout.
type sshAuth struct {
	*gitssh.PublicKeys
	hostKeyAlgorithms []string
	timeout           time.Duration
}

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	c, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	if len(a.hostKeyAlgorithms) > 0 {
		c.HostKeyAlgorithms = a.hostKeyAlgorithms
	}
	c.Timeout = a.timeout
	return c, nil
}
