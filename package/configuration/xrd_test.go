// Package configuration holds configuration-k8sta: the Track XRD, its
// Composition and the package metadata. Its tests check the XRD's schema.
package configuration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// The messages of the XRD's rules, which function-k8sta shares (fn/validate.go).
const (
	msgURLScheme      = "must be an https:// or ssh:// URL or git@host:org/repo (plain http:// reaches only the hosts the provider's operator allows with --insecure-git-host); file://, git:// and local paths are refused"
	msgURLCredentials = "must not carry credentials (user:password@ or a token): put them in the Secret that the ProviderConfig's spec.git.secretRef names"
	msgBranch         = "must be a git branch name such as env/prod: letters, digits, '.', '_' and '-', parts joined by '/', no part starting with '.' or '-' or ending in '.' or '.lock', no '..'"

	msgPathAbsolute     = "must be relative to the repository root, without a leading '/': e.g. base/ or apps/guestbook/"
	msgPathDotSegment   = "must not have '.' or '..' segments: write the path from the repository root, e.g. apps/guestbook/"
	msgPathEmptySegment = "must not have an empty segment ('//'): write e.g. apps/guestbook/"
	msgPathControl      = "must not hold control characters (newline, tab, NUL): write the path as git shows it"
)

func read(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("cannot parse %s: %v", path, err)
	}
	return m
}

func version(x map[string]any) map[string]any {
	return x["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)
}

// TestLegacySchema keeps the legacy XTrack's schema equal to the Track's.
func TestLegacySchema(t *testing.T) {
	want, got := version(read(t, "xrd.yaml")), version(read(t, "../../examples/legacy/xrd.yaml"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("examples/legacy/xrd.yaml version differs from package/configuration/xrd.yaml: -want, +got:\n%s", diff)
	}
}

// TestSchema serves the XRD's schema as a CRD from a real kube-apiserver (the
// one hack/kube-binaries.sh builds, at $KUBEBUILDER_ASSETS) and creates
// Tracks against it: the validation (patterns, enums, unique station names,
// CEL rules) and the defaults are the apiserver's own.
func TestSchema(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("K8STA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: set it to the output of hack/kube-binaries.sh")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set: KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh) runs this test")
	}
	crd, err := kubeenv.TrackCRD()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{CRDs: []*apiextensionsv1.CustomResourceDefinition{crd}}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("cannot start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "team-a"}}}); err != nil {
		t.Fatal(err)
	}

	track := func(name, spec string) string {
		return "apiVersion: k8sta.io/v1alpha1\nkind: Track\nmetadata: {name: " + name + ", namespace: team-a}\nspec: " + spec + "\n"
	}
	examples, err := os.ReadFile("../../examples/junction/sections.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		doc     string
		wantErr string
	}{
		"LinearExample":      {doc: string(mustRead(t, "../../examples/linear/track.yaml"))},
		"JunctionExample":    {doc: strings.Replace(string(mustRead(t, "../../examples/junction/track.yaml")), "name: guestbook\n", "name: guestbook-junction\n", 1)},
		"SectionExample":     {doc: strings.Split(string(examples), "---\n")[0]},
		"NoStations":         {doc: track("no-stations", "{repo: {url: https://git.example.com/x}, stations: []}"), wantErr: "should have at least 1 items"},
		"DuplicateStation":   {doc: track("dup", "{repo: {url: https://git.example.com/x}, stations: [{name: a, tracks: [b]}, {name: a, tracks: [c]}]}"), wantErr: `Duplicate value: {"name":"a"}`},
		"NotADNSLabel":       {doc: track("label", "{repo: {url: https://git.example.com/x}, stations: [{name: Dev, tracks: [b]}]}"), wantErr: "spec.stations[0].name in body should match"},
		"EmptyStation":       {doc: track("empty", "{repo: {url: https://git.example.com/x}, stations: [{name: a}]}"), wantErr: "a station needs applications, tracks (a junction) or both"},
		"NoOverlay":          {doc: track("no-overlay", "{repo: {url: https://git.example.com/x}, stations: [{name: a, applications: [{name: app}]}]}"), wantErr: "a station with applications needs the overlay"},
		"BadStrategy":        {doc: track("strategy", "{repo: {url: https://git.example.com/x}, subscriptions: {images: [{repository: r, strategy: Newest}]}, stations: [{name: a, tracks: [b]}]}"), wantErr: `Unsupported value: "Newest"`},
		"EmptySubscriptions": {doc: track("subs", "{repo: {url: https://git.example.com/x}, subscriptions: {}, stations: [{name: a, tracks: [b]}]}"), wantErr: "subscriptions needs images, git or both"},
		"BadSoak":            {doc: track("soak", "{repo: {url: https://git.example.com/x}, stations: [{name: a, tracks: [b], soak: ten}]}"), wantErr: "spec.stations[0].soak in body should match"},
		// Repository URLs (issue 9, hole 5): https, ssh and scp-like only;
		// plain http to any host (the provider allows only the hosts its
		// operator lists; loopback is no exception); no credentials.
		"HTTPSURL":        {doc: track("https", `{repo: {url: "https://github.com/acme/app.git"}, stations: [{name: a, tracks: [b]}]}`)},
		"SSHURL":          {doc: track("ssh", `{repo: {url: "ssh://git@github.com:22/acme/app.git"}, stations: [{name: a, tracks: [b]}]}`)},
		"SCPURL":          {doc: track("scp", `{repo: {url: "git@github.com:acme/app.git"}, stations: [{name: a, tracks: [b]}]}`)},
		"LoopbackURL":     {doc: track("loopback", `{repo: {url: "http://127.0.0.1:38211/guestbook-config.git"}, stations: [{name: a, tracks: [b]}]}`)},
		"LocalhostURL":    {doc: track("localhost", `{repo: {url: "http://localhost:8080/app"}, stations: [{name: a, tracks: [b]}]}`)},
		"IPv6LoopbackURL": {doc: track("ipv6", `{repo: {url: "http://[::1]:8080/app"}, stations: [{name: a, tracks: [b]}]}`)},
		"FileURL":         {doc: track("file", `{repo: {url: "file:///var/lib/k8sta"}, stations: [{name: a, tracks: [b]}]}`), wantErr: "spec.repo.url: Invalid value: " + msgURLScheme},
		"LocalPathURL":    {doc: track("path", `{repo: {url: "/var/lib/k8sta"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLScheme},
		"GitURL":          {doc: track("git", `{repo: {url: "git://github.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLScheme},
		"HTTPURL":         {doc: track("http", `{repo: {url: "http://git.internal.example.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`)},
		"HTTPNoHostURL":   {doc: track("http-nohost", `{repo: {url: "http:///acme/app"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLScheme},
		"ExtURL":          {doc: track("ext", `{repo: {url: "ext::sh -c touch% /tmp/x"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLScheme},
		"PasswordURL":     {doc: track("password", `{repo: {url: "https://bob:s3cret@github.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`), wantErr: "spec.repo.url: Invalid value: " + msgURLCredentials},
		"TokenURL":        {doc: track("token", `{repo: {url: "https://ghp_abc@github.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLCredentials},
		"SSHPasswordURL":  {doc: track("ssh-password", `{repo: {url: "ssh://git:s3cret@github.com/acme/app"}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgURLCredentials},
		"LongURL":         {doc: track("long-url", `{repo: {url: "https://github.com/`+strings.Repeat("a", 2048)+`"}, stations: [{name: a, tracks: [b]}]}`), wantErr: "spec.repo.url: Too long"},
		// Rendered branches (issue 9, hole 7).
		"BranchIsSource":        {doc: track("branch-source", "{repo: {url: https://git.example.com/x}, stations: [{name: dev, overlay: o, branch: main, applications: [{name: a}]}]}"), wantErr: "a station renders to spec.repo.sourceBranch"},
		"DefaultBranchIsSource": {doc: track("default-source", "{repo: {url: https://git.example.com/x, sourceBranch: env/prod}, stations: [{name: dev, overlay: o, applications: [{name: a}]}, {name: prod, overlay: o, applications: [{name: b}]}]}"), wantErr: "a station renders to spec.repo.sourceBranch"},
		"DuplicateBranch":       {doc: track("dup-branch", "{repo: {url: https://git.example.com/x}, stations: [{name: dev, overlay: o, branch: env/x, applications: [{name: a}]}, {name: prod, overlay: o, branch: env/x, applications: [{name: b}]}]}"), wantErr: "two stations with applications write one rendered branch"},
		"BadBranch":             {doc: track("bad-branch", "{repo: {url: https://git.example.com/x}, stations: [{name: dev, overlay: o, branch: 'env/../main', applications: [{name: a}]}]}"), wantErr: "spec.stations[0].branch: Invalid value: \"env/../main\": " + msgBranch},
		"BadSourceBranch":       {doc: track("bad-source", "{repo: {url: https://git.example.com/x, sourceBranch: '-f'}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.repo.sourceBranch: Invalid value: \"-f\": " + msgBranch},
		"OtherBranches":         {doc: track("other-branches", "{repo: {url: https://git.example.com/x, sourceBranch: trunk}, stations: [{name: main, overlay: o, applications: [{name: a}]}, {name: prod, overlay: o, branch: rendered/prod, applications: [{name: b}]}]}")},
		// Everything else a user writes is bounded (issue 9, hole 11).
		"OverlayLeaves":       {doc: track("overlay", "{repo: {url: https://git.example.com/x}, stations: [{name: dev, overlay: overlays/../../etc, applications: [{name: a}]}]}"), wantErr: "spec.stations[0].overlay: Invalid value: \"overlays/../../etc\": must be a directory inside the repository"},
		"AbsoluteOverlay":     {doc: track("abs-overlay", "{repo: {url: https://git.example.com/x}, stations: [{name: dev, overlay: /etc, applications: [{name: a}]}]}"), wantErr: "must be a directory inside the repository"},
		"BadPin":              {doc: track("pin", "{repo: {url: https://git.example.com/x}, stations: [{name: a, tracks: [b], pin: latest}]}"), wantErr: "must be a change id"},
		"BadImage":            {doc: track("image", "{repo: {url: https://git.example.com/x}, subscriptions: {images: [{repository: 'ghcr.io/acme/app:v1'}]}, stations: [{name: a, tracks: [b]}]}"), wantErr: "must be an image repository without a tag or digest"},
		"BadApplication":      {doc: track("app", "{repo: {url: https://git.example.com/x}, stations: [{name: a, overlay: o, applications: [{name: App_1}]}]}"), wantErr: "spec.stations[0].applications[0].name in body should match"},
		"TooManyStations":     {doc: track("stations", "{repo: {url: https://git.example.com/x}, stations: ["+items(101, "{name: s%d, tracks: [b]}")+"]}"), wantErr: "spec.stations: Too many: 101: must have at most 100 items"},
		"TooManyTracks":       {doc: track("tracks", "{repo: {url: https://git.example.com/x}, stations: [{name: j, tracks: ["+items(21, "t%d")+"]}]}"), wantErr: "spec.stations[0].tracks: Too many: 21: must have at most 20 items"},
		"TooManyApplications": {doc: track("apps", "{repo: {url: https://git.example.com/x}, stations: [{name: a, overlay: o, applications: ["+items(51, "{name: a%d}")+"]}]}"), wantErr: "spec.stations[0].applications: Too many: 51: must have at most 50 items"},
		"TooManyImages":       {doc: track("images", "{repo: {url: https://git.example.com/x}, subscriptions: {images: ["+items(21, "{repository: r%d}")+"]}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.images: Too many: 21: must have at most 20 items"},
		"TooManyIgnoreTags":   {doc: track("ignore", "{repo: {url: https://git.example.com/x}, subscriptions: {images: [{repository: r, ignoreTags: ["+items(21, "t%d")+"]}]}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.images[0].ignoreTags: Too many: 21: must have at most 20 items"},
		"DiscoveryLimit":      {doc: track("discovery", "{repo: {url: https://git.example.com/x}, subscriptions: {images: [{repository: r, strategy: NewestBuild, discoveryLimit: 1000}]}, stations: [{name: a, tracks: [b]}]}"), wantErr: "should be less than or equal to 100"},
		"LongBranch":          {doc: track("long-branch", "{repo: {url: https://git.example.com/x}, stations: [{name: a, overlay: o, branch: "+strings.Repeat("b", 256)+", applications: [{name: a}]}]}"), wantErr: "spec.stations[0].branch: Too long"},
		// The paths a Track follows on a config monorepo (issue 10).
		"GitPaths":              {doc: track("git-paths", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: [base/, apps/guestbook, kustomization.yaml, .github/, "+strings.Repeat("a", 1024)+"]}}, stations: [{name: a, tracks: [b]}]}")},
		"AbsoluteGitPath":       {doc: track("git-abs", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: [base/, /etc]}}, stations: [{name: a, tracks: [b]}]}"), wantErr: `spec.subscriptions.git.paths[1]: Invalid value: "/etc": ` + msgPathAbsolute},
		"DotDotGitPath":         {doc: track("git-dotdot", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ['apps/../../etc']}}, stations: [{name: a, tracks: [b]}]}"), wantErr: `spec.subscriptions.git.paths[0]: Invalid value: "apps/../../etc": ` + msgPathDotSegment},
		"DotGitPath":            {doc: track("git-dot", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: [./base]}}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.git.paths[0]: Invalid value: \"./base\": " + msgPathDotSegment},
		"EmptySegmentGitPath":   {doc: track("git-empty-seg", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: [apps//a]}}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.git.paths[0]: Invalid value: \"apps//a\": " + msgPathEmptySegment},
		"ControlCharGitPath":    {doc: track("git-control", `{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ["apps/a\nb"]}}, stations: [{name: a, tracks: [b]}]}`), wantErr: "spec.subscriptions.git.paths[0]: Invalid value: \"apps/a\\nb\": " + msgPathControl},
		"NULGitPath":            {doc: track("git-nul", `{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ["apps/\0"]}}, stations: [{name: a, tracks: [b]}]}`), wantErr: msgPathControl},
		"EmptyGitPath":          {doc: track("git-empty", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ['']}}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.git.paths[0]: Invalid value: \"\": spec.subscriptions.git.paths[0] in body should be at least 1 chars long"},
		"LongGitPath":           {doc: track("git-long", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ["+strings.Repeat("a", 1025)+"]}}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.git.paths[0]: Too long: may not be more than 1024"},
		"TooManyGitPaths":       {doc: track("git-many", "{repo: {url: https://git.example.com/x}, subscriptions: {git: {paths: ["+items(33, "p%d/")+"]}}, stations: [{name: a, tracks: [b]}]}"), wantErr: "spec.subscriptions.git.paths: Too many: 33: must have at most 32 items"},
		"BadProviderConfigKind": {doc: track("pc", "{repo: {url: https://git.example.com/x}, stations: [{name: a, tracks: [b]}], providerConfigRef: {name: x, kind: Secret}}"), wantErr: `Unsupported value: "Secret"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.doc), &u.Object); err != nil {
				t.Fatal(err)
			}
			err := cl.Create(ctx, u)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && !strings.Contains(got, tc.wantErr) {
				t.Errorf("Create(%s): want error containing %q, got %v", name, tc.wantErr, err)
			}
			// A refused URL may carry credentials: the error never quotes it.
			if strings.Contains(got, "s3cret") || strings.Contains(got, "ghp_abc") {
				t.Errorf("Create(%s): the error quotes the credentials of the URL: %v", name, err)
			}
		})
	}

	// Defaults: source branch, Application namespace, image strategy,
	// providerConfigRef.
	got := &unstructured.Unstructured{}
	got.SetAPIVersion("k8sta.io/v1alpha1")
	got.SetKind("Track")
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "guestbook-junction"}, got); err != nil {
		t.Fatal(err)
	}
	spec := got.Object["spec"].(map[string]any) // Checked by the schema.
	want := map[string]any{
		"repo":              map[string]any{"url": "https://git.example.com/acme/guestbook-config.git", "sourceBranch": "main"},
		"providerConfigRef": map[string]any{"name": "default", "kind": "ProviderConfig"},
		"image":             map[string]any{"repository": "ghcr.io/acme/guestbook", "strategy": "SemVer"},
		"application":       map[string]any{"name": "guestbook-dev", "namespace": "argocd"},
	}
	gotDefaults := map[string]any{
		"repo":              spec["repo"],
		"providerConfigRef": spec["providerConfigRef"],
		"image":             spec["subscriptions"].(map[string]any)["images"].([]any)[0],
		"application":       spec["stations"].([]any)[0].(map[string]any)["applications"].([]any)[0],
	}
	if diff := cmp.Diff(want, gotDefaults); diff != "" {
		t.Errorf("defaults: -want, +got:\n%s", diff)
	}
}

// items are n flow items, format filled in with 0 to n-1.
func items(n int, format string) string {
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf(format, i))
	}
	return strings.Join(out, ", ")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
