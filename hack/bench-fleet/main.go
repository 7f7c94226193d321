// Command bench-fleet is the Go half of `make bench-fleet`
// (hack/bench-fleet/bench-fleet.sh starts the stack and runs it): N Tracks of
// three stations each on one config monorepo, then three scenarios, each
// measured from the outside, on the real stack:
//
//	A  a new image in the registry, announced by the registry's webhook
//	B  a commit to the monorepo's shared base, announced by a git push webhook
//	C  a commit to one app's overlays only, announced the same way
//
// It reads the stack's environment (STATE/env, STATE/packages/env), creates
// the monorepo under the git server's root, installs the fleet, waits for its
// first promotion, runs the scenarios and prints a table per scenario and the
// issue's goals, PASS or MISS. A missed goal is a result, not a failure: it
// exits non-zero only when it cannot measure.
//
// Nothing it prints holds a credential: webhook keys are read from the
// cluster and only ever sent.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	state     string        // the stack's state directory
	n         int           // Tracks
	mode      string        // webhook mode: subscription or namespace
	scenarios string        // which scenarios, e.g. ABC
	timeout   time.Duration // per wait: first promotion, each scenario
	settle    time.Duration // quiet time that ends a scenario
	cooldown  time.Duration // wait before each scenario
	helper    string        // k8sta-demo, for image pushes
	gitRoot   string        // the git server's root
	gitURL    string        // the git server's base URL
	results   string        // where results are kept across runs
}

func main() {
	var o options
	flag.StringVar(&o.state, "state", "", "the stack's state directory (hack/stack/up.sh STATE)")
	flag.IntVar(&o.n, "n", 100, "how many Tracks (3 stations each)")
	flag.StringVar(&o.mode, "webhook", "namespace", "how events are announced: namespace (one webhook, the ProviderConfig's) or subscription (one per Subscription, on each one's own URL)")
	flag.StringVar(&o.scenarios, "scenarios", "ABC", "which scenarios to run, in order")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "how long the first promotion, and each scenario, may take")
	flag.DurationVar(&o.settle, "settle", 10*time.Second, "a scenario ends once every station is Ready and nothing moved for this long")
	flag.DurationVar(&o.cooldown, "cooldown", 0, "wait this long before each scenario, e.g. 5m for every Crossplane breaker to close again (default: back to back, the harshest case)")
	flag.StringVar(&o.helper, "demo-helper", "", "the k8sta-demo binary (hack/demo), which pushes images")
	flag.StringVar(&o.gitRoot, "git-root", "", "the git server's root directory")
	flag.StringVar(&o.gitURL, "git-url", "", "the git server's base URL, http://127.0.0.1:PORT")
	flag.StringVar(&o.results, "results", "", "directory keeping each run's figures (results-<mode>-N<n>.json), for the T(N) ≤ 2×T(N/2) goal")
	flag.Parse()
	if err := o.validate(); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fail(err)
	}
}

func (o *options) validate() error {
	switch {
	case o.state == "" || o.helper == "" || o.gitRoot == "" || o.gitURL == "":
		return fmt.Errorf("-state, -demo-helper, -git-root and -git-url are required")
	case o.n < 1 || o.n > 999:
		return fmt.Errorf("-n %d: want 1 to 999 Tracks", o.n)
	case o.mode != "subscription" && o.mode != "namespace":
		return fmt.Errorf("-webhook %q: want subscription or namespace", o.mode)
	case strings.Trim(strings.ToUpper(o.scenarios), "ABC") != "":
		return fmt.Errorf("-scenarios %q: want letters of ABC", o.scenarios)
	}
	o.scenarios = strings.ToUpper(o.scenarios)
	if o.results == "" {
		o.results = filepath.Join(o.state, "results")
	}
	return nil
}

func run(ctx context.Context, o options) error {
	env := map[string]string{}
	for _, f := range []string{filepath.Join(o.state, "env"), filepath.Join(o.state, "packages", "env")} {
		if err := readEnv(f, env); err != nil {
			return err
		}
	}
	s, err := connect(o, env)
	if err != nil {
		return err
	}
	f := newFleet(o, env)
	say("creating the monorepo %s: base/, apps/<app>/{dev,staging,prod} for %d apps", f.repoURL, o.n)
	if err := f.createRepo(); err != nil {
		return err
	}
	say("pushing %s:%s", f.image, f.tag)
	if err := f.pushImage(ctx, f.tag); err != nil {
		return err
	}
	obs, err := s.observe(ctx, f)
	if err != nil {
		return err
	}
	install := &result{Scenario: "install", N: o.n, Mode: o.mode, Deliveries: o.n * len(stations)}
	obs.reset()
	before, err := s.snapshot(ctx, &install.Notes)
	if err != nil {
		return err
	}
	say("installing the fleet: namespace %s, ProviderConfig, %d Applications, %d Tracks", f.ns, 3*o.n, o.n)
	installed := time.Now()
	if err := s.install(ctx, f); err != nil {
		return err
	}
	if err := waitFirstPromotion(ctx, o, f, obs, installed); err != nil {
		return err
	}
	install.AllReady = time.Since(installed)
	after, err := s.snapshot(ctx, &install.Notes)
	if err != nil {
		return err
	}
	install.measure(s, f, before, after)
	_, _, install.Tripped = obs.counts()
	printInstall(os.Stdout, install)
	hooks, err := newHooks(ctx, o.mode, s, f)
	if err != nil {
		return err
	}
	var results []*result
	for _, id := range o.scenarios {
		sc := f.scenario(id)
		if o.cooldown > 0 {
			say("cooling down for %v before scenario %c", o.cooldown, id)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.cooldown):
			}
		}
		r, err := runScenario(ctx, o, s, f, obs, hooks, sc)
		if err != nil {
			return fmt.Errorf("scenario %c: %w", id, err)
		}
		printResult(os.Stdout, r)
		results = append(results, r)
	}
	prev, prevErr := loadResults(o.results, o.mode, o.n/2)
	printGoals(os.Stdout, o, install, results, prev, prevErr)
	return saveResults(o.results, o.mode, o.n, results)
}

func readEnv(path string, into map[string]string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read the stack's environment: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			into[k] = v
		}
	}
	return sc.Err()
}

var started = time.Now()

// say prints a progress line in the style of hack/stack/lib.sh.
func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, ">> bench-fleet [%s]: "+format+"\n", append([]any{elapsed(time.Since(started))}, a...)...)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "!! bench-fleet: %v\n", err)
	os.Exit(1)
}

// elapsed formats a duration as m:ss.
func elapsed(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
