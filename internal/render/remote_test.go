package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// countingServer is an HTTP server on 127.0.0.1 that answers every request
// with a valid kustomize patch, so that a fetch would change the output, and
// counts the requests.
type countingServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		_, _ = w.Write([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guestbook\nspec:\n  replicas: 9\n"))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestRemoteReferencesAreRefusedWithoutARequest covers every field
// kustomize loads from a path, in a kustomization, inline in one and in a
// plugin configuration file: each names a URL on a counting server, and the
// render is refused with an error naming the file and the field, and no
// request reaches the server.
func TestRemoteReferencesAreRefusedWithoutARequest(t *testing.T) {
	srv := newCountingServer(t)
	u := srv.URL + "/p.yaml"
	const dev = "overlays/dev/kustomization.yaml"
	const base = "resources: [../../base]\n"
	inline := func(field, cfg string) string { return base + field + ":\n- |\n" + indent(cfg, "  ") }
	patcher := "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + u + "\ntarget: {kind: Deployment}\n"

	type want struct {
		file, field string
		err         error
	}
	cases := map[string]struct {
		kustomization string
		extra         map[string]string
		want          want
	}{
		"ResourceFile":               {kustomization: "resources: [../../base, " + u + "]\n", want: want{dev, "resources[1]", ErrRemoteReference}},
		"ResourceGitRepository":      {kustomization: "resources: [../../base, '" + srv.URL + "/acme/shared.git//base?ref=v1']\n", want: want{dev, "resources[1]", ErrRemoteReference}},
		"ResourceSCP":                {kustomization: "resources: [../../base, 'git@127.0.0.1:acme/shared.git//base']\n", want: want{dev, "resources[1]", ErrRemoteReference}},
		"ResourceUpperCaseScheme":    {kustomization: "resources: [../../base, '" + strings.Replace(u, "http", "HTTP", 1) + "']\n", want: want{dev, "resources[1]", ErrRemoteReference}},
		"Component":                  {kustomization: base + "components: [" + srv.URL + "/c]\n", want: want{dev, "components[0]", ErrRemoteReference}},
		"Base":                       {kustomization: "bases: [../../base, " + srv.URL + "/b]\n", want: want{dev, "bases[1]", ErrRemoteReference}},
		"PatchPath":                  {kustomization: base + "patches:\n- path: " + u + "\n", want: want{dev, "patches[0].path", ErrRemoteReference}},
		"PatchesStrategicMerge":      {kustomization: base + "patchesStrategicMerge: [" + u + "]\n", want: want{dev, "patchesStrategicMerge[0]", ErrRemoteReference}},
		"PatchesJson6902Path":        {kustomization: base + "patchesJson6902:\n- target: {kind: Deployment, name: guestbook}\n  path: " + u + "\n", want: want{dev, "patchesJson6902[0].path", ErrRemoteReference}},
		"ReplacementsPath":           {kustomization: base + "replacements:\n- path: " + u + "\n", want: want{dev, "replacements[0].path", ErrRemoteReference}},
		"ConfigMapGeneratorFile":     {kustomization: base + "configMapGenerator:\n- name: c\n  files: [" + u + "]\n", want: want{dev, "configMapGenerator[0].files[0]", ErrRemoteReference}},
		"ConfigMapGeneratorKeyFile":  {kustomization: base + "configMapGenerator:\n- name: c\n  files: ['k=" + u + "']\n", want: want{dev, "configMapGenerator[0].files[0]", ErrRemoteReference}},
		"ConfigMapGeneratorEnvs":     {kustomization: base + "configMapGenerator:\n- name: c\n  envs: [" + u + "]\n", want: want{dev, "configMapGenerator[0].envs[0]", ErrRemoteReference}},
		"ConfigMapGeneratorEnv":      {kustomization: base + "configMapGenerator:\n- name: c\n  env: " + u + "\n", want: want{dev, "configMapGenerator[0].env", ErrRemoteReference}},
		"SecretGeneratorFile":        {kustomization: base + "secretGenerator:\n- name: s\n  files: [" + u + "]\n", want: want{dev, "secretGenerator[0].files[0]", ErrRemoteReference}},
		"SecretGeneratorEnvs":        {kustomization: base + "secretGenerator:\n- name: s\n  envs: [" + u + "]\n", want: want{dev, "secretGenerator[0].envs[0]", ErrRemoteReference}},
		"OpenAPIPath":                {kustomization: base + "openapi:\n  path: " + u + "\n", want: want{dev, "openapi.path", ErrRemoteReference}},
		"CRDs":                       {kustomization: base + "crds: [" + u + "]\n", want: want{dev, "crds[0]", ErrRemoteReference}},
		"Configurations":             {kustomization: base + "configurations: [" + u + "]\n", want: want{dev, "configurations[0]", ErrRemoteReference}},
		"TransformerPath":            {kustomization: base + "transformers: [" + u + "]\n", want: want{dev, "transformers[0]", ErrRemoteReference}},
		"GeneratorPath":              {kustomization: base + "generators: [" + u + "]\n", want: want{dev, "generators[0]", ErrRemoteReference}},
		"ValidatorPath":              {kustomization: base + "validators: [" + u + "]\n", want: want{dev, "validators[0]", ErrRemoteReference}},
		"InlinePatchTransformer":     {kustomization: inline("transformers", patcher), want: want{dev, "transformers[0].path", ErrRemoteReference}},
		"InlineFlowPatchTransformer": {kustomization: base + "transformers:\n- '{apiVersion: builtin, kind: PatchTransformer, metadata: {name: p}, path: \"" + u + "\", target: {kind: Deployment}}'\n", want: want{dev, "transformers[0].path", ErrRemoteReference}},
		"InlinePatchJson6902Transformer": {
			kustomization: inline("transformers", "apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata: {name: p}\ntarget: {kind: Deployment, name: guestbook}\npath: "+u+"\n"),
			want:          want{dev, "transformers[0].path", ErrRemoteReference},
		},
		"InlinePatchStrategicMergeTransformer": {
			kustomization: inline("transformers", "apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata: {name: p}\npaths: ["+u+"]\n"),
			want:          want{dev, "transformers[0].paths[0]", ErrRemoteReference},
		},
		"InlineReplacementTransformer": {
			kustomization: inline("transformers", "apiVersion: builtin\nkind: ReplacementTransformer\nmetadata: {name: p}\nreplacements:\n- path: "+u+"\n"),
			want:          want{dev, "transformers[0].replacements[0].path", ErrRemoteReference},
		},
		"InlineValueAddTransformer": {
			kustomization: inline("transformers", "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata: {name: p}\ntargetFilePath: "+u+"\n"),
			want:          want{dev, "transformers[0].targetFilePath", ErrRemoteReference},
		},
		"InlineConfigMapGenerator": {
			kustomization: inline("generators", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: c}\nfiles: ["+u+"]\n"),
			want:          want{dev, "generators[0].files[0]", ErrRemoteReference},
		},
		"InlineSecretGeneratorEnvs": {
			kustomization: inline("generators", "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: s}\nenvs: ["+u+"]\n"),
			want:          want{dev, "generators[0].envs[0]", ErrRemoteReference},
		},
		"InlineValidator": {
			kustomization: inline("validators", patcher),
			want:          want{dev, "validators[0].path", ErrRemoteReference},
		},
		"TransformerConfigFile": {
			kustomization: base + "transformers: [patcher.yaml]\n",
			extra:         map[string]string{"overlays/dev/patcher.yaml": patcher},
			want:          want{"overlays/dev/patcher.yaml", "path", ErrRemoteReference},
		},
		"GeneratorConfigFile": {
			kustomization: base + "generators: [gen.yaml]\n",
			extra:         map[string]string{"overlays/dev/gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: c}\nenv: " + u + "\n"},
			want:          want{"overlays/dev/gen.yaml", "env", ErrRemoteReference},
		},
		"TransformerConfigFileSecondDocument": {
			kustomization: base + "transformers: [patcher.yaml]\n",
			extra:         map[string]string{"overlays/dev/patcher.yaml": "apiVersion: builtin\nkind: NamespaceTransformer\nmetadata: {name: ns, namespace: x}\n---\n" + patcher},
			want:          want{"overlays/dev/patcher.yaml", "(document 2) path", ErrRemoteReference},
		},
		"TransformerDirectory": {
			// A directory listed as a transformer is a kustomization whose
			// resources are plugin configurations.
			kustomization: base + "transformers: [../../transformers]\n",
			extra: map[string]string{
				"transformers/kustomization.yaml": "resources: [patcher.yaml]\n",
				"transformers/patcher.yaml":       patcher,
			},
			want: want{"transformers/patcher.yaml", "path", ErrRemoteReference},
		},
		"RemoteInReachedBase": {
			kustomization: base,
			extra:         map[string]string{"base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\npatchesJson6902:\n- target: {kind: Deployment, name: guestbook}\n  path: " + u + "\n"},
			want:          want{"base/kustomization.yaml", "patchesJson6902[0].path", ErrRemoteReference},
		},
		"HelmCharts": {
			kustomization: base + "helmCharts:\n- name: minecraft\n  repo: " + srv.URL + "\n  version: 3.1.3\n",
			want:          want{dev, "helmCharts", ErrHelmNotSupported},
		},
		"HelmGlobals": {
			kustomization: base + "helmGlobals:\n  chartHome: charts\n",
			want:          want{dev, "helmGlobals", ErrHelmNotSupported},
		},
		"InlineHelmChartInflationGenerator": {
			kustomization: inline("generators", "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: h}\nname: minecraft\nrepo: "+srv.URL+"\n"),
			want:          want{dev, "generators[0].kind", ErrHelmNotSupported},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := srv.requests.Load()
			files := fixture(func(f map[string][]byte) {
				f[dev] = []byte(tc.kustomization)
				for p, c := range tc.extra {
					f[p] = []byte(c)
				}
			})
			out, err := Build(MapSource(files), "overlays/dev", nil)
			if err == nil {
				t.Fatalf("Build(...): want error, got output:\n%s", out)
			}
			if !errors.Is(err, tc.want.err) {
				t.Errorf("Build(...): errors.Is(%v, %v) = false", err, tc.want.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Build(...): errors.As(%v, *FieldError) = false", err)
			}
			if fe.File != tc.want.file || fe.Field != tc.want.field {
				t.Errorf("Build(...): blames %s %s, want %s %s", fe.File, fe.Field, tc.want.file, tc.want.field)
			}
			if !strings.Contains(err.Error(), tc.want.file+": "+tc.want.field+" ") {
				t.Errorf("Build(...): error %q does not name %s: %s", err, tc.want.file, tc.want.field)
			}
			if got := srv.requests.Load() - before; got != 0 {
				t.Errorf("the server got %d requests, want 0", got)
			}
		})
	}
}

func indent(s, by string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	return by + strings.Join(lines, by) + "\n"
}

// TestSandboxHasNoNetwork bypasses the walker on purpose: it gives the
// render worker kustomizations that name URLs on a counting server in the
// fields kustomize fetches over HTTP, and a remote git base on a real
// smart-HTTP git server, and proves that the worker itself reaches neither:
// zero requests, whatever the kustomization says.
func TestSandboxHasNoNetwork(t *testing.T) {
	srv := newCountingServer(t)
	git := gitserver.New(t)
	git.CreateRepo(t, "acme/shared", map[string][]byte{"base/kustomization.yaml": []byte("resources: [cm.yaml]\n"), "base/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n")})
	u := srv.URL + "/p.yaml"
	const base = "resources: [../../base]\n"
	cases := map[string]struct {
		kustomization string
		extra         map[string]string
		// server is the requests counter that must stay at zero.
		server func() int64
		// want is in the worker's error.
		want string
	}{
		"ResourceURL":              {kustomization: "resources: [../../base, " + u + "]\n", want: "no network"},
		"PatchesJson6902Path":      {kustomization: base + "patchesJson6902:\n- target: {kind: Deployment, name: guestbook}\n  path: " + u + "\n", want: "no network"},
		"PatchPath":                {kustomization: base + "patches:\n- path: " + u + "\n", want: "no network"},
		"InlinePatchTransformer":   {kustomization: base + "transformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: " + u + "\n  target: {kind: Deployment}\n", want: "no network"},
		"TransformerConfigFile":    {kustomization: base + "transformers: [patcher.yaml]\n", extra: map[string]string{"overlays/dev/patcher.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + u + "\ntarget: {kind: Deployment}\n"}, want: "no network"},
		"ConfigMapGeneratorFile":   {kustomization: base + "configMapGenerator:\n- name: c\n  files: [" + u + "]\n", want: "no network"},
		"OpenAPIPath":              {kustomization: base + "openapi:\n  path: " + u + "\n", want: "no network"},
		"CRDs":                     {kustomization: base + "crds: [" + u + "]\n", want: "no network"},
		"ReplacementsPath":         {kustomization: base + "replacements:\n- path: " + u + "\n", want: "no network"},
		"GitBaseOverSmartHTTP":     {kustomization: "resources: [../../base, '" + git.URL("acme/shared") + "//base?ref=main']\n", server: git.Requests, want: "no 'git' program on path"},
		"GitBaseFromLocalRepoFile": {kustomization: "resources: [../../base, 'file://" + git.Path("acme/shared") + "//base?ref=main']\n", want: "no 'git' program on path"},
		"HelmChart":                {kustomization: base + "helmCharts:\n- name: minecraft\n  repo: " + srv.URL + "\n  version: 3.1.3\n", want: "enable-helm"},
	}
	r := NewRenderer(Limits{})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			count := srv.requests.Load
			if tc.server != nil {
				count = tc.server
			}
			before := count()
			files := fixture(func(f map[string][]byte) {
				f["overlays/dev/kustomization.yaml"] = []byte(tc.kustomization)
				for p, c := range tc.extra {
					f[p] = []byte(c)
				}
			})
			req := &workerRequest{Files: map[string][]byte{renderRoot + "/kustomization.yaml": []byte("resources: [../repo/overlays/dev]\n")}, Dir: renderRoot, NodesLeft: 1000, NodeLimit: 1000}
			for p, c := range files {
				req.Files[repoRoot+"/"+p] = c
			}
			out, err := r.sandbox(context.Background(), "team-a", req)
			if err == nil {
				t.Fatalf("sandbox(...): want error, got output:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("sandbox(...): error %q does not say %q", err, tc.want)
			}
			if got := count() - before; got != 0 {
				t.Errorf("the server got %d requests, want 0", got)
			}
		})
	}
	// The same git base is cloned by the git binary outside the sandbox,
	// so the server and the URL work: the sandbox is what stops it.
	if out, err := exec.Command("git", "clone", "-q", git.URL("acme/shared"), filepath.Join(t.TempDir(), "c")).CombinedOutput(); err != nil {
		t.Fatalf("git clone outside the sandbox: %v: %s", err, out)
	}
	if git.Requests() == 0 {
		t.Errorf("git clone outside the sandbox made no request: the server does not count")
	}
}
