// Command build builds K8sTA's runtime images without Docker or a registry, and
// checks the Crossplane packages that embed them.
//
// An image is one static linux binary on an empty base, described by an
// image.yaml under cluster/images/<name>/: the binary goes to the spec's path
// and is the entrypoint; the layer also holds what distroless/static:nonroot
// would (an /etc/passwd and /etc/group naming the nonroot user, its home,
// /tmp, and the CA bundle when the spec asks for one). Every timestamp is
// fixed, so one binary always gives one image digest.
//
//	go run ./cluster/images/build image -spec cluster/images/provider-k8sta/image.yaml \
//	    -binary _output/bin/linux_amd64/provider -version v0.1.0 -o _output/images/provider-k8sta.tar
//	go run ./cluster/images/build check -spec cluster/images/provider-k8sta/image.yaml \
//	    -kind Provider _output/xpkg/provider-k8sta-v0.1.0.xpkg
package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// OCI image annotation keys, used as config labels.
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelVersion     = "org.opencontainers.image.version"
	LabelSource      = "org.opencontainers.image.source"
	LabelRevision    = "org.opencontainers.image.revision"
)

// CACertificatesPath is where Go's crypto/x509 looks first on linux.
const CACertificatesPath = "/etc/ssl/certs/ca-certificates.crt"

// A Spec describes one runtime image (cluster/images/<name>/image.yaml).
type Spec struct {
	// Name of the image, e.g. provider-k8sta.
	Name string `json:"name"`
	// Description for the org.opencontainers.image.description label.
	Description string `json:"description,omitempty"`
	// Binary is the absolute path the binary is copied to; the entrypoint.
	Binary string `json:"binary"`
	// User is "uid:gid", both numeric.
	User string `json:"user"`
	// Platform is os/arch[/variant], e.g. linux/amd64.
	Platform string `json:"platform"`
	// Env holds KEY=VALUE pairs.
	Env []string `json:"env,omitempty"`
	// Ports are exposed ports, port/proto.
	Ports []string `json:"ports,omitempty"`
	// CACertificates: the image must carry a CA bundle at CACertificatesPath.
	CACertificates bool `json:"caCertificates,omitempty"`
}

// LoadSpec reads and validates an image.yaml.
func LoadSpec(file string) (Spec, error) {
	b, err := os.ReadFile(filepath.Clean(file))
	if err != nil {
		return Spec{}, errors.Wrap(err, "cannot read image spec")
	}
	s := Spec{}
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return Spec{}, errors.Wrapf(err, "cannot parse image spec %s", file)
	}
	return s, errors.Wrapf(s.Validate(), "invalid image spec %s", file)
}

// Validate returns an error naming the first thing wrong with the spec.
func (s Spec) Validate() error {
	if s.Name == "" {
		return errors.New("name is required")
	}
	if !path.IsAbs(s.Binary) || path.Clean(s.Binary) != s.Binary || s.Binary == "/" {
		return errors.Errorf("binary %q must be a clean absolute path", s.Binary)
	}
	if _, _, err := s.ids(); err != nil {
		return err
	}
	p, err := v1.ParsePlatform(s.Platform)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return errors.Errorf("platform %q must be os/arch[/variant]", s.Platform)
	}
	if _, ok := elfMachines[p.Architecture]; !ok || p.OS != "linux" {
		return errors.Errorf("platform %q is not supported: linux/%s only", s.Platform, strings.Join(sortedKeys(elfMachines), ", linux/"))
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return errors.Errorf("env %q must be KEY=VALUE", e)
		}
	}
	for _, port := range s.Ports {
		n, proto, ok := strings.Cut(port, "/")
		if v, err := strconv.ParseUint(n, 10, 16); !ok || err != nil || v == 0 || (proto != "tcp" && proto != "udp") {
			return errors.Errorf("port %q must be <1-65535>/tcp or /udp", port)
		}
	}
	return nil
}

// ids returns the numeric uid and gid of the spec's user.
func (s Spec) ids() (uid, gid int, err error) {
	u, g, ok := strings.Cut(s.User, ":")
	uid, uerr := strconv.Atoi(u)
	gid, gerr := strconv.Atoi(g)
	if !ok || uerr != nil || gerr != nil || uid <= 0 || gid <= 0 {
		return 0, 0, errors.Errorf("user %q must be a numeric non-root uid:gid", s.User)
	}
	return uid, gid, nil
}

// elfMachines maps a GOARCH to its ELF machine.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// Options are the inputs of one build besides the spec.
type Options struct {
	// Binary is the host path of the static linux binary.
	Binary string
	// Version for the org.opencontainers.image.version label.
	Version string
	// Source for the org.opencontainers.image.source label.
	Source string
	// Revision (git commit), for org.opencontainers.image.revision; optional.
	Revision string
	// CACertificates is the host path of a PEM CA bundle; required when the
	// spec asks for one, ignored otherwise.
	CACertificates string
	// Created is the time stamped on the image and on every file; the zero
	// value means the Unix epoch.
	Created time.Time
}

// Build returns the runtime image of spec s.
func Build(s Spec, o Options) (v1.Image, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.Version == "" {
		return nil, errors.New("a version is required")
	}
	p, _ := v1.ParsePlatform(s.Platform) // Validate parsed it.
	if err := checkBinary(o.Binary, p.Architecture); err != nil {
		return nil, err
	}
	created := o.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()

	layer, err := rootfs(s, o, created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "k8sta cluster/images/build: " + s.Binary, Comment: s.Name + " " + o.Version},
	})
	if err != nil {
		return nil, errors.Wrap(err, "cannot append the layer")
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, "cannot read the image config")
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cf.Config.Entrypoint = []string{s.Binary}
	cf.Config.Cmd = nil
	cf.Config.User = s.User
	cf.Config.WorkingDir = "/"
	cf.Config.Env = append([]string(nil), s.Env...)
	cf.Config.ExposedPorts = nil
	if len(s.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, port := range s.Ports {
			cf.Config.ExposedPorts[port] = struct{}{}
		}
	}
	cf.Config.Labels = map[string]string{
		LabelTitle:   s.Name,
		LabelVersion: o.Version,
	}
	for k, v := range map[string]string{LabelDescription: s.Description, LabelSource: o.Source, LabelRevision: o.Revision} {
		if v != "" {
			cf.Config.Labels[k] = v
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	return img, errors.Wrap(err, "cannot set the image config")
}

// checkBinary fails unless file is a statically linked ELF executable for
// goarch: a CGO or host-arch binary would not start on an empty base.
func checkBinary(file, goarch string) error {
	f, err := elf.Open(filepath.Clean(file))
	if err != nil {
		return errors.Wrapf(err, "binary %s is not an ELF executable", file)
	}
	defer func() { _ = f.Close() }()
	if want := elfMachines[goarch]; f.Machine != want {
		return errors.Errorf("binary %s is built for %s, want %s (GOARCH=%s)", file, f.Machine, want, goarch)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return errors.Errorf("binary %s is dynamically linked: build it with CGO_ENABLED=0", file)
		}
	}
	return nil
}

// entry is one file or directory of the layer.
type entry struct {
	name     string // relative, no leading slash
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
	from     string // host file to copy instead of data
}

// imageHome is the runtime user's home inside the image; nothing on the
// build host is read from or written to it.
const imageHome = "/home/nonroot"

// rootfs returns the image's single layer.
func rootfs(s Spec, o Options, created time.Time) (v1.Layer, error) {
	uid, gid, _ := s.ids() // Validate checked.
	home := imageHome
	entries := []entry{
		{name: "etc/passwd", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", uid, gid, home)},
		{name: "etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", gid)},
		{name: strings.TrimPrefix(home, "/"), mode: 0o700, uid: uid, gid: gid, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
		{name: strings.TrimPrefix(s.Binary, "/"), mode: 0o755, from: o.Binary},
	}
	if s.CACertificates {
		if o.CACertificates == "" {
			return nil, errors.Errorf("image %s needs a CA bundle: pass one (e.g. %s)", s.Name, CACertificatesPath)
		}
		entries = append(entries, entry{name: strings.TrimPrefix(CACertificatesPath, "/"), mode: 0o644, from: o.CACertificates})
	}

	// Parent directories first, each once, root-owned 0755.
	seen := map[string]bool{}
	var all []entry
	for _, e := range entries {
		var parents []string
		for d := path.Dir(e.name); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			all = append(all, entry{name: d, mode: 0o755, dir: true})
		}
		seen[e.name] = true
		all = append(all, e)
	}

	buf := &bytes.Buffer{}
	tw := tar.NewWriter(buf)
	for _, e := range all {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Format: tar.FormatPAX}
		data := e.data
		if e.from != "" {
			b, err := os.ReadFile(filepath.Clean(e.from))
			if err != nil {
				return nil, errors.Wrapf(err, "cannot read %s", e.from)
			}
			data = b
		}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, errors.Wrapf(err, "cannot write %s", e.name)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, errors.Wrapf(err, "cannot write %s", e.name)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, errors.Wrap(err, "cannot close the layer")
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	return l, errors.Wrap(err, "cannot make the layer")
}

// Write writes img as a docker-load-able tarball tagged ref, creating the
// file's directory.
func Write(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return errors.Wrapf(err, "cannot parse tag %q", ref)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return errors.Wrap(err, "cannot create the output directory")
	}
	tmp := file + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return errors.Wrapf(err, "cannot write %s", file)
	}
	return errors.Wrapf(os.Rename(tmp, file), "cannot write %s", file)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "image":
		err = imageCmd(os.Args[2:])
	case "check":
		err = checkCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  build image -spec SPEC -binary FILE -version V [-source URL] [-revision SHA] [-ca-certificates FILE] [-repository REPO] -o OUT.tar
  build check -spec SPEC -kind Provider|Function|Configuration [-want-kinds K,K] PACKAGE.xpkg`)
	os.Exit(2)
}

func imageCmd(args []string) error {
	fs := flag.NewFlagSet("image", flag.ExitOnError)
	spec := fs.String("spec", "", "the image.yaml")
	o := Options{}
	fs.StringVar(&o.Binary, "binary", "", "the static linux binary")
	fs.StringVar(&o.Version, "version", "", "the version, for the label and the tag")
	fs.StringVar(&o.Source, "source", "https://github.com/k8sta/k8sta", "the source repository, for the label")
	fs.StringVar(&o.Revision, "revision", "", "the git commit, for the label")
	fs.StringVar(&o.CACertificates, "ca-certificates", CACertificatesPath, "the CA bundle, when the spec asks for one")
	epoch := fs.Int64("created", 0, "seconds since the epoch stamped on the image and its files (SOURCE_DATE_EPOCH)")
	repo := fs.String("repository", "ghcr.io/k8sta", "the repository prefix of the tag written into the tarball")
	out := fs.String("o", "", "the tarball to write")
	_ = fs.Parse(args)
	if *spec == "" || o.Binary == "" || *out == "" || fs.NArg() != 0 {
		usage()
	}
	s, err := LoadSpec(*spec)
	if err != nil {
		return err
	}
	o.Created = time.Unix(*epoch, 0)
	img, err := Build(s, o)
	if err != nil {
		return err
	}
	if err := Write(*out, *repo+"/"+s.Name+":"+o.Version, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return errors.Wrap(err, "cannot compute the digest")
	}
	fmt.Printf("%s %s %s\n", *out, s.Name, d)
	return nil
}
