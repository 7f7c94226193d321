package kubectlk8sta

import (
	"strings"
	"testing"
	"time"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// Changes of the fixtures: image changes v1.2.1 to v1.2.4 of guestbook, and
// commit-only changes of shop.
const (
	c1 = "1a1a1a1a1a1a"
	c2 = "2b2b2b2b2b2b"
	c3 = "3c3c3c3c3c3c"
	c4 = "4d4d4d4d4d4d"
	g2 = "9e9e9e9e9e9e"
	g3 = "af0af0af0af0"

	commit1  = "1111111111111111111111111111111111111aaa"
	commit2  = "2222222222222222222222222222222222222bbb"
	commit3  = "3333333333333333333333333333333333333ccc"
	commitG2 = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
	commitG3 = "a0b1c2d3e4f5061728394a5b6c7d8e9f00112233"
)

const day = 24 * time.Hour

// linear creates Track guestbook, dev → int → prod, prod's approval
// Manual: dev delivers v1.2.4 (known only from its Ticket), int verified
// v1.2.3, and prod, at v1.2.2, holds v1.2.3 back until it is approved.
func linear(t *testing.T, ns string) {
	t.Helper()
	createTrack(t, ns, `
metadata: {name: guestbook}
spec:
  repo: {url: https://git.example.com/acme/guestbook-config.git}
  subscriptions: {images: [{repository: ghcr.io/acme/guestbook}]}
  stations:
  - {name: dev, overlay: overlays/dev, applications: [{name: guestbook-dev}]}
  - {name: int, overlay: overlays/int, applications: [{name: guestbook-int}]}
  - {name: prod, overlay: overlays/prod, approval: Manual, applications: [{name: guestbook-prod}]}
`, strings.NewReplacer(
		"$now", at(0), "$2m", at(-2*time.Minute), "$1h", at(-time.Hour), "$3h", at(-3*time.Hour),
		"$1d", at(-day), "$2d", at(-2*day), "$5d", at(-5*day),
	).Replace(`
conditions:
- {type: Valid, status: "True", reason: Valid, lastTransitionTime: "$5d"}
- {type: Promoted, status: "False", reason: AwaitingApproval, message: "prod: waits for approval of change `+c3+`", lastTransitionTime: "$1h"}
stations:
- path: dev
  change: `+c4+`
  phase: Delivering
  since: "$2m"
  history:
  - {change: `+c3+`, commit: `+commit3+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.3}], verifiedAt: "$3h"}
  - {change: `+c2+`, commit: `+commit2+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.2}], verifiedAt: "$2d"}
  - {change: `+c1+`, commit: `+commit1+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.1}], verifiedAt: "$5d"}
- path: int
  change: `+c3+`
  phase: Verified
  since: "$1h"
  history:
  - {change: `+c3+`, commit: `+commit3+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.3}], verifiedAt: "$1h"}
  - {change: `+c2+`, commit: `+commit2+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.2}], verifiedAt: "$2d"}
- path: prod
  change: `+c2+`
  phase: Verified
  since: "$1d"
  next: `+c3+`
  heldBy: Approval
  message: "waits for approval of change `+c3+`"
  history:
  - {change: `+c2+`, commit: `+commit2+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.2}], discoveredAt: "$5d", verifiedAt: "$1d"}
  - {change: `+c1+`, commit: `+commit1+`, images: [{repository: ghcr.io/acme/guestbook, tag: v1.2.1}], discoveredAt: "$5d", verifiedAt: "$5d"}
`))
	createTicket(t, ns, "guestbook", "dev", v1alpha1.Change{ID: c4, Commit: commit3,
		Images: []v1alpha1.Image{{Repository: "ghcr.io/acme/guestbook", Tag: "v1.2.4"}}})
}

// junction creates Track shop, dev → regions, a junction without
// Applications feeding sections us (station us) and eu (canary → prod),
// and the two section Tracks. Changes are commits. A deny window holds the
// newest change back from us, and eu's canary failed it, in words that try
// to drive the terminal.
func junction(t *testing.T, ns string) {
	t.Helper()
	createTrack(t, ns, `
metadata: {name: us}
spec:
  repo: {url: https://git.example.com/acme/shop-config.git}
  stations:
  - {name: us, overlay: overlays/us, applications: [{name: shop-us}]}
`, `
conditions:
- {type: Valid, status: "True", reason: Section, message: "Track us has no subscriptions: it is a section", lastTransitionTime: "`+at(-5*day)+`"}
`)
	createTrack(t, ns, `
metadata: {name: eu}
spec:
  repo: {url: https://git.example.com/acme/shop-config.git}
  stations:
  - {name: canary, overlay: overlays/eu-canary, applications: [{name: shop-eu-canary}]}
  - {name: prod, overlay: overlays/eu, applications: [{name: shop-eu}]}
`, `
conditions:
- {type: Valid, status: "True", reason: Section, message: "Track eu has no subscriptions: it is a section", lastTransitionTime: "`+at(-5*day)+`"}
`)
	createTrack(t, ns, `
metadata: {name: shop}
spec:
  repo: {url: https://git.example.com/acme/shop-config.git}
  subscriptions: {git: {}}
  windows:
  - {name: release-freeze, kind: deny, schedule: "0 12 * * 1", duration: 3h, stations: [us]}
  stations:
  - {name: dev, overlay: overlays/dev, applications: [{name: shop-dev}]}
  - {name: regions, tracks: [us, eu]}
`, strings.NewReplacer(
		"$10m", at(-10*time.Minute), "$20m", at(-20*time.Minute), "$30m", at(-30*time.Minute),
		"$1d", at(-day), "$5d", at(-5*day), "$in3h", at(3*time.Hour),
	).Replace(`
conditions:
- {type: Valid, status: "True", reason: Valid, lastTransitionTime: "$5d"}
- {type: Promoted, status: "False", reason: Halted, message: "regions.eu.canary: Application shop-eu-canary is Degraded: \u001b[2J\u001b[31mcontainer crashed\u001b[0m; regions.us.us: deny window \"release-freeze\" until 2026-06-01T15:00Z", lastTransitionTime: "$20m"}
stations:
- path: dev
  change: `+g3+`
  phase: Verified
  since: "$30m"
  history:
  - {change: `+g3+`, commit: `+commitG3+`, verifiedAt: "$30m"}
  - {change: `+g2+`, commit: `+commitG2+`, verifiedAt: "$1d"}
- path: regions.us.us
  change: `+g2+`
  phase: Verified
  since: "$1d"
  next: `+g3+`
  heldBy: Window
  until: "$in3h"
  message: "deny window \"release-freeze\" until 2026-06-01T15:00Z"
  history:
  - {change: `+g2+`, commit: `+commitG2+`, verifiedAt: "$1d"}
- path: regions.eu.canary
  change: `+g3+`
  phase: Failed
  since: "$20m"
  message: "Application shop-eu-canary is Degraded: \u001b[2J\u001b[31mcontainer crashed\u001b[0m"
  history:
  - {change: `+g2+`, commit: `+commitG2+`, verifiedAt: "$1d"}
- path: regions.eu.prod
  change: `+g2+`
  phase: Verified
  since: "$1d"
  history:
  - {change: `+g2+`, commit: `+commitG2+`, verifiedAt: "$1d"}
`))
}
