package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The senders the scenarios play: a distribution registry (its key in the
// path) and GitHub (HMAC-signed).
const (
	kindRegistry = "distribution"
	kindGit      = "github"
)

// A hookTarget is one webhook as a sender has it registered: where it posts
// (a path token included) and the secret it signs with (signing senders).
type hookTarget struct {
	url    string
	secret []byte
}

// hooks are the webhooks a sender registered for the fleet, by kind.
type hooks map[string][]hookTarget

// newHooks reads the webhooks a team would register for the fleet's
// namespace. -webhook=subscription: every Subscription's own URLs (its
// status.atProvider.webhookURLs, keys from its <name>-webhook Secret), so a
// sender posts one webhook per Subscription, N per event. -webhook=namespace:
// the ProviderConfig's URLs (status.webhook.urls, keys from the Secret its
// spec.webhook.secretRef names), one per sender kind for the whole fleet.
func newHooks(ctx context.Context, mode string, s *stack, f *fleet) (hooks, error) {
	sr := &secretReader{s: s, ns: f.ns, data: map[string]map[string]any{}}
	switch mode {
	case "subscription":
		return subscriptionHooks(ctx, s, f, sr)
	case "namespace":
		return namespaceHooks(ctx, s, f, sr)
	}
	return nil, fmt.Errorf("unknown webhook mode %q", mode)
}

// providerConfigWebhookSecret is the Secret the fleet's ProviderConfig names
// for its webhook in -webhook=namespace.
const providerConfigWebhookSecret = "fleet-webhook"

// namespaceHooks are the namespace-wide webhooks, /hook/<kind>/<id> with id
// naming the ProviderConfig, as its status lists them once the provider
// has made its Secret.
func namespaceHooks(ctx context.Context, s *stack, f *fleet, sr *secretReader) (hooks, error) {
	var urls []string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pc, err := s.kube.Resource(providerConfigGVR).Namespace(f.ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("cannot get ProviderConfig %s/default: %w", f.ns, err)
		}
		urls, _, _ = unstructured.NestedStringSlice(pc.Object, "status", "webhook", "urls")
		if len(urls) > 0 {
			break
		}
		if time.Now().After(deadline) {
			if _, set, _ := unstructured.NestedMap(pc.Object, "spec", "webhook"); !set {
				return nil, fmt.Errorf("-webhook=namespace: ProviderConfig %s/default has no spec.webhook: this K8sTA has no namespace-wide webhook (one URL per ProviderConfig); use -webhook=subscription", f.ns)
			}
			return nil, fmt.Errorf("-webhook=namespace: ProviderConfig %s/default lists no status.webhook.urls after 2m (WebhookReady: %s)", f.ns, conditionField(pc, "WebhookReady", "message"))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	out := hooks{}
	for _, kind := range []string{kindRegistry, kindGit} {
		t, err := sr.target(ctx, s.webhook, urls, kind, providerConfigWebhookSecret)
		if err != nil {
			return nil, fmt.Errorf("ProviderConfig %s/default: %w", f.ns, err)
		}
		out[kind] = []hookTarget{t}
	}
	return out, nil
}

func subscriptionHooks(ctx context.Context, s *stack, f *fleet, sr *secretReader) (hooks, error) {
	l, err := s.kube.Resource(subscriptionGVR).Namespace(f.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot list Subscriptions: %w", err)
	}
	if len(l.Items) != f.n {
		return nil, fmt.Errorf("namespace %s has %d Subscriptions, want one per Track (%d)", f.ns, len(l.Items), f.n)
	}
	out := hooks{}
	for _, sub := range l.Items {
		urls, _, _ := unstructured.NestedStringSlice(sub.Object, "status", "atProvider", "webhookURLs")
		for _, kind := range []string{kindRegistry, kindGit} {
			t, err := sr.target(ctx, s.webhook, urls, kind, sub.GetName()+"-webhook")
			if err != nil {
				return nil, fmt.Errorf("cannot find the webhooks of Subscription %s/%s: %w", f.ns, sub.GetName(), err)
			}
			out[kind] = append(out[kind], t)
		}
	}
	return out, nil
}

// placeholder is how a status URL names the Secret key that fills it:
// <SECRET.KEY>.
var placeholder = regexp.MustCompile(`<([a-z0-9][a-z0-9.-]*)\.([a-z]+)>`)

// A secretReader reads webhook keys from the Secrets of one namespace,
// each Secret once.
type secretReader struct {
	s    *stack
	ns   string
	data map[string]map[string]any
}

func (r *secretReader) key(ctx context.Context, name, key string) ([]byte, error) {
	data, ok := r.data[name]
	if !ok {
		sec, err := r.s.kube.Resource(secretGVR).Namespace(r.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("cannot get Secret %s/%s: %w", r.ns, name, err)
		}
		data, _, _ = unstructured.NestedMap(sec.Object, "data")
		r.data[name] = data
	}
	enc, _ := data[key].(string)
	v, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(v) == 0 {
		return nil, fmt.Errorf("the Secret %s/%s has no key %s", r.ns, name, key)
	}
	return v, nil
}

// target is the webhook of kind among the status URLs, on the receiver
// base: its <secret.kind> placeholder filled, and, for a signing sender,
// the key it signs with (secret's key of its kind).
func (r *secretReader) target(ctx context.Context, base string, urls []string, kind, secret string) (hookTarget, error) {
	path := ""
	for _, u := range urls {
		if strings.HasPrefix(u, "/hook/"+kind+"/") {
			path = u
		}
	}
	if path == "" {
		return hookTarget{}, fmt.Errorf("its status lists no %s webhook", kind)
	}
	var ferr error
	path = placeholder.ReplaceAllStringFunc(path, func(p string) string {
		m := placeholder.FindStringSubmatch(p)
		v, err := r.key(ctx, m[1], m[2])
		if err != nil {
			ferr = err
		}
		return url.PathEscape(string(v))
	})
	if ferr != nil {
		return hookTarget{}, ferr
	}
	t := hookTarget{url: strings.TrimSuffix(base, "/") + path}
	if kind == kindGit {
		var err error
		if t.secret, err = r.key(ctx, secret, kind); err != nil {
			return hookTarget{}, err
		}
	}
	return t, nil
}

// registryPush is a distribution registry's push event for image:tag.
func registryPush(image, tag string) []byte {
	host, repo, _ := strings.Cut(image, "/")
	return []byte(fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":%q},"request":{"host":%q}}]}`, repo, tag, host))
}

// gitPush is GitHub's push event for the source branch main at commit.
func gitPush(repoURL, commit string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"after":      commit,
		"repository": map[string]any{"clone_url": repoURL, "html_url": strings.TrimSuffix(repoURL, ".git")},
	})
	return b
}

// A sendReport says how a sender's webhooks went.
type sendReport struct {
	first, last time.Time // the first request sent, the last answered
	sent        int
	retried     int // answered 503 and sent again after Retry-After
}

// send posts body to every target of kind, 16 at once, as a sender with that
// many registered webhooks would. Every webhook must be answered 200.
func (h hooks) send(ctx context.Context, kind string, body []byte) (sendReport, error) {
	targets := h[kind]
	if len(targets) == 0 {
		return sendReport{}, fmt.Errorf("no %s webhook registered", kind)
	}
	var (
		mu   sync.Mutex
		rep  sendReport
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 16)
	)
	rep.first = time.Now()
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			retries, err := post(ctx, kind, t, body)
			mu.Lock()
			defer mu.Unlock()
			rep.sent++
			rep.retried += retries
			if err != nil {
				errs = append(errs, fmt.Errorf("webhook %d of %d: %w", i+1, len(targets), err))
			}
		}()
	}
	wg.Wait()
	rep.last = time.Now()
	return rep, errors.Join(errs...)
}

// post sends one webhook, again after Retry-After while the receiver
// answers 503 (it holds a bounded number of bodies at once).
func post(ctx context.Context, kind string, t hookTarget, body []byte) (int, error) {
	for retries := 0; ; retries++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(string(body)))
		if err != nil {
			// The URL holds a key: never quote an error that may hold it.
			return retries, errors.New("cannot build the webhook request")
		}
		req.Header.Set("Content-Type", "application/json")
		if kind == kindGit {
			mac := hmac.New(sha256.New, t.secret)
			mac.Write(body)
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return retries, fmt.Errorf("cannot send: %w", err)
		}
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return retries, nil
		case resp.StatusCode == http.StatusServiceUnavailable && retries < 20:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-ctx.Done():
				return retries, ctx.Err()
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			}
		default:
			return retries, fmt.Errorf("the receiver answered HTTP %d, want 200", resp.StatusCode)
		}
	}
}
