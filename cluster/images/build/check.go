package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// The xpkg format: crossplane xpkg build labels the config with
// io.crossplane.xpkg:<layer digest>=base for the layer holding package.yaml
// (crossplane push turns the labels into layer annotations).
const (
	xpkgLabelPrefix   = "io.crossplane.xpkg:"
	xpkgPackageLayer  = "base"
	xpkgStreamFile    = "package.yaml"
	metaAPIGroupShort = "meta.pkg.crossplane.io/"
)

// A Package summarizes a built .xpkg.
type Package struct {
	// Meta is the kind of the package's metadata object (Provider, ...).
	Meta string
	// MetaAPIVersion of the metadata object.
	MetaAPIVersion string
	// Name of the metadata object.
	Name string
	// Objects holds kind/name of every other object in package.yaml.
	Objects []string
	// Config of the image: the embedded runtime's, for providers and
	// functions.
	Config *v1.ConfigFile
	// Files holds the non-package files of the image with their modes.
	Files map[string]int64
}

// ReadPackage reads a .xpkg file written by crossplane xpkg build.
func ReadPackage(file string) (*Package, error) {
	img, err := tarball.ImageFromPath(filepath.Clean(file), nil)
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read package %s", file)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, "cannot read the package config")
	}
	var base []v1.Hash
	for k, v := range cf.Config.Labels {
		if d, ok := strings.CutPrefix(k, xpkgLabelPrefix); ok && v == xpkgPackageLayer {
			h, err := v1.NewHash(d)
			if err != nil {
				return nil, errors.Wrapf(err, "bad package layer label %q", k)
			}
			base = append(base, h)
		}
	}
	if len(base) != 1 {
		return nil, errors.Errorf("want exactly one layer labelled %s<digest>=%s, got %d", xpkgLabelPrefix, xpkgPackageLayer, len(base))
	}
	l, err := img.LayerByDigest(base[0])
	if err != nil {
		return nil, errors.Wrap(err, "cannot find the package layer")
	}
	stream, err := fileInLayer(l, xpkgStreamFile)
	if err != nil {
		return nil, err
	}
	p := &Package{Config: cf, Files: map[string]int64{}}
	if err := p.parse(stream); err != nil {
		return nil, err
	}

	// Every other file: the embedded runtime.
	layers, err := img.Layers()
	if err != nil {
		return nil, errors.Wrap(err, "cannot list layers")
	}
	var rt []v1.Layer
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, errors.Wrap(err, "cannot read a layer digest")
		}
		if _, ok := cf.Config.Labels[xpkgLabelPrefix+d.String()]; !ok {
			rt = append(rt, l)
		}
	}
	if len(rt) > 0 {
		rimg, err := mutate.AppendLayers(empty.Image, rt...)
		if err != nil {
			return nil, errors.Wrap(err, "cannot flatten the runtime layers")
		}
		rc := mutate.Extract(rimg)
		defer func() { _ = rc.Close() }()
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, errors.Wrap(err, "cannot read the runtime layers")
			}
			p.Files["/"+strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = h.Mode
		}
	}
	return p, nil
}

func fileInLayer(l v1.Layer, name string) ([]byte, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, errors.Wrap(err, "cannot open the package layer")
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.Errorf("no %s in the package layer", name)
		}
		if err != nil {
			return nil, errors.Wrap(err, "cannot read the package layer")
		}
		if filepath.Base(h.Name) == name {
			b, err := io.ReadAll(tr)
			return b, errors.Wrapf(err, "cannot read %s", name)
		}
	}
}

func (p *Package) parse(stream []byte) error {
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errors.Wrap(err, "cannot split package.yaml")
		}
		var o struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(doc, &o); err != nil {
			return errors.Wrap(err, "cannot parse an object of package.yaml")
		}
		switch {
		case o.Kind == "":
			continue // an empty document
		case strings.HasPrefix(o.APIVersion, metaAPIGroupShort):
			if p.Meta != "" {
				return errors.Errorf("package.yaml holds two metadata objects, %s and %s", p.Meta, o.Kind)
			}
			p.Meta, p.MetaAPIVersion, p.Name = o.Kind, o.APIVersion, o.Metadata.Name
		default:
			p.Objects = append(p.Objects, o.Kind+"/"+o.Metadata.Name)
		}
	}
	if p.Meta == "" {
		return errors.New("package.yaml holds no metadata object")
	}
	slices.Sort(p.Objects)
	return nil
}

// Kinds returns the kinds of p's objects, each once, sorted.
func (p *Package) Kinds() []string {
	ks := map[string]bool{}
	for _, o := range p.Objects {
		k, _, _ := strings.Cut(o, "/")
		ks[k] = true
	}
	return slices.Sorted(maps.Keys(ks))
}

// Expect is what a package must hold.
type Expect struct {
	Meta    string   // metadata kind
	Name    string   // metadata name
	Kinds   []string // the kinds of the other objects, sorted
	Spec    *Spec    // the embedded runtime; nil for none
	Version string   // the runtime's version label
}

// Check returns every way p differs from e.
func (p *Package) Check(e Expect) []string {
	var bad []string
	if p.Meta != e.Meta || p.Name != e.Name {
		bad = append(bad, fmt.Sprintf("metadata is %s %q, want %s %q", p.Meta, p.Name, e.Meta, e.Name))
	}
	if got := p.Kinds(); !slices.Equal(got, e.Kinds) {
		bad = append(bad, fmt.Sprintf("object kinds are %v, want %v", got, e.Kinds))
	}
	c := p.Config.Config
	if e.Spec == nil {
		if len(p.Files) > 0 || len(c.Entrypoint) > 0 {
			bad = append(bad, fmt.Sprintf("holds a runtime (entrypoint %v, %d files), want none", c.Entrypoint, len(p.Files)))
		}
		return bad
	}
	s := e.Spec
	plat := p.Config.Platform()
	if plat == nil || plat.String() != s.Platform {
		bad = append(bad, fmt.Sprintf("platform is %v, want %s", plat, s.Platform))
	}
	if !slices.Equal(c.Entrypoint, []string{s.Binary}) {
		bad = append(bad, fmt.Sprintf("entrypoint is %v, want [%s]", c.Entrypoint, s.Binary))
	}
	if c.User != s.User {
		bad = append(bad, fmt.Sprintf("user is %q, want %q", c.User, s.User))
	}
	if got, want := slices.Sorted(maps.Keys(c.ExposedPorts)), slices.Sorted(slices.Values(s.Ports)); !slices.Equal(got, want) {
		bad = append(bad, fmt.Sprintf("exposed ports are %v, want %v", got, want))
	}
	if c.Labels[LabelVersion] != e.Version {
		bad = append(bad, fmt.Sprintf("version label is %q, want %q", c.Labels[LabelVersion], e.Version))
	}
	if m, ok := p.Files[s.Binary]; !ok || m&0o111 == 0 {
		bad = append(bad, fmt.Sprintf("runtime has no executable %s", s.Binary))
	}
	return bad
}

func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	spec := fs.String("spec", "", "the runtime's image.yaml; empty for a package without a runtime")
	meta := fs.String("kind", "", "the metadata kind: Provider, Function or Configuration")
	pname := fs.String("name", "", "the metadata name")
	kinds := fs.String("want-kinds", "", "comma-separated kinds of the other objects; empty for none")
	version := fs.String("version", "", "the runtime's version label")
	_ = fs.Parse(args)
	if *meta == "" || *pname == "" || fs.NArg() != 1 {
		usage()
	}
	file := fs.Arg(0)
	e := Expect{Meta: *meta, Name: *pname, Version: *version}
	if *kinds != "" {
		e.Kinds = strings.Split(*kinds, ",")
		slices.Sort(e.Kinds)
	}
	if *spec != "" {
		s, err := LoadSpec(*spec)
		if err != nil {
			return err
		}
		e.Spec = &s
	}
	p, err := ReadPackage(file)
	if err != nil {
		return err
	}
	if bad := p.Check(e); len(bad) > 0 {
		return errors.Errorf("%s:\n  %s", file, strings.Join(bad, "\n  "))
	}
	fi, err := os.Stat(file)
	if err != nil {
		return errors.Wrap(err, "cannot stat the package")
	}
	c := p.Config.Config
	fmt.Printf("%s: %s %s (%s), %s, %d objects %v", file, p.Meta, p.Name, p.MetaAPIVersion, humanSize(fi.Size()), len(p.Objects), p.Kinds())
	if e.Spec != nil {
		fmt.Printf(", runtime %s %v user %s ports %v", p.Config.Platform(), c.Entrypoint, c.User, slices.Sorted(maps.Keys(c.ExposedPorts)))
	}
	fmt.Println()
	return nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
