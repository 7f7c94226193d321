package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A scenario is one event: a change made, then announced by webhooks.
type scenario struct {
	id    string
	title string
	kind  string // the sender: kindRegistry or kindGit
	// prepare makes the change and returns the sender's event and how to
	// recognise the change on a Ticket.
	prepare func(ctx context.Context) (body []byte, is func(stationState) bool, err error)
	// target reports whether a station must take the change; no other may.
	target func(stationKey) bool
}

func (f *fleet) scenario(id rune) scenario {
	all := func(stationKey) bool { return true }
	switch id {
	case 'A':
		tag := "1.1.0"
		return scenario{id: "A", title: "a new image " + tag + ", one registry push event", kind: kindRegistry, target: all,
			prepare: func(ctx context.Context) ([]byte, func(stationState) bool, error) {
				if err := f.pushImage(ctx, tag); err != nil {
					return nil, nil, err
				}
				return registryPush(f.image, tag), func(s stationState) bool { return s.specTag == tag }, nil
			}}
	case 'B':
		return scenario{id: "B", title: "a commit to the shared base, one git push event", kind: kindGit, target: all,
			prepare: func(context.Context) ([]byte, func(stationState) bool, error) {
				c, err := f.commit(map[string]string{"base/configmap.yaml": baseConfigMap("hola")}, "base: greet in Spanish")
				if err != nil {
					return nil, nil, err
				}
				return gitPush(f.repoURL, c), func(s stationState) bool { return s.specCommit == c }, nil
			}}
	default:
		app := f.app(f.n / 2)
		return scenario{id: "C", title: "a commit to " + app + "'s overlays only, one git push event", kind: kindGit,
			target: func(k stationKey) bool { return k.app == app },
			prepare: func(context.Context) ([]byte, func(stationState) bool, error) {
				files := map[string]string{}
				for _, s := range stations {
					files[f.overlay(app, s)+"/kustomization.yaml"] = overlayKustomization(app, s, "2")
				}
				c, err := f.commit(files, app+": overlay revision 2")
				if err != nil {
					return nil, nil, err
				}
				return gitPush(f.repoURL, c), func(s stationState) bool { return s.specCommit == c }, nil
			}}
	}
}

// A snapshot is every counter a scenario reads before and after.
type snapshot struct {
	api, crossplane, argocd samples
	provider, function      procSample
	gitLog, registryLog     int64
}

// snapshot reads the counters. The apiserver's and /proc's must be read;
// Crossplane's and Argo CD's metrics are noted missing when they cannot be.
func (s *stack) snapshot(ctx context.Context, notes *[]string) (snapshot, error) {
	var sn snapshot
	var err error
	if sn.api, err = s.scrape(ctx, "/metrics"); err != nil {
		return sn, err
	}
	for _, m := range []struct {
		into *samples
		port string
		what string
	}{
		{&sn.crossplane, "CROSSPLANE_METRICS_PORT", "Crossplane core"},
		{&sn.argocd, "ARGOCD_CONTROLLER_METRICS_PORT", "Argo CD's application-controller"},
	} {
		if *m.into, err = s.scrape(ctx, "http://127.0.0.1:"+s.env[m.port]+"/metrics"); err != nil {
			*notes = append(*notes, fmt.Sprintf("%s metrics not read: %v", m.what, err))
		}
	}
	for _, p := range []struct {
		into *procSample
		name string
	}{{&sn.provider, "provider"}, {&sn.function, "function"}} {
		pid, err := s.pidOf(p.name)
		if err != nil {
			return sn, err
		}
		if *p.into, err = readProc(pid); err != nil {
			return sn, err
		}
	}
	if sn.gitLog, err = logSize(filepath.Join(s.logs, "gitserver.log")); err != nil {
		return sn, err
	}
	if sn.registryLog, err = logSize(filepath.Join(s.logs, "registry.log")); err != nil {
		return sn, err
	}
	return sn, nil
}

// runScenario makes the scenario's change, sends its webhooks and follows
// the fleet until every station it must reach is Ready for it and nothing
// has moved for o.settle; then it reads the counters again.
func runScenario(ctx context.Context, o options, s *stack, f *fleet, obs *observer, h hooks, sc scenario) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	say("scenario %s: %s", sc.id, sc.title)
	body, is, err := sc.prepare(ctx)
	if err != nil {
		return nil, err
	}
	base, err := obs.stations()
	if err != nil {
		return nil, err
	}
	heads0, err := f.heads()
	if err != nil {
		return nil, err
	}
	r := &result{Scenario: sc.id, Title: sc.title, N: o.n, Mode: o.mode}
	before, err := s.snapshot(ctx, &r.Notes)
	if err != nil {
		return nil, err
	}
	if err := resetPeak(before.provider.pid); err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("provider peak RSS is since the provider started: cannot reset it (%v)", err))
		r.PeakSinceStart = true
	}
	r.BreakerOpenAtStart = len(obs.reset())

	sent, err := h.send(ctx, sc.kind, body)
	if err != nil {
		return nil, fmt.Errorf("cannot send the %s webhooks: %w", sc.kind, err)
	}
	t0 := sent.first
	r.Webhooks, r.WebhooksRetried, r.WebhookSpan = sent.sent, sent.retried, sent.last.Sub(sent.first)
	say("scenario %s: %d %s webhooks sent in %v", sc.id, sent.sent, sc.kind, r.WebhookSpan.Round(time.Millisecond))

	var targets []stationKey
	for k := range base {
		if sc.target(k) {
			targets = append(targets, k)
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no station to reach")
	}
	pushed, ready := map[stationKey]time.Time{}, map[stationKey]time.Time{}
	given := map[stationKey]bool{}
	lastHead := map[string]string{}
	for b, hd := range heads0 {
		lastHead[b] = hd
	}
	headMoves := map[string]int{}
	var done, lastMove time.Time
	lastSay := time.Now()
	prevSig := ""
	for {
		now := time.Now()
		st, err := obs.stations()
		if err != nil {
			return nil, err
		}
		heads, err := f.heads()
		if err != nil {
			return nil, err
		}
		for b, hd := range heads {
			if lastHead[b] != hd {
				headMoves[b]++
				lastHead[b] = hd
			}
		}
		var sig strings.Builder
		stable := true
		keys := make([]stationKey, 0, len(st))
		for k := range st {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			x := st[k]
			if heads[x.branch] != heads0[x.branch] && pushed[k].IsZero() {
				pushed[k] = now
			}
			if x.specID != base[k].specID {
				given[k] = true
			}
			if is(x) && x.delivered() && ready[k].IsZero() {
				ready[k] = now
			}
			stable = stable && x.delivered()
			fmt.Fprintf(&sig, "%s=%s/%s/%t/%s;", k, x.specID, x.liveID, x.ready, heads[x.branch])
		}
		if sig.String() != prevSig {
			prevSig, lastMove = sig.String(), now
		}
		reached := 0
		for _, k := range targets {
			if !ready[k].IsZero() {
				reached++
			}
		}
		if reached == len(targets) && done.IsZero() {
			done = now
			say("scenario %s: all %d stations Ready %.1f s after the webhook; waiting until nothing moves for %v", sc.id, len(targets), now.Sub(t0).Seconds(), o.settle)
		}
		if !done.IsZero() && stable && now.Sub(lastMove) >= o.settle {
			break
		}
		if time.Since(lastSay) >= 10*time.Second {
			say("scenario %s [%.0f s]: %d of %d stations Ready, %d pushed, %d given the change", sc.id, now.Sub(t0).Seconds(), reached, len(targets), len(pushed), len(given))
			lastSay = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("not done after %v: %d of %d stations Ready for the change", o.timeout, reached, len(targets))
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.Settled = lastMove.Sub(t0)

	after, err := s.snapshot(ctx, &r.Notes)
	if err != nil {
		return nil, err
	}
	r.measure(s, f, before, after)

	// Times: from the first webhook to the last station of each set.
	latest := func(at map[stationKey]time.Time, keep func(stationKey) bool) time.Duration {
		var d time.Duration
		for _, k := range targets {
			if keep(k) && at[k].Sub(t0) > d {
				d = at[k].Sub(t0)
			}
		}
		return d
	}
	dev := func(k stationKey) bool { return k.station == stations[0] }
	r.DevStations = 0
	for _, k := range targets {
		if dev(k) {
			r.DevStations++
		}
	}
	r.Targets = len(targets)
	r.DevPushed = latest(pushed, dev)
	r.DevReady = latest(ready, dev)
	r.AllReady = latest(ready, func(stationKey) bool { return true })
	for k := range given {
		r.Deliveries++
		if !sc.target(k) {
			r.Outside = append(r.Outside, k.String())
		}
	}
	for k := range pushed {
		if !sc.target(k) && !given[k] {
			r.Outside = append(r.Outside, k.String())
		}
	}
	sort.Strings(r.Outside)
	r.BranchesMoved = len(headMoves)
	for b, n := range headMoves {
		r.HeadMoves += n
		if !strings.HasPrefix(b, "env/") {
			continue
		}
		owner := strings.Split(strings.TrimPrefix(b, "env/"), "/")
		if len(owner) == 2 && !sc.target(stationKey{owner[0], owner[1]}) {
			r.OutsideBranches++
		}
	}
	// Applications: one sync requested per Application of each station
	// that took the change, none elsewhere.
	requests, starts, tripped := obs.counts()
	r.Tripped = tripped
	r.SyncRequests, r.SyncStarts = requests, starts
	for i := 0; i < f.n; i++ {
		for _, s := range stations {
			k := stationKey{f.app(i), s}
			name := f.application(k.app, k.station)
			want := 0
			if given[k] {
				want = 1
			}
			if requests[name] == want {
				r.AppsSyncedAsWanted++
			} else {
				r.AppsSyncedOtherwise = append(r.AppsSyncedOtherwise, fmt.Sprintf("%s: %d requested, want %d", name, requests[name], want))
			}
		}
	}
	sort.Strings(r.AppsSyncedOtherwise)
	say("scenario %s: done; settled %.1f s after the webhook", sc.id, r.Settled.Seconds())
	return r, nil
}
