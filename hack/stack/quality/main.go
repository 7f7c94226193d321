// Command quality is the local stack's quality endpoint: the metric that the
// demo's and the e2e scenarios' Argo Rollouts analyses query with the web
// provider. A scenario sets the answer per station, or per station and image
// tag, over HTTP:
//
//	PUT    /answers/<station>[/<tag>]   body: pass | fail | slow
//	DELETE /answers/<station>[/<tag>]
//	GET    /answers                      every answer set, as JSON
//	GET    /quality?station=<s>&image=<ref>
//
// /quality answers {"errorRate": 0.01} for pass and {"errorRate": 0.5} for
// fail (an analysis with successCondition `result < 0.1` fails on it); slow
// passes after -slow. An image's answer beats its station's; the default is
// pass.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Answers a station can be given.
const (
	Pass = "pass"
	Fail = "fail"
	Slow = "slow"
)

// Error rates the endpoint reports.
const (
	passingErrorRate = 0.01
	failingErrorRate = 0.5
)

// Bounds: this listens on 127.0.0.1 only, but a scenario's typo should not
// grow it without end either.
const (
	maxAnswers    = 1024
	maxBodyBytes  = 64
	maxFieldBytes = 256
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (127.0.0.1 only)")
	slow := flag.Duration("slow", 5*time.Second, "how long a slow answer takes")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || host != "127.0.0.1" {
		log.Fatalf("quality: -addr %q: listen on 127.0.0.1 only", *addr)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("quality: cannot listen: %v", err)
	}
	srv := &http.Server{Handler: newServer(*slow), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Printf("quality: serving http://%s", l.Addr())
	err = srv.Serve(l)
	stop()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("quality: %v", err)
	}
}

type server struct {
	slow time.Duration

	mu      sync.Mutex
	answers map[string]string // "<station>" or "<station>/<tag>" -> answer
}

func newServer(slow time.Duration) *server {
	return &server{slow: slow, answers: map[string]string{}}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/quality" && r.Method == http.MethodGet:
		s.quality(w, r)
	case r.URL.Path == "/answers" && r.Method == http.MethodGet:
		s.mu.Lock()
		b, _ := json.Marshal(s.answers)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case strings.HasPrefix(r.URL.Path, "/answers/"):
		s.setAnswer(w, r)
	default:
		http.Error(w, "not found: see the comment of hack/stack/quality", http.StatusNotFound)
	}
}

func (s *server) quality(w http.ResponseWriter, r *http.Request) {
	station, image := r.URL.Query().Get("station"), r.URL.Query().Get("image")
	answer := s.answer(station, Tag(image), Digest(image))
	if answer == Slow {
		select {
		case <-time.After(s.slow):
		case <-r.Context().Done():
			return
		}
	}
	rate := passingErrorRate
	if answer == Fail {
		rate = failingErrorRate
	}
	log.Printf("quality: station %q image %q: %s (errorRate %v)", station, image, answer, rate)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errorRate": rate, "station": station, "image": image, "answer": answer})
}

func (s *server) answer(station string, image ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range image {
		if a, ok := s.answers[station+"/"+id]; ok && id != "" {
			return a
		}
	}
	if a, ok := s.answers[station]; ok {
		return a
	}
	return Pass
}

func (s *server) setAnswer(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/answers/")
	station, tag, _ := strings.Cut(key, "/")
	if station == "" || len(key) > maxFieldBytes || strings.Contains(tag, "/") {
		http.Error(w, "want /answers/<station> or /answers/<station>/<tag>", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodDelete:
		delete(s.answers, key)
	case http.MethodPut, http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		a := strings.TrimSpace(string(b))
		if err != nil || (a != Pass && a != Fail && a != Slow) {
			http.Error(w, fmt.Sprintf("body: want %s, %s or %s", Pass, Fail, Slow), http.StatusBadRequest)
			return
		}
		if _, ok := s.answers[key]; !ok && len(s.answers) >= maxAnswers {
			http.Error(w, fmt.Sprintf("at most %d answers: DELETE some", maxAnswers), http.StatusTooManyRequests)
			return
		}
		s.answers[key] = a
		log.Printf("quality: %s answers %s", key, a)
	default:
		http.Error(w, "PUT, POST or DELETE", http.StatusMethodNotAllowed)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Digest returns the digest of an image reference (name@sha256:...), or ""
// when it has none.
func Digest(image string) string {
	_, d, _ := strings.Cut(image, "@")
	return d
}

// Tag returns the tag of an image reference (host:port/name:tag@digest), or
// "" when it has none.
func Tag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	return image[i+1:]
}
