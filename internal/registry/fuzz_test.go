package registry

import (
	"testing"
)

// FuzzSemverConstraint checks that any constraint and tag are handled
// without a panic, that SemVer candidates are versions within the
// constraint, and that pre-releases appear only when the constraint asks.
func FuzzSemverConstraint(f *testing.F) {
	for _, s := range [][2]string{
		{">=1.2.0 <2.0.0", "v1.2.3"}, {"~1.4", "1.4.7"}, {"^0.1.0-0", "0.1.0-rc.1"}, {"", "1.0.0-beta"},
		{"1.x || >=3", "3.0.0"}, {"!=1.2.3", "1.2.3"}, {">= 1.0 < 2", "latest"}, {"*", "v0.0.0"},
		{"<=9999999999999999999999.0.0", "99999999999999999999.1.1"}, {"=v1.0.0+build", "1.0.0+build.1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, constraint, tag string) {
		p := Policy{Repository: "example.com/a/b", Strategy: SemVer, Constraint: constraint}
		cp, err := p.compile()
		if err != nil {
			if _, ok := err.(*FieldError); !ok { //nolint:errorlint // compile returns it unwrapped.
				t.Fatalf("compile(): not a *FieldError: %v", err)
			}
			return
		}
		got := cp.candidates([]string{tag, "v" + tag, tag + "-rc.1"})
		for _, c := range got {
			v, ok := ParseVersion(c)
			if !ok {
				t.Fatalf("candidate %q is not a version", c)
			}
			if cp.constraint != nil && !cp.constraint.Check(v) {
				t.Fatalf("candidate %q does not satisfy %q", c, constraint)
			}
			if cp.constraint == nil && v.Prerelease() != "" {
				t.Fatalf("candidate %q is a pre-release, without a constraint", c)
			}
		}
	})
}

// FuzzPolicy checks that Validate never panics, and that a valid Policy
// orders arbitrary tags with every strategy.
func FuzzPolicy(f *testing.F) {
	f.Add("ghcr.io/acme/app", "Lexical", "", `^v?\d+`, ".*-rc.*", "linux/amd64", 3, "v1.0.0")
	f.Add("nginx", "NewestBuild", "", "", "", "linux/arm64/v8", 0, "build-10")
	f.Add("localhost:5000/a", "Digest", "latest", "", "", "", 1, "latest")
	f.Add("a/b", "SemVer", "~1", "(", "[", "x", -1, "")
	f.Fuzz(func(t *testing.T, repo, strategy, constraint, allow, ignore, platform string, limit int, tag string) {
		p := Policy{Repository: repo, Strategy: Strategy(strategy), Constraint: constraint, AllowTags: allow, Platform: platform, DiscoveryLimit: limit}
		if ignore != "" {
			p.IgnoreTags = []string{ignore}
		}
		cp, err := p.compile()
		if err != nil {
			return
		}
		if cp.limit < 1 || cp.limit > MaxDiscoveryLimit {
			t.Fatalf("limit %d out of range", cp.limit)
		}
		if cp.strategy != Digest {
			for _, c := range cp.candidates([]string{tag, tag + "1", "1.0.0"}) {
				if !cp.allowed(c) {
					t.Fatalf("candidate %q is filtered out", c)
				}
			}
		}
	})
}

// FuzzNaturalLess checks that the NewestBuild read order is a strict order.
func FuzzNaturalLess(f *testing.F) {
	f.Add("build-9", "build-10")
	f.Add("a01", "a1")
	f.Add("", "0")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := naturalLess(a, b), naturalLess(b, a)
		if ab && ba {
			t.Fatalf("%q < %q and %q < %q", a, b, b, a)
		}
		if a != b && !ab && !ba {
			t.Fatalf("%q and %q are distinct but neither is less", a, b)
		}
		if a == b && ab {
			t.Fatalf("%q < itself", a)
		}
	})
}

// FuzzNewKeychain checks that any document parses or fails without a panic.
func FuzzNewKeychain(f *testing.F) {
	f.Add([]byte(`{"auths":{"ghcr.io":{"auth":"dTpw"}}}`))
	f.Add([]byte(`{"quay.io":{"username":"u","password":"p"}}`))
	f.Add([]byte(`{"auths":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		kc, err := NewKeychain(b)
		if err != nil {
			return
		}
		r, err := parseRepo("ghcr.io/acme/app")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kc.Resolve(r); err != nil {
			t.Fatal(err)
		}
	})
}
