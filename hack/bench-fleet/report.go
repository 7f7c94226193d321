package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A result is one scenario's figures; saved as JSON so that a later run can
// compare its times with a run at half the Tracks.
type result struct {
	Scenario, Title, Mode string
	N                     int

	Webhooks        int
	WebhooksRetried int
	WebhookSpan     time.Duration

	Targets, DevStations int
	Deliveries           int // stations given the change (targets or not)
	DevPushed            time.Duration
	DevReady             time.Duration
	AllReady             time.Duration
	Settled              time.Duration

	Git      gitCounts
	Registry map[string]int

	ProviderCPU, ProviderWorkerCPU float64 // seconds: the process, its waited-for render workers
	ProviderPeakMiB                float64
	PeakSinceStart                 bool
	FunctionCPU                    float64
	FunctionCalls                  float64 // -1: not exposed

	APIWrites      map[string]float64 // "VERB resource" -> requests
	APIWritesTotal float64
	APILeaseWrites float64
	APIByCode      map[string]float64 // writes by HTTP code, when not 2xx
	API429         float64            // any verb
	EtcdWrites     map[string]float64

	BreakerOpens       float64
	BreakerEvents      map[string]float64
	Tripped            []string // Tracks whose Responsive condition turned False
	BreakerOpenAtStart int      // Tracks whose breaker was open when the scenario began

	SyncRequests, SyncStarts map[string]int
	SyncsCompleted           map[string]float64
	AppsSyncedAsWanted       int
	AppsSyncedOtherwise      []string

	Outside         []string // stations outside the target given the change or pushed
	OutsideBranches int      // rendered branches outside the target that moved
	BranchesMoved   int
	HeadMoves       int

	Notes []string
}

var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// measure turns the before and after counters into the result's figures.
func (r *result) measure(s *stack, f *fleet, before, after snapshot) {
	// Provider and function: /proc.
	r.ProviderCPU = after.provider.self - before.provider.self
	r.ProviderWorkerCPU = after.provider.children - before.provider.children
	r.ProviderPeakMiB = float64(after.provider.hwmKiB) / 1024
	r.FunctionCPU = (after.function.self + after.function.children) - (before.function.self + before.function.children)

	// API writes: the apiserver's own request counter, every client.
	isWrite := func(l map[string]string) bool { return writeVerbs[l["verb"]] }
	resource := func(l map[string]string) string {
		res := l["resource"]
		if l["group"] != "" {
			res += "." + l["group"]
		}
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		return l["verb"] + " " + res
	}
	r.APIWrites = diff(before.api.by("apiserver_request_total", isWrite, resource), after.api.by("apiserver_request_total", isWrite, resource))
	for k, v := range r.APIWrites {
		r.APIWritesTotal += v
		if strings.HasSuffix(k, " leases.coordination.k8s.io") {
			r.APILeaseWrites += v
		}
	}
	code := func(l map[string]string) string { return l["code"] }
	r.APIByCode = diff(before.api.by("apiserver_request_total", isWrite, code), after.api.by("apiserver_request_total", isWrite, code))
	for c := range r.APIByCode {
		if strings.HasPrefix(c, "2") {
			delete(r.APIByCode, c)
		}
	}
	is429 := func(l map[string]string) bool { return l["code"] == "429" }
	r.API429 = after.api.sum("apiserver_request_total", is429) - before.api.sum("apiserver_request_total", is429)
	if after.api.has("etcd_requests_total") {
		etcdWrite := func(l map[string]string) bool {
			switch l["operation"] {
			case "create", "update", "delete", "GuaranteedUpdate", "Create", "Delete":
				return true
			}
			return false
		}
		op := func(l map[string]string) string { return l["operation"] }
		r.EtcdWrites = diff(before.api.by("etcd_requests_total", etcdWrite, op), after.api.by("etcd_requests_total", etcdWrite, op))
	} else {
		r.Notes = append(r.Notes, "etcd writes: the apiserver exposes no etcd_requests_total")
	}

	// Crossplane core: function calls and its XR circuit breaker.
	r.FunctionCalls = -1
	if after.crossplane.has("function_run_function_request_total") {
		r.FunctionCalls = after.crossplane.sum("function_run_function_request_total", nil) - before.crossplane.sum("function_run_function_request_total", nil)
	} else if after.crossplane != nil {
		r.Notes = append(r.Notes, "function calls: Crossplane core exposes no function_run_function_request_total (yet: it appears after the first call)")
	}
	r.BreakerOpens = after.crossplane.sum("circuit_breaker_opens_total", nil) - before.crossplane.sum("circuit_breaker_opens_total", nil)
	result := func(l map[string]string) string { return l["result"] }
	r.BreakerEvents = diff(before.crossplane.by("circuit_breaker_events_total", nil, result), after.crossplane.by("circuit_breaker_events_total", nil, result))

	// Argo CD: syncs the application-controller completed, by Application.
	name := func(l map[string]string) string { return l["name"] }
	r.SyncsCompleted = diff(before.argocd.by("argocd_app_sync_total", nil, name), after.argocd.by("argocd_app_sync_total", nil, name))

	// The git server's and the registry's own logs.
	if lines, err := linesAfter(filepath.Join(s.logs, "gitserver.log"), before.gitLog); err != nil {
		r.Notes = append(r.Notes, "git requests not counted: "+err.Error())
	} else {
		r.Git = countGit(lines, filepath.Base(f.repo))
	}
	if lines, err := linesAfter(filepath.Join(s.logs, "registry.log"), before.registryLog); err != nil {
		r.Notes = append(r.Notes, "registry requests not counted: "+err.Error())
	} else {
		_, repo, _ := strings.Cut(f.image, "/")
		r.Registry = countRegistry(lines, repo)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// printResult prints a scenario's table, in Markdown.
func printResult(w io.Writer, r *result) {
	fmt.Fprintf(w, "\n### Scenario %s: %s (N=%d, -webhook=%s)\n\n", r.Scenario, r.Title, r.N, r.Mode)
	fmt.Fprintln(w, "| measure | value | measured from |")
	fmt.Fprintln(w, "|---|---|---|")
	row := func(what, value, from string) { fmt.Fprintf(w, "| %s | %s | %s |\n", what, value, from) }
	row("webhooks sent", fmt.Sprintf("%d in %.2f s (%d retried after 503)", r.Webhooks, r.WebhookSpan.Seconds(), r.WebhooksRetried), "the harness; times below start at the first")
	row(fmt.Sprintf("→ last dev station pushed (of %d)", r.DevStations), secs(r.DevPushed), "rendered branch heads in the bare repository on disk, read every 100 ms")
	row(fmt.Sprintf("→ last dev station Ready (of %d)", r.DevStations), secs(r.DevReady), "Tickets (watch): Ready, status change = spec change = the new one")
	row(fmt.Sprintf("→ last station Ready (of %d)", r.Targets), secs(r.AllReady), "same")
	row("→ last movement (settled)", secs(r.Settled), "last change of any Ticket or rendered branch")
	row("station deliveries", fmt.Sprint(r.Deliveries), "Tickets given a new change")
	g := func(client, what string) int { return r.Git[client][what] }
	row("monorepo upload-pack (K8sTA / Argo CD)", fmt.Sprintf("%d / %d", g("k8sta", "upload-pack"), g("argocd", "upload-pack")), "git server log, POST git-upload-pack, by User-Agent (go-git / git)")
	row("monorepo receive-pack (K8sTA)", fmt.Sprint(g("k8sta", "receive-pack")), "git server log, POST git-receive-pack")
	row("monorepo info/refs (K8sTA / Argo CD)", fmt.Sprintf("%d / %d", g("k8sta", "info/refs upload-pack")+g("k8sta", "info/refs receive-pack"), g("argocd", "info/refs upload-pack")), "git server log, GET info/refs")
	row("monorepo requests, all", fmt.Sprint(g("all", "all")), "git server log")
	row("registry requests", mapLine(r.Registry), "registry log (crane), every client")
	row("provider CPU", fmt.Sprintf("%.1f s (+ %.1f s render workers)", r.ProviderCPU, r.ProviderWorkerCPU), "/proc/PID/stat utime+stime (cutime+cstime)")
	peak := "since the scenario began"
	if r.PeakSinceStart {
		peak = "since the provider started"
	}
	row("provider peak RSS", fmt.Sprintf("%.0f MiB", r.ProviderPeakMiB), "/proc/PID/status VmHWM, "+peak+" (clear_refs 5)")
	calls := "not exposed"
	if r.FunctionCalls >= 0 {
		calls = fmt.Sprintf("%.0f", r.FunctionCalls)
	}
	row("function calls", calls, "Crossplane core function_run_function_request_total")
	row("function CPU", fmt.Sprintf("%.1f s", r.FunctionCPU), "/proc/PID/stat of the function")
	perDelivery := "-"
	if r.Deliveries > 0 {
		perDelivery = fmt.Sprintf("%.1f", r.APIWritesTotal/float64(r.Deliveries))
	}
	row("API writes", fmt.Sprintf("%.0f (%.0f lease renewals), %s per station delivery", r.APIWritesTotal, r.APILeaseWrites, perDelivery), "kube-apiserver apiserver_request_total, POST/PUT/PATCH/APPLY/DELETE, every client")
	row("API writes by verb and resource", topWrites(r.APIWrites, 14), "same")
	if len(r.APIByCode) > 0 || r.API429 > 0 {
		row("API answers not 2xx (writes); 429 (all)", mapLineF(r.APIByCode)+fmt.Sprintf("; %.0f", r.API429), "same, by code")
	}
	if r.EtcdWrites != nil {
		row("etcd writes", mapLineF(r.EtcdWrites), "kube-apiserver etcd_requests_total, by operation")
	}
	row("Crossplane XR breaker", fmt.Sprintf("%.0f opened (%d Tracks turned Responsive=False; %d were open at the start); events %s", r.BreakerOpens, len(r.Tripped), r.BreakerOpenAtStart, mapLineF(r.BreakerEvents)), "Crossplane core circuit_breaker_opens_total, _events_total by result; Tracks (watch)")
	row("Argo CD syncs", fmt.Sprintf("%d requested, %d started, %.0f completed", sumInts(r.SyncRequests), sumInts(r.SyncStarts), sumFloats(r.SyncsCompleted)), "Applications (watch): operation set, operationState.startedAt; argocd_app_sync_total")
	row("Applications synced exactly once per change (none elsewhere)", fmt.Sprintf("%d of %d", r.AppsSyncedAsWanted, r.AppsSyncedAsWanted+len(r.AppsSyncedOtherwise)), "operation requests per Application")
	row("stations outside the target touched", fmt.Sprintf("%d (%d rendered branches moved)", len(r.Outside), r.OutsideBranches), "Tickets given the change; branch heads")
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	if len(r.AppsSyncedOtherwise) > 0 {
		fmt.Fprintf(w, "\nApplications not synced exactly as wanted: %s", firstFew(r.AppsSyncedOtherwise, 8))
	}
	if len(r.Outside) > 0 {
		fmt.Fprintf(w, "\nstations outside the target touched: %s", firstFew(r.Outside, 8))
	}
	fmt.Fprintln(w)
}

// printInstall prints what the fleet's install and first promotion cost.
func printInstall(w io.Writer, r *result) {
	fmt.Fprintf(w, "\n### Install and first promotion (N=%d, %d stations): every station Ready %s after the install\n\n", r.N, r.Deliveries, secs(r.AllReady))
	fmt.Fprintln(w, "| measure | value |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| API writes | %.0f, %.1f per station |\n", r.APIWritesTotal, r.APIWritesTotal/float64(max(r.Deliveries, 1)))
	fmt.Fprintf(w, "| Crossplane XR breaker | %.0f opened, %d of %d Tracks turned Responsive=False |\n", r.BreakerOpens, len(r.Tripped), r.N)
	fmt.Fprintf(w, "| function calls, CPU | %.0f, %.1f s |\n", r.FunctionCalls, r.FunctionCPU)
	fmt.Fprintf(w, "| provider CPU, peak RSS | %.1f s (+ %.1f s render workers), %.0f MiB |\n", r.ProviderCPU, r.ProviderWorkerCPU, r.ProviderPeakMiB)
	fmt.Fprintf(w, "| monorepo upload-pack, receive-pack, info/refs (K8sTA) | %d, %d, %d |\n", r.Git["k8sta"]["upload-pack"], r.Git["k8sta"]["receive-pack"],
		r.Git["k8sta"]["info/refs upload-pack"]+r.Git["k8sta"]["info/refs receive-pack"])
	fmt.Fprintf(w, "| registry requests | %s |\n", mapLine(r.Registry))
}

// A goal is one of the issue's, checked on one scenario's figures.
type goal struct {
	name  string
	check func(r *result) (ok bool, figure string, applies bool)
}

var goals = []goal{
	{"webhook → all dev stations pushed < 10 s", func(r *result) (bool, string, bool) {
		return r.DevPushed < 10*time.Second, secs(r.DevPushed), true
	}},
	{"webhook → every station Ready < 60 s", func(r *result) (bool, string, bool) {
		return r.AllReady < 60*time.Second, secs(r.AllReady), true
	}},
	{"≤ 20 API writes per station delivery", func(r *result) (bool, string, bool) {
		if r.Deliveries == 0 {
			return false, "no delivery", true
		}
		v := r.APIWritesTotal / float64(r.Deliveries)
		return v <= 20, fmt.Sprintf("%.1f", v), true
	}},
	{"≤ 3 upload-packs of the monorepo per event (K8sTA)", func(r *result) (bool, string, bool) {
		v := r.Git["k8sta"]["upload-pack"]
		return v <= 3, fmt.Sprintf("%d (fetches in all, info/refs: %d)", v, r.Git["k8sta"]["info/refs upload-pack"]), true
	}},
	{"exactly one sync per Application per change", func(r *result) (bool, string, bool) {
		return len(r.AppsSyncedOtherwise) == 0, fmt.Sprintf("%d of %d Applications otherwise", len(r.AppsSyncedOtherwise), r.AppsSyncedAsWanted+len(r.AppsSyncedOtherwise)), true
	}},
	{"no breaker trip", func(r *result) (bool, string, bool) {
		// A breaker still open from before cannot trip again, and holds
		// the Track's events back all the same.
		return r.BreakerOpens == 0 && len(r.Tripped) == 0 && r.BreakerOpenAtStart == 0,
			fmt.Sprintf("%.0f opened, %d Tracks turned Responsive=False, %d still open from before", r.BreakerOpens, len(r.Tripped), r.BreakerOpenAtStart), true
	}},
	{"provider peak RSS < 300 MiB", func(r *result) (bool, string, bool) {
		return r.ProviderPeakMiB < 300, fmt.Sprintf("%.0f MiB", r.ProviderPeakMiB), true
	}},
	{"scenario C touches only that app's stations", func(r *result) (bool, string, bool) {
		return len(r.Outside) == 0 && r.OutsideBranches == 0, fmt.Sprintf("%d other stations, %d other branches", len(r.Outside), r.OutsideBranches), r.Scenario == "C"
	}},
}

// printGoals prints each goal PASS or MISS with its figure, per scenario,
// and the growth goal against a saved run at N/2.
func printGoals(w io.Writer, o options, install *result, results []*result, prev []*result, prevErr error) {
	fmt.Fprintf(w, "\n### Goals (issue 10; stated for N=100 on this 2-core machine; this run: N=%d, -webhook=%s)\n\n", o.n, o.mode)
	mark := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	for _, g := range goals {
		for _, r := range append([]*result{install}, results...) {
			if r.Scenario == "install" && g.name != "no breaker trip" {
				continue
			}
			if ok, fig, applies := g.check(r); applies {
				fmt.Fprintf(w, "%s  %-7s  %s: %s\n", mark(ok), r.Scenario, g.name, fig)
			}
		}
	}
	half := map[string]*result{}
	for _, p := range prev {
		half[p.Scenario] = p
	}
	for _, r := range results {
		p := half[r.Scenario]
		if p == nil || o.n/2 < 1 {
			why := "no saved run at N=" + fmt.Sprint(o.n/2)
			if prevErr != nil && !errors.Is(prevErr, os.ErrNotExist) {
				why = prevErr.Error()
			}
			fmt.Fprintf(w, "n/a   %-7s  time grows no faster than N, T(%d) ≤ 2×T(%d): %s (run with -n %d first, same -webhook)\n", r.Scenario, o.n, o.n/2, why, o.n/2)
			continue
		}
		ok := r.AllReady <= 2*p.AllReady
		fmt.Fprintf(w, "%s  %-7s  time grows no faster than N, T(%d) ≤ 2×T(%d): every station Ready %s vs %s\n", mark(ok), r.Scenario, o.n, p.N, secs(r.AllReady), secs(p.AllReady))
	}
}

func resultsFile(dir, mode string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("results-%s-N%d.json", mode, n))
}

func saveResults(dir, mode string, n int, results []*result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the results: %w", err)
	}
	p := resultsFile(dir, mode, n)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", p, err)
	}
	say("figures saved in %s", p)
	return nil
}

func loadResults(dir, mode string, n int) ([]*result, error) {
	b, err := os.ReadFile(resultsFile(dir, mode, n))
	if err != nil {
		return nil, err
	}
	var rs []*result
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", resultsFile(dir, mode, n), err)
	}
	return rs, nil
}

func mapLine(m map[string]int) string {
	f := map[string]float64{}
	for k, v := range m {
		f[k] = float64(v)
	}
	return mapLineF(f)
}

// mapLineF prints "all N: k v, k v" with "all" first, then by key.
func mapLineF(m map[string]float64) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "all" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	if v, ok := m["all"]; ok {
		parts = append(parts, fmt.Sprintf("%.0f:", v))
	}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// topWrites lists the n largest counts.
func topWrites(m map[string]float64, n int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	rest := 0.0
	for i, k := range keys {
		if i < n {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
		} else {
			rest += m[k]
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("other %.0f", rest))
	}
	return strings.Join(parts, "; ")
}

func sumInts(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

func sumFloats(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

func firstFew(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}
