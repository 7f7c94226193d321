package webhook

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// answers records what an Observer is told, as "<sender> <code>".
type answers struct {
	mu   sync.Mutex
	seen []string
}

func (a *answers) observe(sender string, code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, sender+" "+http.StatusText(code))
}

func (a *answers) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seen
	a.seen = nil
	return s
}

// The Observer is told of every answer, by the sender's kind and the status
// code sent: a path that names no kind is "unknown", whatever it holds, so
// that a sender cannot make a label of its own.
func TestObserverIsToldOfEveryAnswer(t *testing.T) {
	var seen answers
	srv, _ := newServer(t, WithObserver(seen.observe), WithMaxBodyBytes(int64(len(good[GitHub].body))))
	g := good[GitHub]
	cases := map[string]struct {
		r    request
		want string
	}{
		"Accepted":      {r: request{kind: GitHub, event: g.event, body: g.body, secret: testKey(GitHub)}, want: "github OK"},
		"Ignored":       {r: request{kind: GitHub, event: "ping", body: `{"zen":"hi"}`, secret: testKey(GitHub)}, want: "github Accepted"},
		"WrongKey":      {r: request{kind: DockerHub, body: dockerHubPush, secret: strings.Repeat("x", 43)}, want: "dockerhub Unauthorized"},
		"NotPOST":       {r: request{kind: Quay, method: http.MethodGet, secret: testKey(Quay)}, want: "quay Method Not Allowed"},
		"TooLarge":      {r: request{kind: Gitea, event: "push", body: strings.Repeat(" ", len(g.body)+1), secret: testKey(Gitea)}, want: "gitea Request Entity Too Large"},
		"UnknownKind":   {r: request{path: "/hook/evil-" + strings.Repeat("x", 300) + "/id"}, want: "unknown Not Found"},
		"NoKind":        {r: request{path: "/hook/"}, want: "unknown Not Found"},
		"KindLookalike": {r: request{path: "/hook/GitHub/" + testID}, want: "unknown Not Found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, _ := tc.r.send(t, srv)
			got := seen.take()
			if diff := cmp.Diff([]string{tc.want}, got); diff != "" {
				t.Errorf("observed: -want, +got:\n%s", diff)
			}
			// What the observer is told is what the sender got.
			if len(got) == 1 && !strings.HasSuffix(got[0], " "+http.StatusText(code)) {
				t.Errorf("observed %q, the sender got %d", got[0], code)
			}
		})
	}
}

func TestSenderIsAKnownKindOrUnknown(t *testing.T) {
	want := map[string]string{
		"/hook/github/team-a.guestbook":              "github",
		"/hook/dockerhub/team-a.guestbook/key":       "dockerhub",
		"/hook/distribution":                         "distribution",
		"/hook/gitlab/" + strings.Repeat("a", 10000): "gitlab",
		"/hook/":             SenderUnknown,
		"/hook/GITHUB/x":     SenderUnknown,
		"/hook/github%2Fx/y": SenderUnknown,
		"/hook/" + strings.Repeat("a", 10000) + "/x": SenderUnknown,
		"/hooks/github/x":  SenderUnknown,
		"/":                SenderUnknown,
		"/hook/ghcr\x00/x": SenderUnknown,
		"/hook/" + "https://user:token@example.com/x/y/": SenderUnknown,
	}
	got := map[string]string{}
	for p := range want {
		got[p] = Sender(p)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sender: -want, +got:\n%s", diff)
	}
	for _, k := range Kinds() {
		if s := Sender(PathPrefix + string(k) + "/id"); s != string(k) {
			t.Errorf("Sender of kind %s: got %q", k, s)
		}
	}
}
