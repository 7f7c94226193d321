package argocd

import (
	"fmt"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/k8sta/k8sta/internal/repourl"
)

const (
	// AuthorizedTracksAnnotation lists, comma separated, the Tracks
	// ("<namespace>/<track>") that may sync an Application.
	AuthorizedTracksAnnotation = "k8sta.io/authorized-tracks"

	// TicketInfoName is the name of the operation info entry whose value
	// ("<ticket>/<change id>") marks a sync K8sTA requested.
	TicketInfoName = "k8sta.io/ticket"
)

// An UnauthorizedError tells why a Track may not sync an Application and what
// to set on the Application to allow it.
// +kubebuilder:object:generate=false
type UnauthorizedError struct {
	// Application is the Application's "<namespace>/<name>".
	Application string
	// Reason names the Application and exactly what to set.
	Reason string
}

func (e *UnauthorizedError) Error() string { return e.Reason }

// IsUnauthorized tells whether err is, or wraps, an *UnauthorizedError.
func IsUnauthorized(err error) bool {
	var u *UnauthorizedError
	return errors.As(err, &u)
}

// Authorize checks that app lets track ("<namespace>/<track>") sync it: the
// annotation k8sta.io/authorized-tracks lists track, and one of the
// Application's sources is repoURL at branch (targetRevision branch or
// refs/heads/<branch>; repository URLs compare by repourl.MatchKey: any
// spelling of one host, port and path, whatever the scheme or case, and never
// a URL that is not a repository's). It returns the index of that source
// (0 for a single-source Application), or an *UnauthorizedError that names the
// Application and what to set on it.
func Authorize(app *Application, track, repoURL, branch string) (int, error) {
	name := appName(app)
	if !authorizesTrack(app.GetAnnotations()[AuthorizedTracksAnnotation], track) {
		return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
			"Application %s does not authorize track %s: add %s to its annotation %s",
			name, track, track, AuthorizedTracksAnnotation)}
	}

	want := repourl.MatchKey(repoURL)
	sameRepo := func(u string) bool { return want != "" && repourl.MatchKey(u) == want }
	if !app.Spec.HasMultipleSources() {
		s := app.Spec.Source
		switch {
		case s == nil:
			return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
				"Application %s has no source: set spec.source.repoURL to %s and spec.source.targetRevision to %s",
				name, repoURL, branch)}
		case !sameRepo(s.RepoURL):
			return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
				"Application %s tracks %s at %s: set spec.source.repoURL to %s and spec.source.targetRevision to %s",
				name, s.RepoURL, revisionOrHEAD(s.TargetRevision), repoURL, branch)}
		case !isBranch(s.TargetRevision, branch):
			return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
				"Application %s tracks %s at %s: set spec.source.targetRevision to %s",
				name, s.RepoURL, revisionOrHEAD(s.TargetRevision), branch)}
		}
		return 0, nil
	}

	repoAt := -1
	tracked := make([]string, 0, len(app.Spec.Sources))
	for i, s := range app.Spec.Sources {
		if !sameRepo(s.RepoURL) {
			tracked = append(tracked, fmt.Sprintf("%s at %s", s.RepoURL, revisionOrHEAD(s.TargetRevision)))
			continue
		}
		if isBranch(s.TargetRevision, branch) {
			return i, nil
		}
		if repoAt < 0 {
			repoAt = i
		}
		tracked = append(tracked, fmt.Sprintf("%s at %s", s.RepoURL, revisionOrHEAD(s.TargetRevision)))
	}
	if repoAt >= 0 {
		return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
			"Application %s tracks %s: set spec.sources[%d].targetRevision to %s",
			name, strings.Join(tracked, ", "), repoAt, branch)}
	}
	return 0, &UnauthorizedError{Application: name, Reason: fmt.Sprintf(
		"Application %s tracks %s: set the repoURL of one of spec.sources to %s and its targetRevision to %s",
		name, strings.Join(tracked, ", "), repoURL, branch)}
}

// authorizesTrack tells whether the comma-separated list names track.
func authorizesTrack(list, track string) bool {
	track = strings.TrimSpace(track)
	if track == "" {
		return false
	}
	for t := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(t) == track {
			return true
		}
	}
	return false
}

// isBranch tells whether an Argo CD targetRevision names branch.
func isBranch(targetRevision, branch string) bool {
	if branch == "" {
		return false
	}
	r := strings.TrimSpace(targetRevision)
	return r == branch || r == "refs/heads/"+branch
}

func revisionOrHEAD(r string) string {
	if r == "" {
		return "HEAD"
	}
	return r
}

// appName is "<namespace>/<name>".
func appName(app *Application) string {
	return app.GetNamespace() + "/" + app.GetName()
}
