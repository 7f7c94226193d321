package webhook

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkParse measures parsing each kind's payload.
func BenchmarkParse(b *testing.B) {
	for _, kind := range Kinds() {
		g := good[kind]
		h := http.Header{}
		for _, k := range []string{"X-GitHub-Event", "X-Gitlab-Event", "X-Gitea-Event", "X-Event-Key"} {
			h.Set(k, g.event)
		}
		body := []byte(g.body)
		b.Run(string(kind), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for range b.N {
				if _, _, err := Parse(kind, h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuth measures the authentication checks alone.
func BenchmarkAuth(b *testing.B) {
	body := []byte(githubPush)
	secret := []byte(testKey(GitHub))
	sig := "sha256=" + hex.EncodeToString(Sign(secret, body))
	h := http.Header{"X-Hub-Signature-256": {sig}}
	b.Run("HMAC", func(b *testing.B) {
		for range b.N {
			if !signed(GitHub, h, body, secret) {
				b.Fatal("not signed")
			}
		}
	})
	b.Run("Token", func(b *testing.B) {
		tok := []byte(testSecret)
		for range b.N {
			if !equal(tok, secret) {
				b.Fatal("not equal")
			}
		}
	})
}

// BenchmarkServeHTTP measures a whole valid GitHub push through the
// handler (no network).
func BenchmarkServeHTTP(b *testing.B) {
	r := NewReceiver(secrets, func(Event) {})
	body := githubPush
	sig := "sha256=" + hex.EncodeToString(Sign([]byte(testKey(GitHub)), []byte(body)))
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, Path(GitHub, testID, ""), strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
