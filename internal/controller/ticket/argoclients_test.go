package ticket

import (
	"strings"
	"testing"
)

// A tenant's kubeconfig for a remote Argo CD may only say where that Argo CD
// is and carry inline credentials: nothing that makes the provider run a
// command, read one of its own files (such as its service-account token),
// connect through a proxy the tenant chooses, skip verifying the server, or
// expand a small Secret into gigabytes. The error names the Secret, the
// field and the fix, and never the credential.
func TestRestConfigRefusesWhatReachesOutside(t *testing.T) {
	const secret = "team-a/argocd"
	const head = `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
`
	const inlineUser = "users: [{name: u, user: {token: abc}}]\n"
	cases := map[string]struct {
		kubeconfig string
		want       []string // nil: accepted
	}{
		"Inline": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443, certificate-authority-data: Zm9v}}]\n" + inlineUser,
		},
		"InlineClientCertificate": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443}}]\nusers: [{name: u, user: {client-certificate-data: Zm9v, client-key-data: YmFy}}]\n",
		},
		"ExecPlugin": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]\n",
			want:       []string{`user "u" runs a credential plugin`, "users[].user.exec"},
		},
		"AuthProviderPlugin": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {auth-provider: {name: oidc, config: {idp-issuer-url: https://127.0.0.1:1}}}}]\n",
			want:       []string{`user "u" runs a credential plugin`, "users[].user.auth-provider"},
		},
		"TokenFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}]\n",
			want:       []string{`user "u" reads credentials from files`, "users[].user.tokenFile"},
		},
		"ClientCertificateFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate: /etc/tls.crt, client-key: /etc/tls.key}}]\n",
			want:       []string{`user "u" reads credentials from files`, "client-certificate-data"},
		},
		"ClientKeyFileOnly": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate-data: Zm9v, client-key: /etc/tls.key}}]\n",
			want:       []string{`user "u" reads credentials from files`, "client-key-data"},
		},
		"CAFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, certificate-authority: /etc/ca.crt}}]\n" + inlineUser,
			want:       []string{`cluster "k" reads its CA from a file`, "certificate-authority-data"},
		},
		"ProxyURL": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, proxy-url: http://127.0.0.1:3128}}]\n" + inlineUser,
			want:       []string{`cluster "k" names a proxy`, "clusters[].cluster.proxy-url"},
		},
		"ProxyURLOnAnotherCluster": {
			// Every entry is checked, not only the current context's.
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}, {name: other, cluster: {server: https://y, proxy-url: socks5://127.0.0.1:1080}}]\n" + inlineUser,
			want:       []string{`cluster "other" names a proxy`},
		},
		"InsecureSkipTLSVerify": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, insecure-skip-tls-verify: true}}]\n" + inlineUser,
			want:       []string{`cluster "k" does not verify the server`, "certificate-authority-data"},
		},
		"AliasBomb": {
			kubeconfig: "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" + head,
			want:       []string{"line 1 uses a YAML anchor or alias"},
		},
		"TooBig": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\n" + inlineUser + "# " + strings.Repeat("x", MaxKubeconfigBytes) + "\n",
			want:       []string{"more than 65536"},
		},
		"NotAKubeconfig": {
			kubeconfig: "{{{",
			want:       []string{"cannot parse it as YAML"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := restConfig(secret, []byte(tc.kubeconfig))
			if tc.want == nil {
				if err != nil {
					t.Errorf("restConfig: %v, want it accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("restConfig: accepted, want an error saying %q", tc.want)
			}
			for _, w := range append([]string{"Secret " + secret, "spec.argocd.kubeconfigSecretRef"}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("restConfig: %v, want an error saying %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
