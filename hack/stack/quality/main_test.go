package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTag(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:5000/acme/guestbook:1.2.0@sha256:0123": "1.2.0",
		"127.0.0.1:5000/acme/guestbook:1.2.0":             "1.2.0",
		"127.0.0.1:5000/acme/guestbook@sha256:0123":       "",
		"127.0.0.1:5000/acme/guestbook":                   "",
		"guestbook:v2":                                    "v2",
		"":                                                "",
	}
	for image, want := range cases {
		if got := Tag(image); got != want {
			t.Errorf("Tag(%q): got %q, want %q", image, got, want)
		}
	}
}

func TestDigest(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:5000/acme/guestbook:1.2.0@sha256:0123": "sha256:0123",
		"127.0.0.1:5000/acme/guestbook@sha256:0123":       "sha256:0123",
		"127.0.0.1:5000/acme/guestbook:1.2.0":             "",
	}
	for image, want := range cases {
		if got := Digest(image); got != want {
			t.Errorf("Digest(%q): got %q, want %q", image, got, want)
		}
	}
}

func TestAnswers(t *testing.T) {
	type query struct{ station, image string }
	// step PUTs body to /answers/<path>, or DELETEs it when body is "".
	type step struct{ path, body string }
	cases := map[string]struct {
		set   []step
		query query
		want  float64
	}{
		"PassByDefault": {
			query: query{"int", "r/guestbook:1.1.0@sha256:aa"},
			want:  0.01,
		},
		"StationFails": {
			set:   []step{{"int", "fail"}},
			query: query{"int", "r/guestbook:1.1.0@sha256:aa"},
			want:  0.5,
		},
		"OtherStationPasses": {
			set:   []step{{"int", "fail"}},
			query: query{"dev", "r/guestbook:1.1.0@sha256:aa"},
			want:  0.01,
		},
		"TagFailsAtStation": {
			set:   []step{{"int/1.2.0", "fail"}},
			query: query{"int", "r/guestbook:1.2.0@sha256:aa"},
			want:  0.5,
		},
		"OtherTagPasses": {
			set:   []step{{"int/1.2.0", "fail"}},
			query: query{"int", "r/guestbook:1.2.1@sha256:bb"},
			want:  0.01,
		},
		"DigestFailsAtStation": {
			set:   []step{{"int/sha256:aa", "fail"}},
			query: query{"int", "r/guestbook@sha256:aa"},
			want:  0.5,
		},
		"OtherDigestPasses": {
			set:   []step{{"int/sha256:aa", "fail"}},
			query: query{"int", "r/guestbook@sha256:bb"},
			want:  0.01,
		},
		"TagBeatsStation": {
			set:   []step{{"int", "fail"}, {"int/1.2.1", "pass"}},
			query: query{"int", "r/guestbook:1.2.1@sha256:bb"},
			want:  0.01,
		},
		"DeletedAnswerIsGone": {
			set:   []step{{"int", "fail"}, {"int", ""}},
			query: query{"int", "r/guestbook:1.2.1@sha256:bb"},
			want:  0.01,
		},
		"SlowPasses": {
			set:   []step{{"int", "slow"}},
			query: query{"int", "r/guestbook:1.2.1@sha256:bb"},
			want:  0.01,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(newServer(time.Millisecond))
			defer srv.Close()
			for _, s := range tc.set {
				method, path, body := http.MethodPut, s.path, s.body
				if body == "" {
					method = http.MethodDelete
				}
				req, _ := http.NewRequest(method, srv.URL+"/answers/"+path, strings.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != http.StatusNoContent {
					t.Fatalf("%s /answers/%s: %v %v", method, path, err, resp)
				}
				_ = resp.Body.Close()
			}
			resp, err := http.Get(srv.URL + "/quality?" + url.Values{"station": {tc.query.station}, "image": {tc.query.image}}.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				ErrorRate float64 `json:"errorRate"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.ErrorRate); diff != "" {
				t.Errorf("errorRate: -want +got:\n%s", diff)
			}
		})
	}
}

func TestBadAnswersAreRefused(t *testing.T) {
	srv := httptest.NewServer(newServer(time.Millisecond))
	defer srv.Close()
	cases := map[string]struct{ path, body string }{
		"UnknownAnswer": {"int", "maybe"},
		"TooLong":       {"int", strings.Repeat("pass", 100)},
		"NoStation":     {"", "fail"},
		"DeepPath":      {"int/1.2.0/x", "fail"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/answers/"+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("PUT /answers/%s %q: HTTP %d %s, want 400", tc.path, tc.body, resp.StatusCode, b)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/answers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if diff := cmp.Diff("{}", string(b)); diff != "" {
		t.Errorf("answers after refused PUTs: -want +got:\n%s", diff)
	}
}
