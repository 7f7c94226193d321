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
	trackGVR          = schema.GroupVersionResource{Group: "k8sta.io", Version: "v1alpha1", Resource: "tracks"}
	ticketGVR         = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "tickets"}
	providerConfigGVR = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "providerconfigs"}
	secretGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// push writes a new (random, one small layer) image as -image:-tag to the
// stack's registry: what a CI job does after a build. It prints the image's
// digest on stdout.
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
	fmt.Println(d)
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
// the ProviderConfig's webhook URL would: one URL for every Track of the
// namespace, registered once.
func notify(args []string) error {
	fs := flag.NewFlagSet("notify", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the stack")
	ns := fs.String("namespace", "", "the Tracks' namespace")
	config := fs.String("providerconfig", "default", "the ProviderConfig whose webhook to send to")
	webhook := fs.String("webhook", "", "the provider's webhook receiver, http://127.0.0.1:PORT")
	image := fs.String("image", "", "image repository that was pushed, HOST:PORT/PATH")
	tag := fs.String("tag", "", "tag that was pushed")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the ProviderConfig's webhook and its Secret")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *ns == "" || *webhook == "" || *image == "" || *tag == "" {
		return errors.New("notify: -kubeconfig, -namespace, -webhook, -image and -tag are required")
	}
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var path, key string
	for {
		path, key, err = webhookPath(ctx, kube, *ns, *config)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot read the webhook of ProviderConfig %s/%s after %v: %w", *ns, *config, *timeout, err)
		case <-time.After(time.Second):
		}
	}

	host, repo, _ := strings.Cut(*image, "/")
	body := fmt.Sprintf(`{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":%q,"tag":%q},"request":{"host":%q}}]}`, repo, *tag, host)
	u := strings.TrimSuffix(*webhook, "/") + path + "/" + url.PathEscape(key)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		// The URL holds the key: never wrap an error that may quote it.
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
	say("sent the registry's push event for %s:%s to the provider's webhook receiver %s (%s/<key>, ProviderConfig %s/%s's URL for distribution registries): HTTP %d",
		*image, *tag, *webhook, path, *ns, *config, resp.StatusCode)
	return nil
}

// webhookPath reads, from the ProviderConfig's status, the path its webhook
// shows for distribution registries (without its last segment, the
// placeholder of the key), and the key its Secret holds for them (the
// Secret's root token authenticates no sender).
func webhookPath(ctx context.Context, kube dynamic.Interface, ns, config string) (string, string, error) {
	pc, err := kube.Resource(providerConfigGVR).Namespace(ns).Get(ctx, config, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("cannot get ProviderConfig %s: %w", config, err)
	}
	secret, _, _ := unstructured.NestedString(pc.Object, "spec", "webhook", "secretRef", "name")
	urls, _, _ := unstructured.NestedStringSlice(pc.Object, "status", "webhook", "urls")
	path := ""
	for _, u := range urls {
		if strings.HasPrefix(u, "/hook/distribution/") {
			path = u[:strings.LastIndex(u, "/")]
		}
	}
	if secret == "" || path == "" {
		return "", "", fmt.Errorf("ProviderConfig %s shows no webhook for distribution registries yet", config)
	}
	s, err := kube.Resource(secretGVR).Namespace(ns).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("cannot get Secret %s: %w", secret, err)
	}
	enc, _, _ := unstructured.NestedString(s.Object, "data", "distribution")
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) == 0 {
		return "", "", fmt.Errorf("the Secret %s has no distribution key", secret)
	}
	return path, string(key), nil
}
