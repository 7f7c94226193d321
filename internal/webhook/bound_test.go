package webhook

import (
	"fmt"
	"strings"
	"testing"
)

// distributionBody is a notification of a manifest push to each of n
// repositories, registry.example.com/acme/app-<i>, each repeated times.
func distributionBody(n, times int) string {
	events := make([]string, 0, n*times)
	for range times {
		for i := range n {
			events = append(events, fmt.Sprintf(`{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"acme/app-%d","tag":"v1"},"request":{"host":"registry.example.com"}}`, i))
		}
	}
	return `{"events":[` + strings.Join(events, ",") + `]}`
}

func harborBody(n int) string {
	res := make([]string, 0, n)
	for i := range n {
		res = append(res, fmt.Sprintf(`{"resource_url":"harbor.example.com/acme/app-%d:v1"}`, i))
	}
	return `{"type":"PUSH_ARTIFACT","event_data":{"resources":[` + strings.Join(res, ",") + `]}}`
}

func bitbucketBranchesBody(n int) string {
	changes := make([]string, 0, n)
	for i := range n {
		changes = append(changes, fmt.Sprintf(`{"new":{"type":"branch","name":"b-%d"}}`, i))
	}
	return `{"push":{"changes":[` + strings.Join(changes, ",") + `]},"repository":{"links":{"html":{"href":"https://bitbucket.org/acme/app"}}}}`
}

// An event naming more repositories (or branches) than MaxEventRepositories
// is refused with a 400 that says so, so that one body cannot make every
// Subscription in a config's scope check thousands of repositories.
func TestEventRepositoryBound(t *testing.T) {
	srv, rec := newServer(t)
	tooMany := fmt.Sprintf("the payload names more than %d repositories", MaxEventRepositories)
	cases := map[string]struct {
		r      request
		code   int
		reason string
	}{
		"DistributionAtTheBound":   {r: request{kind: Distribution, body: distributionBody(MaxEventRepositories, 1)}, code: 200, reason: "ok"},
		"DistributionOverTheBound": {r: request{kind: Distribution, body: distributionBody(MaxEventRepositories+1, 1)}, code: 400, reason: tooMany},
		// Repeats of the same repositories count once.
		"DistributionRepeatsAtTheBound": {r: request{kind: Distribution, body: distributionBody(MaxEventRepositories, 4)}, code: 200, reason: "ok"},
		"HarborAtTheBound":              {r: request{kind: Harbor, body: harborBody(MaxEventRepositories)}, code: 200, reason: "ok"},
		"HarborOverTheBound":            {r: request{kind: Harbor, body: harborBody(MaxEventRepositories + 1)}, code: 400, reason: tooMany},
		"BitbucketBranchesAtTheBound":   {r: request{kind: Bitbucket, event: "repo:push", body: bitbucketBranchesBody(MaxEventRepositories)}, code: 200, reason: "ok"},
		"BitbucketBranchesOverTheBound": {r: request{kind: Bitbucket, event: "repo:push", body: bitbucketBranchesBody(MaxEventRepositories + 1)},
			code: 400, reason: fmt.Sprintf("the payload names more than %d branches", MaxEventRepositories)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec.take()
			tc.r.secret = testKey(tc.r.kind)
			code, reason := tc.r.send(t, srv)
			if code != tc.code || !strings.HasPrefix(reason, tc.reason) {
				t.Errorf("got %d %q, want %d %q...", code, reason, tc.code, tc.reason)
			}
			if got, want := len(rec.take()), map[bool]int{true: 1, false: 0}[tc.code == 200]; got != want {
				t.Errorf("notified %d events, want %d", got, want)
			}
		})
	}
}

// A 1 MiB Distribution body names over 12,000 repositories; Parse refuses
// it, and the repositories an accepted Event names are a set: each check
// against it is one lookup.
func TestParseOfAFullBody(t *testing.T) {
	n := 0
	for len(distributionBody(n+1000, 1)) < MaxBodyBytes {
		n += 1000
	}
	body := []byte(distributionBody(n, 1))
	if _, _, err := Parse(Distribution, nil, body); err == nil || !strings.Contains(err.Error(), "more than 256 repositories") {
		t.Errorf("Parse(%d repositories in %d bytes): %v, want the bound", n, len(body), err)
	}

	ev, _, err := Parse(Distribution, nil, []byte(distributionBody(MaxEventRepositories, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.repositories) != MaxEventRepositories {
		t.Fatalf("the Event's set holds %d repositories, want %d", len(ev.repositories), MaxEventRepositories)
	}
	if !ev.Matches("registry.example.com/acme/app-255:v2") || ev.Matches("registry.example.com/acme/app-256") {
		t.Error("Matches disagrees with the Event's repositories")
	}
}

// Collecting n values, however many repeat, costs n lookups: the old
// linear scan cost up to n²/2 comparisons (80 million for a 1 MiB body).
func TestUniquesIsLinear(t *testing.T) {
	const n = 12613
	var u uniques
	for i := range n {
		u.add(fmt.Sprintf("registry.example.com/acme/app-%d", i), fmt.Sprintf("registry.example.com/acme/app-%d", i/2))
	}
	if u.steps != 2*n {
		t.Errorf("collecting %d values took %d steps, want %d", 2*n, u.steps, 2*n)
	}
	if len(u.list) != n {
		t.Errorf("collected %d values, want %d", len(u.list), n)
	}
}
