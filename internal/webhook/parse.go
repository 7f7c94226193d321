package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/internal/repourl"
)

// A BadRequestError is a malformed webhook: the Receiver answers 400 with
// its text.
type BadRequestError struct{ Reason string }

func (e *BadRequestError) Error() string { return e.Reason }

func bad(format string, args ...any) error {
	return &BadRequestError{Reason: fmt.Sprintf(format, args...)}
}

// Parse reads a webhook body of a Kind. It returns the Event (without ID),
// or a reason to ignore an authenticated event that is not ours, or a
// *BadRequestError. It does not authenticate.
func Parse(kind Kind, h http.Header, body []byte) (Event, string, error) {
	var (
		ev      Event
		ignored string
		err     error
	)
	switch kind {
	case DockerHub:
		ev, ignored, err = parseDockerHub(body)
	case GHCR:
		ev, ignored, err = parseGHCR(h, body)
	case Harbor:
		ev, ignored, err = parseHarbor(body)
	case Quay:
		ev, ignored, err = parseQuay(body)
	case Distribution:
		ev, ignored, err = parseDistribution(body)
	case GitHub:
		ev, ignored, err = parseGitHub(h, body)
	case GitLab:
		ev, ignored, err = parseGitLab(h, body)
	case Gitea:
		ev, ignored, err = parseGitea(h, body)
	case Bitbucket:
		ev, ignored, err = parseBitbucket(h, body)
	default:
		return Event{}, "", bad("unknown webhook kind %q", kind)
	}
	if err != nil || ignored != "" {
		return Event{}, ignored, err
	}
	if len(ev.Repositories) == 0 {
		return Event{}, "", bad("the payload names no repository")
	}
	if len(ev.Repositories) > MaxEventRepositories {
		return Event{}, "", errTooManyRepositories
	}
	if len(ev.Branches) > MaxEventRepositories {
		return Event{}, "", errTooManyBranches
	}
	ev.Kind = kind
	ev.index()
	return ev, "", nil
}

// MaxEventRepositories bounds the repositories, and the branches, one event
// may name. Every Subscription a config's webhook reaches is checked against
// the event, so without a bound one 1 MiB body naming 12,000 repositories
// costs every Subscription in scope that many checks. A push names one
// repository (a few URL forms of it); a registry batching its notifications
// names a few.
const MaxEventRepositories = 256

var (
	errTooManyRepositories = bad("the payload names more than %d repositories: configure the sender to deliver fewer events per request", MaxEventRepositories)
	errTooManyBranches     = bad("the payload names more than %d branches: push fewer branches at once", MaxEventRepositories)
)

// decode reads JSON strictly enough: one object, no trailing data.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return bad("malformed JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return bad("malformed JSON: field %q has the wrong type", te.Field)
		default:
			return bad("malformed JSON")
		}
	}
	if d.More() {
		return bad("malformed JSON: data after the object")
	}
	return nil
}

// image normalizes an image repository, or "" for nonsense.
func image(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return NormalizeImageRepository(s)
}

// gitURL is a git URL's repourl.MatchKey, or "" for nonsense.
func gitURL(s string) string {
	return repourl.MatchKey(s)
}

// Docker Hub: https://docs.docker.com/docker-hub/repos/manage/webhooks/
func parseDockerHub(body []byte) (Event, string, error) {
	var p struct {
		PushData *struct {
			Tag string `json:"tag"`
		} `json:"push_data"`
		Repository struct {
			RepoName string `json:"repo_name"`
		} `json:"repository"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.PushData == nil {
		return Event{}, "", bad("not a Docker Hub push: no push_data")
	}
	if p.Repository.RepoName == "" {
		return Event{}, "", bad("missing repository.repo_name")
	}
	return Event{Repositories: unique(image("docker.io/" + p.Repository.RepoName))}, "", nil
}

// GHCR: a GitHub "package" (or legacy "registry_package") event.
// https://docs.github.com/en/webhooks/webhook-events-and-payloads#package
func parseGHCR(h http.Header, body []byte) (Event, string, error) {
	switch e := h.Get("X-GitHub-Event"); e {
	case "package", "registry_package":
	case "ping":
		return Event{}, "ping", nil
	case "":
		return Event{}, "", bad("missing X-GitHub-Event header")
	default:
		return Event{}, fmt.Sprintf("event %q is not a package event", e), nil
	}
	type pkg struct {
		Name        string `json:"name"`
		PackageType string `json:"package_type"`
		Owner       struct {
			Login string `json:"login"`
		} `json:"owner"`
		PackageVersion struct {
			PackageURL string `json:"package_url"`
		} `json:"package_version"`
		Registry struct {
			URL string `json:"url"`
		} `json:"registry"`
	}
	var p struct {
		Action          string `json:"action"`
		Package         *pkg   `json:"package"`
		RegistryPackage *pkg   `json:"registry_package"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	k := p.Package
	if k == nil {
		k = p.RegistryPackage
	}
	if k == nil {
		return Event{}, "", bad("missing package")
	}
	if !strings.EqualFold(k.PackageType, "container") {
		return Event{}, fmt.Sprintf("package type %q is not a container", k.PackageType), nil
	}
	if p.Action != "published" && p.Action != "updated" {
		return Event{}, fmt.Sprintf("package action %q is not a publish", p.Action), nil
	}
	var repos uniques
	if u := k.PackageVersion.PackageURL; u != "" {
		repos.add(image(u))
	}
	if k.Name != "" && k.Owner.Login != "" {
		host := "ghcr.io"
		if u, err := url.Parse(k.Registry.URL); err == nil && u.Host != "" {
			host = u.Host
		}
		repos.add(image(host + "/" + k.Owner.Login + "/" + k.Name))
	}
	if len(repos.list) == 0 {
		return Event{}, "", bad("missing package.name, package.owner.login and package.package_version.package_url")
	}
	return Event{Repositories: repos.list}, "", nil
}

// Harbor: https://goharbor.io/docs/main/working-with-projects/project-configuration/configure-webhooks/
func parseHarbor(body []byte) (Event, string, error) {
	var p struct {
		Type      string `json:"type"`
		EventData *struct {
			Resources []struct {
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
			Repository struct {
				RepoFullName string `json:"repo_full_name"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.Type == "" {
		return Event{}, "", bad("missing type")
	}
	if p.Type != "PUSH_ARTIFACT" {
		return Event{}, fmt.Sprintf("event type %q is not PUSH_ARTIFACT", p.Type), nil
	}
	if p.EventData == nil {
		return Event{}, "", bad("missing event_data")
	}
	var repos uniques
	for _, r := range p.EventData.Resources {
		if strings.Contains(r.ResourceURL, "/") {
			repos.add(image(r.ResourceURL))
		}
		if repos.over() {
			return Event{}, "", errTooManyRepositories
		}
	}
	if len(repos.list) == 0 {
		return Event{}, "", bad("missing event_data.resources[].resource_url")
	}
	return Event{Repositories: repos.list}, "", nil
}

// Quay: https://docs.quay.io/guides/notifications.html (repository push)
func parseQuay(body []byte) (Event, string, error) {
	var p struct {
		DockerURL   string    `json:"docker_url"`
		UpdatedTags *[]string `json:"updated_tags"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.DockerURL == "" {
		return Event{}, "", bad("missing docker_url")
	}
	if p.UpdatedTags == nil {
		return Event{}, "not a repository push: no updated_tags", nil
	}
	return Event{Repositories: unique(image(p.DockerURL))}, "", nil
}

// OCI distribution notifications: https://distribution.github.io/distribution/about/notifications/
func parseDistribution(body []byte) (Event, string, error) {
	var p struct {
		Events *[]struct {
			Action string `json:"action"`
			Target struct {
				MediaType  string `json:"mediaType"`
				Repository string `json:"repository"`
				Tag        string `json:"tag"`
				URL        string `json:"url"`
			} `json:"target"`
			Request struct {
				Host string `json:"host"`
			} `json:"request"`
		} `json:"events"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.Events == nil {
		return Event{}, "", bad("missing events")
	}
	var repos uniques
	for _, e := range *p.Events {
		if e.Action != "push" || e.Target.Repository == "" {
			continue
		}
		mt := e.Target.MediaType
		if e.Target.Tag == "" && !strings.Contains(mt, "manifest") && !strings.Contains(mt, "index") {
			continue // a blob
		}
		host := e.Request.Host
		if host == "" {
			if u, err := url.Parse(e.Target.URL); err == nil {
				host = u.Host
			}
		}
		if host == "" {
			return Event{}, "", bad("event for %q names no registry host (request.host or target.url)", e.Target.Repository)
		}
		repos.add(image(host + "/" + e.Target.Repository))
		if repos.over() {
			return Event{}, "", errTooManyRepositories
		}
	}
	if len(repos.list) == 0 {
		return Event{}, "no manifest push among the events", nil
	}
	return Event{Repositories: repos.list}, "", nil
}

const zeroSHA = "0000000000000000000000000000000000000000"

// bareBranch is a branch name as a payload gives it, without "refs/heads/",
// or "" when it names no branch (an empty name, another kind of ref).
func bareBranch(name string) string {
	name = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "refs/heads/"))
	if strings.HasPrefix(name, "refs/") {
		return ""
	}
	return name
}

// branchOf returns the branch of a ref, or a reason to ignore it.
func branchOf(ref string) (string, string) {
	switch {
	case strings.HasPrefix(ref, "refs/heads/") && len(ref) > len("refs/heads/"):
		return strings.TrimPrefix(ref, "refs/heads/"), ""
	case strings.HasPrefix(ref, "refs/tags/"):
		return "", "a tag push"
	default:
		return "", fmt.Sprintf("ref %q is not a branch", ref)
	}
}

// GitHub push: https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
func parseGitHub(h http.Header, body []byte) (Event, string, error) {
	switch e := h.Get("X-GitHub-Event"); e {
	case "push":
	case "ping":
		return Event{}, "ping", nil
	case "":
		return Event{}, "", bad("missing X-GitHub-Event header")
	default:
		return Event{}, fmt.Sprintf("event %q is not a push", e), nil
	}
	return parseGitPush(body)
}

// Gitea (and Forgejo) push: the GitHub shape.
// https://docs.gitea.com/usage/webhooks
func parseGitea(h http.Header, body []byte) (Event, string, error) {
	e := h.Get("X-Gitea-Event")
	if e == "" {
		e = h.Get("X-Forgejo-Event")
	}
	switch e {
	case "push":
	case "":
		return Event{}, "", bad("missing X-Gitea-Event header")
	default:
		return Event{}, fmt.Sprintf("event %q is not a push", e), nil
	}
	return parseGitPush(body)
}

// parseGitPush reads the GitHub/Gitea push shape.
func parseGitPush(body []byte) (Event, string, error) {
	var p struct {
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Deleted    bool   `json:"deleted"`
		Repository *struct {
			HTMLURL  string `json:"html_url"`
			CloneURL string `json:"clone_url"`
			SSHURL   string `json:"ssh_url"`
		} `json:"repository"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.Repository == nil {
		return Event{}, "", bad("missing repository")
	}
	if p.Ref == "" {
		return Event{}, "", bad("missing ref")
	}
	branch, ignored := branchOf(p.Ref)
	if ignored != "" {
		return Event{}, ignored, nil
	}
	if p.Deleted || p.After == zeroSHA {
		return Event{}, "a deleted branch", nil
	}
	r := p.Repository
	return Event{
		Repositories: unique(gitURL(r.HTMLURL), gitURL(r.CloneURL), gitURL(r.SSHURL)),
		Branches:     []string{branch},
	}, "", nil
}

// GitLab push: https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events
func parseGitLab(h http.Header, body []byte) (Event, string, error) {
	switch e := h.Get("X-Gitlab-Event"); e {
	case "Push Hook", "System Hook":
	case "":
		return Event{}, "", bad("missing X-Gitlab-Event header")
	default:
		return Event{}, fmt.Sprintf("event %q is not a push", e), nil
	}
	var p struct {
		ObjectKind string `json:"object_kind"`
		EventName  string `json:"event_name"`
		Ref        string `json:"ref"`
		After      string `json:"after"`
		Project    *struct {
			WebURL    string `json:"web_url"`
			GitHTTP   string `json:"git_http_url"`
			GitSSH    string `json:"git_ssh_url"`
			HTTPURL   string `json:"http_url"`
			SSHURL    string `json:"ssh_url"`
			Homepage  string `json:"homepage"`
			URL       string `json:"url"`
			PathWithN string `json:"path_with_namespace"`
		} `json:"project"`
		Repository *struct {
			Homepage string `json:"homepage"`
			GitHTTP  string `json:"git_http_url"`
			GitSSH   string `json:"git_ssh_url"`
		} `json:"repository"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	kind := p.ObjectKind
	if kind == "" {
		kind = p.EventName
	}
	if kind == "" {
		return Event{}, "", bad("missing object_kind")
	}
	if kind != "push" {
		return Event{}, fmt.Sprintf("object_kind %q is not a push", kind), nil
	}
	if p.Ref == "" {
		return Event{}, "", bad("missing ref")
	}
	branch, ignored := branchOf(p.Ref)
	if ignored != "" {
		return Event{}, ignored, nil
	}
	if p.After == zeroSHA {
		return Event{}, "a deleted branch", nil
	}
	var repos uniques
	if pr := p.Project; pr != nil {
		repos.add(gitURL(pr.WebURL), gitURL(pr.GitHTTP), gitURL(pr.GitSSH), gitURL(pr.HTTPURL), gitURL(pr.SSHURL))
	}
	if r := p.Repository; r != nil {
		repos.add(gitURL(r.Homepage), gitURL(r.GitHTTP), gitURL(r.GitSSH))
	}
	if len(repos.list) == 0 {
		return Event{}, "", bad("missing project.web_url")
	}
	return Event{Repositories: repos.list, Branches: []string{branch}}, "", nil
}

// Bitbucket Cloud repo:push and Bitbucket Data Center repo:refs_changed.
// https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#Push
// https://confluence.atlassian.com/bitbucketserver/event-payload-938025882.html
func parseBitbucket(h http.Header, body []byte) (Event, string, error) {
	e := h.Get("X-Event-Key")
	switch e {
	case "repo:push", "repo:refs_changed":
	case "diagnostics:ping":
		return Event{}, "ping", nil
	case "":
		return Event{}, "", bad("missing X-Event-Key header")
	default:
		return Event{}, fmt.Sprintf("event %q is not a push", e), nil
	}
	type link struct {
		Href string `json:"href"`
	}
	var p struct {
		// Cloud
		Push *struct {
			Changes []struct {
				New *struct {
					Type string `json:"type"`
					Name string `json:"name"`
				} `json:"new"`
			} `json:"changes"`
		} `json:"push"`
		// Data Center
		Changes []struct {
			Ref struct {
				ID        string `json:"id"`
				DisplayID string `json:"displayId"`
				Type      string `json:"type"`
			} `json:"ref"`
			Type string `json:"type"`
		} `json:"changes"`
		Repository *struct {
			Links struct {
				HTML  json.RawMessage `json:"html"`  // Cloud: {"href"}
				Clone json.RawMessage `json:"clone"` // Data Center: [{"href","name"}]
				Self  json.RawMessage `json:"self"`
			} `json:"links"`
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := decode(body, &p); err != nil {
		return Event{}, "", err
	}
	if p.Repository == nil {
		return Event{}, "", bad("missing repository")
	}
	var repos uniques
	hrefs := func(raw json.RawMessage) []string {
		var one link
		if json.Unmarshal(raw, &one) == nil && one.Href != "" {
			return []string{one.Href}
		}
		var many []link
		_ = json.Unmarshal(raw, &many)
		out := []string{}
		for _, l := range many {
			out = append(out, l.Href)
		}
		return out
	}
	for _, raw := range []json.RawMessage{p.Repository.Links.HTML, p.Repository.Links.Clone} {
		for _, u := range hrefs(raw) {
			repos.add(gitURL(u))
			if repos.over() {
				return Event{}, "", errTooManyRepositories
			}
		}
	}
	if len(repos.list) == 0 && p.Repository.FullName != "" && e == "repo:push" {
		repos.add(gitURL("bitbucket.org/" + p.Repository.FullName))
	}
	if len(repos.list) == 0 {
		return Event{}, "", bad("missing repository.links")
	}

	var branches uniques
	if p.Push != nil {
		for _, c := range p.Push.Changes {
			if c.New != nil && c.New.Type == "branch" {
				branches.add(bareBranch(c.New.Name))
			}
			if branches.over() {
				return Event{}, "", errTooManyBranches
			}
		}
	}
	for _, c := range p.Changes {
		if c.Type == "DELETE" || !strings.EqualFold(c.Ref.Type, "BRANCH") {
			continue
		}
		b := bareBranch(c.Ref.DisplayID)
		if b == "" {
			b = bareBranch(c.Ref.ID)
		}
		branches.add(b)
		if branches.over() {
			return Event{}, "", errTooManyBranches
		}
	}
	if len(branches.list) == 0 {
		return Event{}, "no branch updated (tag pushes and deletions are not ours)", nil
	}
	return Event{Repositories: repos.list, Branches: branches.list}, "", nil
}
