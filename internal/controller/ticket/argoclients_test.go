package ticket

import (
	"strings"
	"testing"
)

// A tenant's kubeconfig for a remote Argo CD may carry only inline
// credentials: nothing that makes the provider run a command or read one of
// its own files, such as its service-account token.
func TestRestConfigRefusesWhatReachesTheProvider(t *testing.T) {
	const head = `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
`
	cases := map[string]struct {
		kubeconfig string
		want       string // "" for accepted
	}{
		"Inline": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443, certificate-authority-data: Zm9v}}]\nusers: [{name: u, user: {token: abc}}]\n",
		},
		"ExecPlugin": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}}}]\n",
			want:       `user "u" runs a credential plugin`,
		},
		"TokenFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}]\n",
			want:       `user "u" reads credentials from files`,
		},
		"ClientCertificateFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x}}]\nusers: [{name: u, user: {client-certificate: /etc/tls.crt, client-key: /etc/tls.key}}]\n",
			want:       `user "u" reads credentials from files`,
		},
		"CAFile": {
			kubeconfig: head + "clusters: [{name: k, cluster: {server: https://x, certificate-authority: /etc/ca.crt}}]\nusers: [{name: u, user: {token: abc}}]\n",
			want:       `cluster "k" reads its CA from a file`,
		},
		"NotAKubeconfig": {
			kubeconfig: "{{{",
			want:       "cannot parse the kubeconfig named by spec.argocd.kubeconfigSecretRef",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := restConfig([]byte(tc.kubeconfig))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("restConfig: %v, want it accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("restConfig: %v, want an error saying %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "abc"):
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}
