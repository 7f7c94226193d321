package main

import (
	"archive/tar"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/k8sta/k8sta/internal/testing/kubeenv"
)

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyPath string
	tinyErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tinyDir != "" {
		_ = os.RemoveAll(tinyDir)
	}
	os.Exit(code)
}

// tinyBinary builds (once) a static linux/amd64 Go program that does nothing.
func tinyBinary(t *testing.T) string {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "k8sta-tiny-")
		if err != nil {
			tinyErr = err
			return
		}
		tinyDir = dir
		src := filepath.Join(dir, "src")
		if err := os.MkdirAll(src, 0o750); err != nil {
			tinyErr = err
			return
		}
		_ = os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o600)
		_ = os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600)
		tinyPath = filepath.Join(dir, "tiny")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tinyPath, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			tinyErr = errors.New(string(out))
		}
	})
	if tinyErr != nil {
		t.Fatalf("cannot build a tiny binary: %v", tinyErr)
	}
	return tinyPath
}

// patched copies the tiny binary into dir with f applied to its bytes.
func patched(t *testing.T, dir string, f func(b []byte)) string {
	t.Helper()
	b, err := os.ReadFile(tinyBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	f(b)
	p := filepath.Join(dir, "patched")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// asArm64 rewrites e_machine, as if the binary were built for arm64.
func asArm64(b []byte) { binary.LittleEndian.PutUint16(b[18:], 183) }

// asDynamic turns the first PT_NOTE program header into a PT_INTERP, as a
// dynamically linked binary has.
func asDynamic(b []byte) {
	off := binary.LittleEndian.Uint64(b[32:])
	size := uint64(binary.LittleEndian.Uint16(b[54:]))
	n := uint64(binary.LittleEndian.Uint16(b[56:]))
	for i := range n {
		p := off + i*size
		if binary.LittleEndian.Uint32(b[p:]) == 4 { // PT_NOTE
			binary.LittleEndian.PutUint32(b[p:], 3) // PT_INTERP
			return
		}
	}
	panic("no PT_NOTE")
}

func mustSpec(t *testing.T, name string) Spec {
	t.Helper()
	s, err := LoadSpec(filepath.Join("..", name, "image.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// file is what a test knows of a file in the layer.
type file struct {
	Mode     int64
	UID, GID int
	Size     int64
}

func layerFiles(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	got := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		f := file{Mode: h.Mode, UID: h.Uid, GID: h.Gid}
		if h.Typeflag == tar.TypeReg {
			f.Size = h.Size
		}
		got["/"+strings.TrimSuffix(h.Name, "/")] = f
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	caPEM := "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(ca, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	tiny := tinyBinary(t)
	st, err := os.Stat(tiny)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	base := Options{Binary: tiny, Version: "v1.2.3", Source: "https://github.com/k8sta/k8sta", Revision: "abc123", CACertificates: ca, Created: created}
	withOpts := func(f func(o *Options)) Options { o := base; f(&o); return o }
	withSpec := func(s Spec, f func(s *Spec)) Spec { f(&s); return s }
	provider, function := mustSpec(t, "provider-k8sta"), mustSpec(t, "function-k8sta")

	nonroot := map[string]file{
		"/etc":           {Mode: 0o755},
		"/etc/passwd":    {Mode: 0o644, Size: int64(len("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))},
		"/etc/group":     {Mode: 0o644, Size: int64(len("root:x:0:\nnonroot:x:65532:\n"))},
		"/home":          {Mode: 0o755},
		"/home/nonroot":  {Mode: 0o700, UID: 65532, GID: 65532},
		"/tmp":           {Mode: 0o1777},
		"/usr":           {Mode: 0o755},
		"/usr/local":     {Mode: 0o755},
		"/usr/local/bin": {Mode: 0o755},
	}
	plus := func(m map[string]file, more map[string]file) map[string]file {
		out := map[string]file{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	labels := func(title, desc string) map[string]string {
		return map[string]string{
			LabelTitle: title, LabelDescription: desc, LabelVersion: "v1.2.3",
			LabelSource: "https://github.com/k8sta/k8sta", LabelRevision: "abc123",
		}
	}

	type want struct {
		config   v1.Config
		platform string
		files    map[string]file
		err      string // a substring of the error; empty for none
	}
	cases := map[string]struct {
		spec Spec
		opts Options
		want want
	}{
		"Provider": {
			spec: provider,
			opts: base,
			want: want{
				config: v1.Config{
					Entrypoint: []string{"/usr/local/bin/provider"},
					User:       "65532:65532",
					WorkingDir: "/",
					Env:        []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"},
					ExposedPorts: map[string]struct{}{
						"8080/tcp": {}, "8081/tcp": {}, "8090/tcp": {},
					},
					Labels: labels("provider-k8sta", provider.Description),
				},
				platform: "linux/amd64",
				files: plus(nonroot, map[string]file{
					"/usr/local/bin/provider":            {Mode: 0o755, Size: st.Size()},
					"/etc/ssl":                           {Mode: 0o755},
					"/etc/ssl/certs":                     {Mode: 0o755},
					"/etc/ssl/certs/ca-certificates.crt": {Mode: 0o644, Size: int64(len(caPEM))},
				}),
			},
		},
		"FunctionNeedsNoCABundle": {
			spec: function,
			opts: withOpts(func(o *Options) { o.CACertificates = ""; o.Revision = "abc123" }),
			want: want{
				config: v1.Config{
					Entrypoint:   []string{"/usr/local/bin/function"},
					User:         "65532:65532",
					WorkingDir:   "/",
					Env:          []string{"PATH=/usr/local/bin", "HOME=/home/nonroot"},
					ExposedPorts: map[string]struct{}{"9443/tcp": {}, "8080/tcp": {}},
					Labels:       labels("function-k8sta", function.Description),
				},
				platform: "linux/amd64",
				files:    plus(nonroot, map[string]file{"/usr/local/bin/function": {Mode: 0o755, Size: st.Size()}}),
			},
		},
		"OtherUserAndNoOptionalLabels": {
			spec: withSpec(function, func(s *Spec) { s.User = "1000:2000"; s.Description = ""; s.Ports = nil; s.Env = nil }),
			opts: withOpts(func(o *Options) { o.Source, o.Revision = "", "" }),
			want: want{
				config: v1.Config{
					Entrypoint: []string{"/usr/local/bin/function"},
					User:       "1000:2000",
					WorkingDir: "/",
					Labels:     map[string]string{LabelTitle: "function-k8sta", LabelVersion: "v1.2.3"},
				},
				platform: "linux/amd64",
				files: plus(nonroot, map[string]file{
					"/etc/passwd":             {Mode: 0o644, Size: int64(len("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:1000:2000:nonroot:/home/nonroot:/sbin/nologin\n"))},
					"/etc/group":              {Mode: 0o644, Size: int64(len("root:x:0:\nnonroot:x:2000:\n"))},
					"/home/nonroot":           {Mode: 0o700, UID: 1000, GID: 2000},
					"/usr/local/bin/function": {Mode: 0o755, Size: st.Size()},
				}),
			},
		},
		"CABundleMissing": {
			spec: provider,
			opts: withOpts(func(o *Options) { o.CACertificates = "" }),
			want: want{err: "needs a CA bundle"},
		},
		"NoVersion": {
			spec: provider,
			opts: withOpts(func(o *Options) { o.Version = "" }),
			want: want{err: "a version is required"},
		},
		"NotELF": {
			spec: function,
			opts: withOpts(func(o *Options) { o.Binary = ca }),
			want: want{err: "is not an ELF executable"},
		},
		"WrongArchitecture": {
			spec: function,
			opts: withOpts(func(o *Options) { o.Binary = patched(t, t.TempDir(), asArm64) }),
			want: want{err: "is built for EM_AARCH64, want EM_X86_64"},
		},
		"DynamicallyLinked": {
			spec: function,
			opts: withOpts(func(o *Options) { o.Binary = patched(t, t.TempDir(), asDynamic) }),
			want: want{err: "is dynamically linked"},
		},
		"RootUser": {
			spec: withSpec(function, func(s *Spec) { s.User = "0:0" }),
			opts: base,
			want: want{err: "must be a numeric non-root uid:gid"},
		},
		"UnsupportedPlatform": {
			spec: withSpec(function, func(s *Spec) { s.Platform = "windows/amd64" }),
			opts: base,
			want: want{err: "is not supported"},
		},
		"BadPort": {
			spec: withSpec(function, func(s *Spec) { s.Ports = []string{"99999/tcp"} }),
			opts: base,
			want: want{err: "must be <1-65535>/tcp"},
		},
		"RelativeBinaryPath": {
			spec: withSpec(function, func(s *Spec) { s.Binary = "usr/local/bin/function" }),
			opts: base,
			want: want{err: "must be a clean absolute path"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img, err := Build(tc.spec, tc.opts)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("Build(...): got error %v, want one containing %q", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build(...): %v", err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want.config, cf.Config); diff != "" {
				t.Errorf("config: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.want.platform, cf.Platform().String()); diff != "" {
				t.Errorf("platform: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(created, cf.Created.UTC()); diff != "" {
				t.Errorf("created: -want, +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.want.files, layerFiles(t, img)); diff != "" {
				t.Errorf("files: -want, +got:\n%s", diff)
			}
		})
	}
}

// TestWriteIsReproducible writes the same image twice and reads it back as
// crossplane xpkg build's --embed-runtime-image-tarball does.
func TestWriteIsReproducible(t *testing.T) {
	s := mustSpec(t, "function-k8sta")
	o := Options{Binary: tinyBinary(t), Version: "v0.0.0-gabc1234-dirty"}
	dir := t.TempDir()
	var digests []v1.Hash
	for i := range 2 {
		img, err := Build(s, o)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out", string(rune('a'+i))+".tar")
		if err := Write(out, "ghcr.io/k8sta/function-k8sta:"+o.Version, img); err != nil {
			t.Fatal(err)
		}
		back, err := tarball.ImageFromPath(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := back.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		cf, err := back.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(time.Unix(0, 0).UTC(), cf.Created.UTC()); diff != "" {
			t.Errorf("created: -want, +got:\n%s", diff)
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of one binary differ: %s, %s", digests[0], digests[1])
	}
	if err := Write(filepath.Join(dir, "bad.tar"), "not a tag!", nil); err == nil {
		t.Error("Write with a bad tag: got no error")
	}
}

// TestPackages builds the three packages with the real crossplane CLI from
// this repository's package directories, as `make xpkg` does, around a tiny
// runtime, and checks what each holds. It also proves why the provider's
// package root is staged: xpkg build walks every subdirectory of
// --package-root, so package/ itself holds more than one package.
func TestPackages(t *testing.T) {
	cli := os.Getenv("CROSSPLANE_CLI")
	if cli == "" {
		if kubeenv.Required() {
			t.Fatal("CROSSPLANE_CLI is not set: set it to the output of hack/crossplane-cli.sh")
		}
		t.Skip("CROSSPLANE_CLI is not set: CROSSPLANE_CLI=$(hack/crossplane-cli.sh) runs this test")
	}
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noExamples := filepath.Join(dir, "no-examples")
	runtimes := map[string]string{}
	specs := map[string]Spec{}
	for _, n := range []string{"provider-k8sta", "function-k8sta"} {
		specs[n] = mustSpec(t, n)
		img, err := Build(specs[n], Options{Binary: tinyBinary(t), Version: "v9.9.9", CACertificates: "/dev/null"})
		if err != nil {
			t.Fatal(err)
		}
		runtimes[n] = filepath.Join(dir, n+".tar")
		if err := Write(runtimes[n], "ghcr.io/k8sta/"+n+":v9.9.9", img); err != nil {
			t.Fatal(err)
		}
	}

	// The provider's staged root: its crossplane.yaml and the generated CRDs.
	stage := filepath.Join(dir, "provider")
	if err := os.MkdirAll(filepath.Join(stage, "crds"), 0o750); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(repo, "package", "provider", "crossplane.yaml"), filepath.Join(stage, "crossplane.yaml"))
	crds, err := filepath.Glob(filepath.Join(repo, "package", "crds", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in package/crds (%v): run make generate", err)
	}
	var wantCRDs []string
	for _, c := range crds {
		copyFile(t, c, filepath.Join(stage, "crds", filepath.Base(c)))
		wantCRDs = append(wantCRDs, "CustomResourceDefinition/"+crdName(filepath.Base(c)))
	}

	provider, function := specs["provider-k8sta"], specs["function-k8sta"]
	cases := map[string]struct {
		root    string
		runtime string
		want    Expect
		objects []string // nil: not compared
		err     string   // a substring of xpkg build's output on failure
	}{
		"Provider": {
			root: stage, runtime: runtimes["provider-k8sta"],
			want:    Expect{Meta: "Provider", Name: "provider-k8sta", Kinds: []string{"CustomResourceDefinition"}, Spec: &provider, Version: "v9.9.9"},
			objects: wantCRDs,
		},
		"Function": {
			root: filepath.Join(repo, "package", "function"), runtime: runtimes["function-k8sta"],
			want:    Expect{Meta: "Function", Name: "function-k8sta", Spec: &function, Version: "v9.9.9"},
			objects: []string{},
		},
		"Configuration": {
			root: filepath.Join(repo, "package", "configuration"),
			want: Expect{Meta: "Configuration", Name: "configuration-k8sta", Kinds: []string{"CompositeResourceDefinition", "Composition"}},
		},
		"PackageDirectoryIsNotOnePackage": {
			root: filepath.Join(repo, "package"), runtime: runtimes["provider-k8sta"],
			err: "not exactly one package meta type",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+".xpkg")
			args := []string{"xpkg", "build", "--package-root=" + tc.root, "--examples-root=" + noExamples, "-o", out}
			if tc.runtime != "" {
				args = append(args, "--embed-runtime-image-tarball="+tc.runtime)
			}
			cmdOut, err := exec.Command(cli, args...).CombinedOutput()
			if tc.err != "" {
				if err == nil || !strings.Contains(string(cmdOut), tc.err) {
					t.Fatalf("crossplane %v: got error %v (%s), want output containing %q", args, err, cmdOut, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("crossplane %v: %v\n%s", args, err, cmdOut)
			}
			p, err := ReadPackage(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string(nil), p.Check(tc.want)); diff != "" {
				t.Errorf("Check: -want, +got:\n%s", diff)
			}
			if tc.objects != nil {
				if diff := cmp.Diff(tc.objects, append([]string{}, p.Objects...)); diff != "" {
					t.Errorf("objects: -want, +got:\n%s", diff)
				}
			}
		})
	}
}

// crdName turns provider.k8sta.io_tickets.yaml into tickets.provider.k8sta.io.
func crdName(file string) string {
	group, plural, _ := strings.Cut(strings.TrimSuffix(file, ".yaml"), "_")
	return plural + "." + group
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
