package registry

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// A Strategy picks the newest image of a repository.
type Strategy string

// The strategies, as users write them in a Track.
const (
	// SemVer picks the highest semantic version that satisfies the
	// constraint. Tags may carry a "v" prefix; pre-releases are considered
	// only when the constraint names one (">=1.0.0-0").
	SemVer Strategy = "SemVer"
	// NewestBuild picks the tag whose image config was created last. It
	// reads one image config per tag, so it reads at most DiscoveryLimit
	// new tags per poll.
	NewestBuild Strategy = "NewestBuild"
	// Lexical picks the tag that sorts last.
	Lexical Strategy = "Lexical"
	// Digest follows one mutable tag (the constraint) and reports a change
	// whenever its digest changes.
	Digest Strategy = "Digest"
)

// DefaultDiscoveryLimit is the DiscoveryLimit used when a Policy leaves it 0.
const DefaultDiscoveryLimit = 20

// MaxDiscoveryLimit bounds DiscoveryLimit: a poll reads at most this many
// manifests and image configs (each at most MaxResponseBytes).
const MaxDiscoveryLimit = 100

// A Policy says how to select an image from one repository. It mirrors
// v1alpha1.ImageSubscription; see FromImageSubscription.
type Policy struct {
	// Repository is the image repository, e.g. ghcr.io/acme/guestbook.
	Repository string
	// Strategy is SemVer (the default when empty), NewestBuild, Lexical
	// or Digest.
	Strategy Strategy
	// Constraint is a Masterminds semver constraint (SemVer, optional) or
	// the mutable tag to follow (Digest, required).
	Constraint string
	// AllowTags is a regular expression a tag must match.
	AllowTags string
	// IgnoreTags are regular expressions of tags to skip.
	IgnoreTags []string
	// Platform, e.g. linux/amd64, selects from image indexes: a tag
	// without that platform is skipped.
	Platform string
	// DiscoveryLimit bounds how many tags a poll resolves that it has not
	// resolved before (image configs read by NewestBuild, platform checks).
	// NewestBuild's first poll reads the DiscoveryLimit tags that sort
	// last (numbers compared as numbers) and never reads the older rest;
	// every tag that appears later is read. 0 means DefaultDiscoveryLimit.
	DiscoveryLimit int
}

// FromImageSubscription returns the Policy of an ImageSubscription.
func FromImageSubscription(s v1alpha1.ImageSubscription) Policy {
	return Policy{
		Repository:     s.Repository,
		Strategy:       Strategy(s.Strategy),
		Constraint:     s.Constraint,
		AllowTags:      s.AllowTags,
		IgnoreTags:     append([]string(nil), s.IgnoreTags...),
		Platform:       s.Platform,
		DiscoveryLimit: s.DiscoveryLimit,
	}
}

// Policies returns the Policies of a Subscription's images, validated. An
// invalid one is an *ImageError, which says which and why: the caller names
// the field as its user writes it.
func Policies(images []v1alpha1.ImageSubscription) ([]Policy, error) {
	ps := make([]Policy, 0, len(images))
	for i, s := range images {
		p := FromImageSubscription(s)
		if err := p.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, &ImageError{Index: i, Field: fe}
			}
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// An ImageError is an invalid image among those Policies was given.
type ImageError struct {
	// Index is the image's position in the list.
	Index int
	// Field is what is wrong with it.
	Field *FieldError
}

func (e *ImageError) Error() string { return fmt.Sprintf("image %d: %s", e.Index, e.Field) }

// Unwrap returns the *FieldError.
func (e *ImageError) Unwrap() error { return e.Field }

// A FieldError is an invalid Policy field: which, why, and the fix.
type FieldError struct {
	// Field is the path of the field in a Policy, e.g. "constraint".
	Field string
	// Value is the value as written.
	Value string
	// Reason says what is wrong with it.
	Reason string
	// Fix says what to write instead.
	Fix string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q is invalid: %s; %s", e.Field, e.Value, e.Reason, e.Fix)
}

// A tag as the distribution spec allows it.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Validate checks the Policy. It returns a *FieldError naming the first bad
// field and the fix, or nil.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

// compiled is a validated Policy, ready to filter and order tags.
type compiled struct {
	Policy
	repo       name.Repository
	strategy   Strategy
	constraint *semver.Constraints
	allow      *regexp.Regexp
	ignore     []*regexp.Regexp
	platform   *v1.Platform
	limit      int
}

func (p Policy) compile() (*compiled, error) {
	c := &compiled{Policy: p, strategy: p.Strategy, limit: p.DiscoveryLimit}
	if strings.TrimSpace(p.Repository) == "" {
		return nil, &FieldError{Field: "repository", Value: p.Repository, Reason: "it is empty", Fix: "write the image repository, e.g. ghcr.io/acme/guestbook"}
	}
	repo, err := name.NewRepository(p.Repository)
	if err != nil {
		return nil, &FieldError{Field: "repository", Value: p.Repository, Reason: err.Error(), Fix: "write the image repository without a tag or digest, e.g. ghcr.io/acme/guestbook"}
	}
	c.repo = repo

	if c.strategy == "" {
		c.strategy = SemVer
	}
	switch c.strategy {
	case SemVer:
		if p.Constraint != "" {
			cs, err := semver.NewConstraint(p.Constraint)
			if err != nil {
				return nil, &FieldError{Field: "constraint", Value: p.Constraint, Reason: err.Error(), Fix: `write a semver constraint such as ">=1.2.0 <2.0.0" or "~1.4", or leave it empty for any release`}
			}
			c.constraint = cs
		}
	case Digest:
		if p.Constraint == "" {
			return nil, &FieldError{Field: "constraint", Value: p.Constraint, Reason: "strategy Digest follows one mutable tag and none is named", Fix: `set constraint to the tag to follow, e.g. "latest"`}
		}
		if !tagRE.MatchString(p.Constraint) {
			return nil, &FieldError{Field: "constraint", Value: p.Constraint, Reason: "it is not a valid tag", Fix: `set constraint to the tag to follow, e.g. "latest" or "main"`}
		}
		if p.AllowTags != "" {
			return nil, &FieldError{Field: "allowTags", Value: p.AllowTags, Reason: "strategy Digest follows the one tag named by constraint", Fix: "remove allowTags"}
		}
		if len(p.IgnoreTags) > 0 {
			return nil, &FieldError{Field: "ignoreTags", Value: strings.Join(p.IgnoreTags, ","), Reason: "strategy Digest follows the one tag named by constraint", Fix: "remove ignoreTags"}
		}
	case NewestBuild, Lexical:
		if p.Constraint != "" {
			return nil, &FieldError{Field: "constraint", Value: p.Constraint, Reason: fmt.Sprintf("strategy %s takes no constraint", c.strategy), Fix: "remove it, and filter tags with allowTags and ignoreTags"}
		}
	default:
		return nil, &FieldError{Field: "strategy", Value: string(p.Strategy), Reason: "it is not a known strategy", Fix: "use one of SemVer, NewestBuild, Lexical or Digest"}
	}

	if p.AllowTags != "" {
		re, err := regexp.Compile(p.AllowTags)
		if err != nil {
			return nil, &FieldError{Field: "allowTags", Value: p.AllowTags, Reason: err.Error(), Fix: `write a Go regular expression, e.g. '^v?\d+\.\d+\.\d+$'`}
		}
		c.allow = re
	}
	for i, s := range p.IgnoreTags {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("ignoreTags[%d]", i), Value: s, Reason: err.Error(), Fix: `write a Go regular expression, e.g. '.*-rc.*'`}
		}
		c.ignore = append(c.ignore, re)
	}

	if p.Platform != "" {
		pl, err := v1.ParsePlatform(p.Platform)
		if err != nil || pl.OS == "" || pl.Architecture == "" || strings.Count(p.Platform, "/") > 2 {
			return nil, &FieldError{Field: "platform", Value: p.Platform, Reason: "it is not os/architecture[/variant]", Fix: "write e.g. linux/amd64 or linux/arm64/v8"}
		}
		c.platform = pl
	}

	switch {
	case p.DiscoveryLimit < 0 || p.DiscoveryLimit > MaxDiscoveryLimit:
		return nil, &FieldError{Field: "discoveryLimit", Value: fmt.Sprint(p.DiscoveryLimit), Reason: fmt.Sprintf("it is outside 1..%d", MaxDiscoveryLimit), Fix: fmt.Sprintf("leave it unset for %d, or set it between 1 and %d", DefaultDiscoveryLimit, MaxDiscoveryLimit)}
	case p.DiscoveryLimit == 0:
		c.limit = DefaultDiscoveryLimit
	}
	return c, nil
}

// key identifies what the policy selects from a repository.
func (c *compiled) key() string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%s\x00%d", c.strategy, c.Constraint, c.AllowTags, c.IgnoreTags, c.Platform, c.limit)
}

// allowed reports whether a tag passes allowTags and ignoreTags.
func (c *compiled) allowed(tag string) bool {
	if c.allow != nil && !c.allow.MatchString(tag) {
		return false
	}
	for _, re := range c.ignore {
		if re.MatchString(tag) {
			return false
		}
	}
	return true
}

// ParseVersion parses a tag as a strict semantic version
// (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]), allowing one "v" prefix. Tags
// such as "1.2", "latest" or "20240101" are not versions.
func ParseVersion(tag string) (*semver.Version, bool) {
	s := strings.TrimPrefix(tag, "v")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return nil, false
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, false
	}
	return v, true
}

// candidates returns the tags the policy may select, best first. For
// NewestBuild the order is the order in which unknown tags are read (see
// naturalLess); the pick is by created time.
func (c *compiled) candidates(tags []string) []string {
	out := make([]string, 0, len(tags))
	switch c.strategy {
	case SemVer:
		type tv struct {
			tag string
			v   *semver.Version
		}
		vs := make([]tv, 0, len(tags))
		for _, t := range tags {
			if !c.allowed(t) {
				continue
			}
			v, ok := ParseVersion(t)
			if !ok {
				continue
			}
			if c.constraint != nil {
				if !c.constraint.Check(v) {
					continue
				}
			} else if v.Prerelease() != "" {
				continue
			}
			vs = append(vs, tv{t, v})
		}
		sort.Slice(vs, func(i, j int) bool {
			if n := vs[i].v.Compare(vs[j].v); n != 0 {
				return n > 0
			}
			return vs[i].tag > vs[j].tag
		})
		for _, x := range vs {
			out = append(out, x.tag)
		}
		return out
	case Lexical:
		for _, t := range tags {
			if c.allowed(t) {
				out = append(out, t)
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(out)))
		return out
	default: // NewestBuild
		for _, t := range tags {
			if c.allowed(t) {
				out = append(out, t)
			}
		}
		sort.Slice(out, func(i, j int) bool { return naturalLess(out[j], out[i]) })
		return out
	}
}

// naturalLess orders strings with runs of digits compared as numbers, so
// that build-9 < build-10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		switch {
		case da && db:
			na, ra := digits(a)
			nb, rb := digits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
