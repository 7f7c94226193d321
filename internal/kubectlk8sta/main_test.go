package kubectlk8sta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/k8sta/k8sta/apis/v1alpha1"
	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

// The tests run kubectl k8sta against one real apiserver (envtest) serving
// the Track CRD made from package/configuration/xrd.yaml, the legacy claim
// kind from examples/legacy/xrd.yaml, the provider's CRDs and the admission
// policy of cluster/admission/controls.yaml. Each test writes its Tracks,
// their status and their Tickets by hand, in a namespace of its own.
var (
	env *kubeenv.Environment
	// kubeconfig is a kubeconfig file of an administrator (system:masters);
	// runs impersonate the users they act as (--as), as kubectl does.
	kubeconfig string
)

// now is the fixed clock of every run: the Tracks' times are set from it.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	kubeenv.Main(m, &env, setup)
}

func setup(e *kubeenv.Environment) (func(), error) {
	crd, err := kubeenv.TrackCRD()
	if err != nil {
		return nil, err
	}
	legacy, err := kubeenv.LegacyTrackCRD()
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{crd, legacy}}); err != nil {
		return nil, err
	}
	admin, err := e.AddUser(envtest.User{Name: "k8sta-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubectl-k8sta-test-")
	if err != nil {
		return nil, err
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	if err := applyPolicy(e.Config); err != nil {
		return nil, err
	}
	return func() { _ = os.RemoveAll(dir) }, nil
}

// applyPolicy creates cluster/admission/controls.yaml and waits until the
// apiserver enforces it: a dry-run Freeze that names someone else is refused.
func applyPolicy(cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, u := range mustDecodeAll(filepath.Join("..", "..", "cluster", "admission", "controls.yaml")) {
		if err := c.Create(ctx, u); err != nil {
			return err
		}
	}
	tc, err := client.New(cfg, client.Options{Scheme: scheme()})
	if err != nil {
		return err
	}
	probe := &v1alpha1.Freeze{ObjectMeta: objectMeta("default", "probe"), Spec: v1alpha1.FreezeSpec{Track: "probe", By: "somebody-else"}}
	if ok, last := kubeenv.Poll(60*time.Second, func() (bool, string) {
		err := tc.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "spec.by must be"), fmt.Sprint(err)
	}); !ok {
		return errors.New("the apiserver did not enforce cluster/admission/controls.yaml within 60 s; a dry-run Freeze naming someone else got: " + last)
	}
	return nil
}

func mustDecodeAll(path string) []*unstructured.Unstructured {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			panic(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// as returns a client of the apiserver acting as user; in system:masters
// unless groups are given.
func as(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	if len(groups) == 0 {
		groups = []string{"system:masters"}
	}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := rbacv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// run runs kubectl k8sta with args as user (in system:masters unless
// groups are given), on the fixed clock, not on a terminal.
func run(t *testing.T, user string, args ...string) (string, error) {
	t.Helper()
	return runWith(t, Options{}, user, nil, args...)
}

func runWith(t *testing.T, o Options, user string, groups []string, args ...string) (string, error) {
	t.Helper()
	out := &bytes.Buffer{}
	o.Out, o.Now, o.Version = out, func() time.Time { return now }, "test"
	cmd := NewCommand(o)
	flags := []string{"--kubeconfig", kubeconfig, "--as", user}
	if groups == nil {
		groups = []string{"system:masters"}
	}
	for _, g := range groups {
		flags = append(flags, "--as-group", g)
	}
	cmd.SetArgs(append(args, flags...))
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// namespace creates a namespace named after t.
func namespace(t *testing.T) string {
	t.Helper()
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 63 {
		name = ControlName(name[:40], name[40:])
	}
	return namespaceNamed(t, name)
}

func namespaceNamed(t *testing.T, name string) string {
	t.Helper()
	c := as(t, "k8sta-test-admin")
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: objectMeta("", name)}); err != nil {
		t.Fatal(err)
	}
	return name
}

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

// createTrack creates the Track doc (YAML, without namespace) in ns and
// writes status onto it (YAML of status, or "").
func createTrack(t *testing.T, ns, doc, status string) {
	t.Helper()
	ctx := context.Background()
	c := as(t, "k8sta-test-admin")
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetAPIVersion("k8sta.io/v1alpha1")
	u.SetKind("Track")
	u.SetNamespace(ns)
	if err := c.Create(ctx, u); err != nil {
		t.Fatalf("cannot create Track %s: %v", u.GetName(), err)
	}
	if status == "" {
		return
	}
	st := map[string]any{}
	if err := yaml.Unmarshal([]byte(status), &st); err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = st
	if err := c.Status().Update(ctx, u); err != nil {
		t.Fatalf("cannot write the status of Track %s: %v", u.GetName(), err)
	}
}

// createTicket creates the Ticket function-k8sta would compose for the
// station at path of Track track, delivering change.
func createTicket(t *testing.T, ns, track, path string, change v1alpha1.Change) {
	t.Helper()
	tk := &v1alpha1.Ticket{
		ObjectMeta: objectMeta(ns, ControlName(track, path)),
		Spec: v1alpha1.TicketSpec{ForProvider: v1alpha1.TicketParameters{
			Track: track, Station: path, Change: change,
			Repo:    v1alpha1.Repository{URL: "https://git.example.com/acme/config.git"},
			Overlay: "overlays/" + path, Branch: "env/" + path,
		}},
	}
	tk.Labels = map[string]string{"crossplane.io/composite": track}
	if err := as(t, "k8sta-test-admin").Create(context.Background(), tk); err != nil {
		t.Fatalf("cannot create the Ticket of %s: %v", path, err)
	}
}

// at is a time relative to now, as the Track's status writes it.
func at(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
