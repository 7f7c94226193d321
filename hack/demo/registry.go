package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	trackGVR        = schema.GroupVersionResource{Group: "k8sta.io", Version: "v1alpha1", Resource: "tracks"}
	ticketGVR       = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "tickets"}
	subscriptionGVR = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "subscriptions"}
	secretGVR       = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// push writes a new (random, one small layer) image as -image:-tag to the
// stack's registry: what a CI job does after a build.
func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	image := fs.String("image", "", "image repository, e.g. 127.0.0.1:PORT/acme/guestbook")
	tag := fs.String("tag", "", "tag to push")
	_ = fs.Parse(args)
	if *image == "" || *tag == "" {
		return errors.New("push: -image and -tag are required")
	}
	ref, err := name.ParseReference(*image+":"+*tag, name.Insecure)
	if err != nil {
		return fmt.Errorf("cannot parse image %s:%s: %w", *image, *tag, err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		return fmt.Errorf("cannot make an image: %w", err)
	}
	if err := remote.Write(ref, img); err != nil {
		return fmt.Errorf("cannot push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return fmt.Errorf("cannot compute the digest of %s: %w", ref, err)
	}
	say("pushed %s (%s)", ref, d)
	return nil
}

func kubeClient(kubeconfig string) (dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cannot load kubeconfig %s: %w", kubeconfig, err)
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot make a Kubernetes client: %w", err)
	}
	return c, nil
}

// notify sends the registry's push webhook (the distribution registry's
// event envelope) to the provider's receiver, as a registry configured with
// the Subscription's webhook URL would.
func notify(args []string) error {
	fs := flag.NewFlagSet("notify", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the stack")
	ns := fs.String("namespace", "", "the Track's namespace")
	track := fs.String("track", "", "the Track")
	webhook := fs.String("webhook", "", "the provider's webhook receiver, http://127.0.0.1:PORT")
	image := fs.String("image", "", "image repository that was pushed, HOST:PORT/PATH")
	tag := fs.String("tag", "", "tag that was pushed")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the Subscription and its webhook Secret")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *ns == "" || *track == "" || *webhook == "" || *image == "" || *tag == "" {
		return errors.New("notify: -kubeconfig, -namespace, -track, -webhook, -image and -tag are required")
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var sub, token string
	for {
		sub, token, err = webhookToken(ctx, kube, *ns, *track)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot read the webhook token of track %s/%s after %v: %w", *ns, *track, *timeout, err)
		case <-time.After(time.Second):
		}
	}

	host, repo, _ := strings.Cut(*image, "/")
	body := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":%q},"request":{"host":%q}}]}`, repo, *tag, host)
	u := fmt.Sprintf("%s/hook/distribution/%s.%s/%s", strings.TrimSuffix(*webhook, "/"), *ns, sub, url.PathEscape(token))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		// The URL holds the token: never wrap an error that may quote it.
		return errors.New("cannot build the webhook request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("cannot send the webhook to %s: %w", *webhook, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook receiver %s answered HTTP %d, want 200", *webhook, resp.StatusCode)
	}
	say("sent the registry's push event for %s:%s to the provider's webhook receiver %s (/hook/distribution/%s.%s/<token>): HTTP %d",
		*image, *tag, *webhook, *ns, sub, resp.StatusCode)
	return nil
}

// webhookToken finds the Track's composed Subscription and the key its
// <subscription>-webhook Secret holds for distribution registries (the root
// token authenticates no sender).
func webhookToken(ctx context.Context, kube dynamic.Interface, ns, track string) (string, string, error) {
	l, err := kube.Resource(subscriptionGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "crossplane.io/composite=" + track})
	if err != nil {
		return "", "", fmt.Errorf("cannot list Subscriptions: %w", err)
	}
	if len(l.Items) != 1 {
		return "", "", fmt.Errorf("the Track has %d Subscriptions, want 1", len(l.Items))
	}
	sub := l.Items[0].GetName()
	s, err := kube.Resource(secretGVR).Namespace(ns).Get(ctx, sub+"-webhook", metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("cannot get Secret %s-webhook: %w", sub, err)
	}
	enc, _, _ := unstructured.NestedString(s.Object, "data", "distribution")
	tok, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(tok) == 0 {
		return "", "", fmt.Errorf("Secret %s-webhook has no distribution key", sub)
	}
	return sub, string(tok), nil
}
