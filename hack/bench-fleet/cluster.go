package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

var (
	trackGVR          = schema.GroupVersionResource{Group: "k8sta.io", Version: "v1alpha1", Resource: "tracks"}
	ticketGVR         = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "tickets"}
	subscriptionGVR   = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "subscriptions"}
	applicationGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	secretGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	providerConfigGVR = schema.GroupVersionResource{Group: "provider.k8sta.io", Version: "v1alpha1", Resource: "providerconfigs"}
)

// stack is the running stack as the harness reaches it.
type stack struct {
	env     map[string]string
	kube    dynamic.Interface
	rest    rest.Interface // for the apiserver's /metrics
	webhook string         // the provider's webhook receiver
	pids    string         // STATE/pids
	logs    string         // STATE/logs
}

func connect(o options, env map[string]string) (*stack, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		return nil, fmt.Errorf("cannot load the stack's kubeconfig: %w", err)
	}
	// The harness only watches and reads while it measures; its install of
	// hundreds of objects should not wait on client-side throttling.
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot make a Kubernetes client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot make a REST client: %w", err)
	}
	return &stack{env: env, kube: kube, rest: dc.RESTClient(), webhook: env["PROVIDER_WEBHOOK_URL"],
		pids: o.state + "/pids", logs: o.state + "/logs"}, nil
}

// install creates every object of the fleet; one that exists is left as it is.
func (s *stack) install(ctx context.Context, f *fleet) error {
	for _, doc := range f.manifests() {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return fmt.Errorf("cannot parse a manifest: %w\n%s", err, doc)
		}
		gvk := u.GroupVersionKind()
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
		var ri dynamic.ResourceInterface = s.kube.Resource(gvr)
		if u.GetNamespace() != "" {
			ri = s.kube.Resource(gvr).Namespace(u.GetNamespace())
		}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil && !kerrors.IsAlreadyExists(err) {
			return fmt.Errorf("cannot create %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// scrape reads a Prometheus text endpoint: the apiserver's through its
// client (path), any other over plain HTTP (URL).
func (s *stack) scrape(ctx context.Context, target string) (samples, error) {
	var body []byte
	var err error
	if strings.HasPrefix(target, "/") {
		body, err = s.rest.Get().AbsPath(target).DoRaw(ctx)
	} else {
		body, err = httpGet(ctx, target)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot scrape %s: %w", target, err)
	}
	return parseMetrics(string(body)), nil
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// A stationKey names one station of one app.
type stationKey struct{ app, station string }

func (k stationKey) String() string { return k.app + "/" + k.station }

// A stationState is what a station's Ticket says.
type stationState struct {
	branch     string
	specID     string // the change it is given
	specCommit string
	specTag    string
	liveID     string // the change it delivered
	ready      bool
}

// delivered reports whether the station is Ready for the change it is given.
func (s stationState) delivered() bool { return s.ready && s.specID != "" && s.specID == s.liveID }

// An observer follows Tickets, Tracks and Applications with watches: reads
// come from its caches, never from the apiserver, so the harness adds no
// requests to what it measures beyond its own watches.
type observer struct {
	tickets cache.GenericLister
	tracks  cache.GenericLister

	mu sync.Mutex
	// Counted since the last reset, by Application: syncs requested (the
	// operation field appearing) and operations started (a new
	// status.operationState.startedAt).
	syncRequests map[string]int
	syncStarts   map[string]int
	// since is the last reset; tripped the Tracks whose Responsive
	// condition turned False since (Crossplane's circuit breaker opened).
	since   time.Time
	tripped map[string]bool
}

func (s *stack) observe(ctx context.Context, f *fleet) (*observer, error) {
	o := &observer{}
	fleetNS := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.kube, 0, f.ns, nil)
	argoNS := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.kube, 0, "argocd", nil)
	o.tickets = fleetNS.ForResource(ticketGVR).Lister()
	tracks := fleetNS.ForResource(trackGVR)
	o.tracks = tracks.Lister()
	apps := argoNS.ForResource(applicationGVR).Informer()
	o.reset()
	if _, err := tracks.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { o.track(obj) },
		UpdateFunc: func(_, obj any) { o.track(obj) },
	}); err != nil {
		return nil, fmt.Errorf("cannot watch Tracks: %w", err)
	}
	if _, err := apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: o.application,
	}); err != nil {
		return nil, fmt.Errorf("cannot watch Applications: %w", err)
	}
	fleetNS.Start(ctx.Done())
	argoNS.Start(ctx.Done())
	for gvr, ok := range fleetNS.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("cannot sync the cache of %s", gvr.Resource)
		}
	}
	for gvr, ok := range argoNS.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("cannot sync the cache of %s", gvr.Resource)
		}
	}
	return o, nil
}

// reset starts counting afresh, and returns the Tracks whose breaker is
// open now.
func (o *observer) reset() (open []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncRequests, o.syncStarts, o.tripped = map[string]int{}, map[string]int{}, map[string]bool{}
	// A condition's time has a second's precision.
	o.since = time.Now().Truncate(time.Second)
	objs, _ := o.tracks.List(labels.Everything())
	for _, obj := range objs {
		if u, ok := obj.(*unstructured.Unstructured); ok && conditionStatus(u, "Responsive") == "False" {
			open = append(open, u.GetName())
		}
	}
	sort.Strings(open)
	return open
}

func (o *observer) track(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || conditionStatus(u, "Responsive") != "False" {
		return
	}
	at, err := time.Parse(time.RFC3339, conditionField(u, "Responsive", "lastTransitionTime"))
	o.mu.Lock()
	defer o.mu.Unlock()
	if err == nil && !at.Before(o.since) {
		o.tripped[u.GetName()] = true
	}
}

func (o *observer) application(oldObj, newObj any) {
	before, ok1 := oldObj.(*unstructured.Unstructured)
	after, ok2 := newObj.(*unstructured.Unstructured)
	if !ok1 || !ok2 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, had := before.Object["operation"]; !had {
		if _, has := after.Object["operation"]; has {
			o.syncRequests[after.GetName()]++
		}
	}
	was, _, _ := unstructured.NestedString(before.Object, "status", "operationState", "startedAt")
	is, _, _ := unstructured.NestedString(after.Object, "status", "operationState", "startedAt")
	if is != "" && is != was {
		o.syncStarts[after.GetName()]++
	}
}

// counts returns the Application counts and the Tracks that tripped since
// the last reset.
func (o *observer) counts() (requests, starts map[string]int, tripped []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	requests, starts = map[string]int{}, map[string]int{}
	for k, v := range o.syncRequests {
		requests[k] = v
	}
	for k, v := range o.syncStarts {
		starts[k] = v
	}
	for k := range o.tripped {
		tripped = append(tripped, k)
	}
	sort.Strings(tripped)
	return requests, starts, tripped
}

// stations reads every station's Ticket from the cache.
func (o *observer) stations() (map[stationKey]stationState, error) {
	objs, err := o.tickets.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("cannot list Tickets from the cache: %w", err)
	}
	out := make(map[stationKey]stationState, len(objs))
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		app := u.GetLabels()["crossplane.io/composite"]
		station, _, _ := unstructured.NestedString(u.Object, "spec", "forProvider", "station")
		st := stationState{ready: conditionStatus(u, "Ready") == "True"}
		st.branch, _, _ = unstructured.NestedString(u.Object, "spec", "forProvider", "branch")
		st.specID, _, _ = unstructured.NestedString(u.Object, "spec", "forProvider", "change", "id")
		st.specCommit, _, _ = unstructured.NestedString(u.Object, "spec", "forProvider", "change", "commit")
		st.specTag = firstTag(u, "spec", "forProvider", "change", "images")
		st.liveID, _, _ = unstructured.NestedString(u.Object, "status", "atProvider", "change", "id")
		out[stationKey{app, station}] = st
	}
	return out, nil
}

func firstTag(u *unstructured.Unstructured, fields ...string) string {
	imgs, _, _ := unstructured.NestedSlice(u.Object, fields...)
	if len(imgs) == 0 {
		return ""
	}
	m, _ := imgs[0].(map[string]any)
	tag, _ := m["tag"].(string)
	return tag
}

func conditionStatus(u *unstructured.Unstructured, typ string) string {
	return conditionField(u, typ, "status")
}

func conditionField(u *unstructured.Unstructured, typ, field string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			s, _ := m[field].(string)
			return s
		}
	}
	return ""
}

// waitFirstPromotion waits until every station of every app is Ready for
// the fleet's first change: the first image on the first commit.
func waitFirstPromotion(ctx context.Context, o options, f *fleet, obs *observer, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	want := f.n * len(stations)
	lastSay := time.Time{}
	for {
		st, err := obs.stations()
		if err != nil {
			return err
		}
		ready := 0
		for _, s := range st {
			if s.delivered() && s.specTag == f.tag {
				ready++
			}
		}
		if ready == want {
			say("the fleet is installed and its first change is Ready at all %d stations, %s after the install", want, elapsed(time.Since(since)))
			return nil
		}
		if time.Since(lastSay) > 15*time.Second {
			say("first promotion: %d Tickets, %d of %d stations Ready", len(st), ready, want)
			lastSay = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the fleet's first promotion did not complete in %v: %d of %d stations Ready", o.timeout, ready, want)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
