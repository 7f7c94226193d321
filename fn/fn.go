// Package fn is function-k8sta: it expands a Track into one Subscription and
// one Ticket per station, junctions included, and moves changes down it. It
// is pure: observed state in, desired state out.
package fn

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/response"
)

// RequirementTracks prefixes the required resources that hold the sections,
// one requirement per section name ("tracks.<name>"). They are asked for by
// name, not as all Tracks of the namespace: with realtime compositions
// Crossplane watches what a function requires, and a Track requiring itself
// would wake itself with every status write until Crossplane's circuit
// breaker opens. Each call discovers one level of nesting, and Crossplane
// re-runs a function at most five times for its requirements, so junctions
// nest at most four levels deep in practice.
const RequirementTracks = "tracks"

// Function is function-k8sta.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log    logging.Logger
	now    func() time.Time
	caches caches
}

// An Option configures a Function.
type Option func(*Function)

// WithLogger sets the Function's logger.
func WithLogger(l logging.Logger) Option { return func(f *Function) { f.log = l } }

// WithClock sets the Function's clock, which decides when a soak has elapsed.
func WithClock(now func() time.Time) Option { return func(f *Function) { f.now = now } }

// New returns function-k8sta.
func New(o ...Option) *Function {
	f := &Function{log: logging.NewNopLogger(), now: time.Now, caches: newCaches()}
	for _, fn := range o {
		fn(f)
	}
	return f
}

// RunFunction composes a Track.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)
	xr := req.GetObserved().GetComposite().GetResource()
	observed := req.GetObserved().GetResources()
	name, namespace := identity(xr)
	log := f.log.WithValues("xr", str(xr, "metadata", "name"), "track", namespace+"/"+name)

	// 1. Read the Track. One without subscriptions is a section: the Tracks
	// that feed it through their junctions compose its stations.
	root, err := ParseTrack(name, obj(xr, "spec"))
	if err == nil && namespace == "" {
		err = TrackError{Reason: ReasonInvalidTrack, Message: "Track " + name + " has no namespace for its Tickets: compose an XTrack through its Track claim"}
	}
	if err != nil {
		return invalid(rsp, xr, observed, Problem(asTrackError(err))), nil
	}
	if root.Subscriptions == nil {
		rsp.Conditions = append(rsp.GetConditions(), SectionCondition(name))
		return rsp, nil
	}

	// 2. Ask Crossplane for the Track's operator controls and, to expand
	// its junctions, its sections. Until it has fetched them, keep
	// everything as it is.
	rsp.Requirements = &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{}}
	controls, controlsPending, warnings := requireControls(req, rsp.Requirements, name, namespace)
	for _, w := range warnings {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}
	var lookup SectionLookup
	if HasJunctions(root) {
		var pending, tooMany bool
		lookup, pending, tooMany = requireSections(req, rsp.Requirements, root, str(xr, "apiVersion"), namespace)
		if tooMany {
			return invalid(rsp, xr, observed, Problem(TrackError{Reason: ReasonTooManyStations, Message: fmt.Sprintf(
				"the junctions of Track %s and its sections name more than %d Tracks, so it expands to more than %d stations: feed fewer sections from its junctions, or split it into Tracks with subscriptions of their own",
				name, MaxStops, MaxStops)})), nil
		}
		if pending {
			log.Debug("Waiting for Crossplane to fetch the sections")
			rsp.Conditions = append(rsp.GetConditions(), cond(TypeValid, fnv1.Status_STATUS_CONDITION_UNKNOWN, ReasonFetching, "waiting for Crossplane to fetch the Tracks that junctions feed"))
			return passThrough(rsp, xr, observed), nil
		}
	}
	x, problems := Expand(root, lookup)
	if !problems.None() {
		log.Info("Cannot expand Track", "problems", len(problems.First)+problems.More, "first", problems.First[0].Message)
		return invalid(rsp, xr, observed, problems), nil
	}
	if controlsPending {
		log.Debug("Waiting for Crossplane to fetch the operator controls")
		rsp.Conditions = append(rsp.GetConditions(), cond(TypeValid, fnv1.Status_STATUS_CONDITION_UNKNOWN, ReasonFetchingControls, "waiting for Crossplane to fetch the Track's Approvals, Freezes and Pins"))
		return passThrough(rsp, xr, observed), nil
	}
	if w := controls.Unknown(name, x); w != "" {
		response.Warning(rsp, errors.New(w)).TargetCompositeAndClaim()
	}

	// 3. Work out every station's change from the observed Subscription
	// and Tickets.
	now := f.now()
	o := parseObserved(observed, f.caches.observed)
	o.Controls, o.History = controls, historyOf(xr, f.caches.histories, f.caches.history)
	p := Progress(x, o, now)

	// 4. Compose the Subscription and a Ticket for every station a change
	// has reached.
	desired := desiredResources(rsp, len(p.Stations)+1)
	c := newComposer(namespace, name, f.caches.desired)
	defer c.release()
	c.Released = Releases(x, o, p)
	clashing := ClashingTickets(name, x.Stops)
	sub, err := c.Subscription(root, x.Stops)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot compose Subscription"))
		return rsp, nil
	}
	desired[NameSubscription] = &fnv1.Resource{Resource: sub, Ready: ready(observed[NameSubscription])}
	for _, st := range p.Stations {
		if st.Change == nil {
			continue
		}
		t, err := c.Ticket(st.Stop, st.Change, clashing[st.Stop.Path])
		if err != nil {
			response.Fatal(rsp, errors.Wrapf(err, "cannot compose the Ticket of station %s", st.Stop.Path))
			return rsp, nil
		}
		r := &fnv1.Resource{Resource: t, Ready: fnv1.Ready_READY_FALSE}
		// Ready for the change it is given now, not the one before it.
		if _, ok := o.Tickets[st.Stop.Path].VerifiedFor(st.Change.ID); ok {
			r.Ready = fnv1.Ready_READY_TRUE
		}
		desired[TicketName(st.Stop.Path)] = r
	}

	// 5. Report each station and what holds the Track back, tell what
	// changed since the status said it, and come back when the next soak
	// ends or a window that holds a change opens or closes.
	prev := byPath(list(xr, "status", "stations"))
	stations := StationsStatus(p, prev, now)
	if err := setStatus(rsp, "stations", stations); err != nil {
		response.Fatal(rsp, errors.Wrap(err, "cannot set Track status"))
		return rsp, nil
	}
	StationEvents(rsp, p, prev)
	rsp.Conditions = append(rsp.GetConditions(), ValidCondition(Problems{}), PromotedCondition(p))
	rsp.Meta.Ttl = durationpb.New(CacheFor(xr, p))
	return rsp, nil
}

// identity is the Track's name and the namespace of its Tickets: for a
// legacy XTrack, the name and namespace of the claim in its
// spec.claimRef. Crossplane's claim controller writes that reference and
// strips it from what a claim's spec propagates; the claim-name and
// claim-namespace labels are not used, as labels propagate from the claim
// and anyone who can label the XR can set them.
func identity(xr *structpb.Struct) (name, namespace string) {
	name, namespace = str(xr, "metadata", "name"), str(xr, "metadata", "namespace")
	if namespace != "" {
		return name, namespace
	}
	if n, ns := str(xr, "spec", "claimRef", "name"), str(xr, "spec", "claimRef", "namespace"); n != "" && ns != "" {
		return n, ns
	}
	return name, ""
}

func asTrackError(err error) TrackError {
	var te TrackError
	if errors.As(err, &te) {
		return te
	}
	return TrackError{Reason: ReasonInvalidTrack, Message: err.Error()}
}

// requireSections adds to rq a requirement for every section the Track
// tree names, each by name: a Track never asks for itself, so its own
// status writes never wake it. Each call discovers one more level of nesting; pending is
// true while a named section has not been fetched yet. A section Crossplane
// fetched and found absent is left to Expand to report. It asks for at most
// MaxStops sections, each once: a tree that names more has more than
// MaxStops stations, and tooMany is true.
func requireSections(req *fnv1.RunFunctionRequest, rq *fnv1.Requirements, root *Track, apiVersion, namespace string) (lookup SectionLookup, pending, tooMany bool) {
	fetched := req.GetRequiredResources()
	type section struct {
		track *Track
		err   error
	}
	sections := map[string]section{}
	named := map[string]bool{}
	required := 0
	var queue []string
	enqueue := func(t *Track) {
		for i := range t.Stations {
			for _, name := range t.Stations[i].Tracks {
				if !named[name] {
					named[name] = true
					queue = append(queue, name)
				}
			}
		}
	}
	enqueue(root)
	for ; len(queue) > 0; queue = queue[1:] {
		if required == MaxStops {
			tooMany = true
			break
		}
		required++
		name := queue[0]
		key := RequirementTracks + "." + name
		rq.Resources[key] = &fnv1.ResourceSelector{ApiVersion: apiVersion, Kind: "Track", Namespace: &namespace, Match: &fnv1.ResourceSelector_MatchName{MatchName: name}}
		rs, ok := fetched[key]
		if !ok {
			pending = true
			continue
		}
		for _, r := range rs.GetItems() {
			t, err := ParseTrack(name, obj(r.GetResource(), "spec"))
			sections[name] = section{track: t, err: err}
			if err == nil {
				enqueue(t)
			}
		}
	}
	return func(name string) (*Track, bool, error) {
		s, ok := sections[name]
		return s.track, ok, s.err
	}, pending, tooMany
}

// invalid reports the problems and keeps everything composed as it is.
func invalid(rsp *fnv1.RunFunctionResponse, xr *structpb.Struct, observed map[string]*fnv1.Resource, p Problems) *fnv1.RunFunctionResponse {
	c := ValidCondition(p)
	rsp.Conditions = append(rsp.GetConditions(), c)
	response.Warning(rsp, errors.New(c.GetMessage())).TargetCompositeAndClaim()
	return passThrough(rsp, xr, observed)
}

// passThrough keeps every observed composed resource and the stations'
// status as they are.
func passThrough(rsp *fnv1.RunFunctionResponse, xr *structpb.Struct, observed map[string]*fnv1.Resource) *fnv1.RunFunctionResponse {
	desired := desiredResources(rsp, len(observed))
	for n, r := range observed {
		if _, ok := desired[n]; !ok {
			desired[n] = PassThrough(r.GetResource())
		}
	}
	if v := val(xr, "status", "stations"); v != nil {
		_ = setStatus(rsp, "stations", v)
	}
	return rsp
}

func desiredResources(rsp *fnv1.RunFunctionResponse, size int) map[string]*fnv1.Resource {
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Resources == nil {
		rsp.Desired.Resources = make(map[string]*fnv1.Resource, size)
	}
	return rsp.Desired.Resources
}

// ready is the readiness of a composed resource: ready when its observed
// Ready condition is True.
func ready(r *fnv1.Resource) fnv1.Ready {
	if r == nil {
		return fnv1.Ready_READY_FALSE
	}
	return readiness(r.GetResource())
}

// setStatus sets status.<field> of the desired XR, keeping what earlier
// pipeline steps desired.
func setStatus(rsp *fnv1.RunFunctionResponse, field string, v *structpb.Value) error {
	if rsp.Desired == nil {
		rsp.Desired = &fnv1.State{}
	}
	if rsp.Desired.Composite == nil {
		rsp.Desired.Composite = &fnv1.Resource{}
	}
	if rsp.Desired.Composite.Resource == nil {
		rsp.Desired.Composite.Resource = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	xr := rsp.Desired.Composite.Resource
	if xr.Fields == nil {
		xr.Fields = map[string]*structpb.Value{}
	}
	st := xr.GetFields()["status"]
	if st == nil {
		st = structv(map[string]*structpb.Value{})
		xr.Fields["status"] = st
	}
	if st.GetStructValue() == nil {
		return errors.New("desired status is not an object")
	}
	if st.GetStructValue().Fields == nil {
		st.GetStructValue().Fields = map[string]*structpb.Value{}
	}
	st.GetStructValue().Fields[field] = v
	return nil
}
