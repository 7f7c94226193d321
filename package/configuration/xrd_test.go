// Package configuration holds configuration-k8sta: the Track XRD, its
// Composition and the package metadata. Its tests check the XRD's schema.
package configuration

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

func read(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path) //nolint:gosec // A path of this test's own.
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
	return x["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any) //nolint:forcetypeassert // A test's own file.
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
	v := version(read(t, "xrd.yaml"))
	schema := v["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any) //nolint:forcetypeassert // A test's own file.
	props := schema["properties"].(map[string]any)                             //nolint:forcetypeassert // A test's own file.
	props["apiVersion"] = map[string]any{"type": "string"}
	props["kind"] = map[string]any{"type": "string"}
	props["metadata"] = map[string]any{"type": "object"}
	j, err := yaml.Marshal(map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "tracks.k8sta.io"},
		"spec": map[string]any{
			"group": "k8sta.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "Track", "plural": "tracks", "listKind": "TrackList", "singular": "track"},
			"versions": []any{map[string]any{
				"name": "v1alpha1", "served": true, "storage": true,
				"schema":                   map[string]any{"openAPIV3Schema": schema},
				"additionalPrinterColumns": v["additionalPrinterColumns"],
				"subresources":             map[string]any{"status": map[string]any{}},
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(j, crd); err != nil {
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
		"LinearExample":         {doc: string(mustRead(t, "../../examples/linear/track.yaml"))},
		"JunctionExample":       {doc: strings.Replace(string(mustRead(t, "../../examples/junction/track.yaml")), "name: guestbook\n", "name: guestbook-junction\n", 1)},
		"SectionExample":        {doc: strings.Split(string(examples), "---\n")[0]},
		"NoStations":            {doc: track("no-stations", "{repo: {url: x}, stations: []}"), wantErr: "should have at least 1 items"},
		"DuplicateStation":      {doc: track("dup", "{repo: {url: x}, stations: [{name: a, tracks: [b]}, {name: a, tracks: [c]}]}"), wantErr: `Duplicate value: {"name":"a"}`},
		"NotADNSLabel":          {doc: track("label", "{repo: {url: x}, stations: [{name: Dev, tracks: [b]}]}"), wantErr: "spec.stations[0].name in body should match"},
		"EmptyStation":          {doc: track("empty", "{repo: {url: x}, stations: [{name: a}]}"), wantErr: "a station needs applications, tracks (a junction) or both"},
		"NoOverlay":             {doc: track("no-overlay", "{repo: {url: x}, stations: [{name: a, applications: [{name: app}]}]}"), wantErr: "a station with applications needs the overlay"},
		"BadStrategy":           {doc: track("strategy", "{repo: {url: x}, subscriptions: {images: [{repository: r, strategy: Newest}]}, stations: [{name: a, tracks: [b]}]}"), wantErr: `Unsupported value: "Newest"`},
		"EmptySubscriptions":    {doc: track("subs", "{repo: {url: x}, subscriptions: {}, stations: [{name: a, tracks: [b]}]}"), wantErr: "subscriptions needs images, git or both"},
		"BadSoak":               {doc: track("soak", "{repo: {url: x}, stations: [{name: a, tracks: [b], soak: ten}]}"), wantErr: "spec.stations[0].soak in body should match"},
		"BadProviderConfigKind": {doc: track("pc", "{repo: {url: x}, stations: [{name: a, tracks: [b]}], providerConfigRef: {name: x, kind: Secret}}"), wantErr: `Unsupported value: "Secret"`},
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
	spec := got.Object["spec"].(map[string]any) //nolint:forcetypeassert // Checked by the schema.
	want := map[string]any{
		"repo":              map[string]any{"url": "https://git.example.com/acme/guestbook-config.git", "sourceBranch": "main"},
		"providerConfigRef": map[string]any{"name": "default", "kind": "ProviderConfig"},
		"image":             map[string]any{"repository": "ghcr.io/acme/guestbook", "strategy": "SemVer"},
		"application":       map[string]any{"name": "guestbook-dev", "namespace": "argocd"},
	}
	gotDefaults := map[string]any{
		"repo":              spec["repo"],
		"providerConfigRef": spec["providerConfigRef"],
		"image":             spec["subscriptions"].(map[string]any)["images"].([]any)[0],             //nolint:forcetypeassert // As above.
		"application":       spec["stations"].([]any)[0].(map[string]any)["applications"].([]any)[0], //nolint:forcetypeassert // As above.
	}
	if diff := cmp.Diff(want, gotDefaults); diff != "" {
		t.Errorf("defaults: -want, +got:\n%s", diff)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path) //nolint:gosec // A path of this test's own.
	if err != nil {
		t.Fatal(err)
	}
	return b
}
