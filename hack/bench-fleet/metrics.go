package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// A sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

type samples []sample

// parseMetrics reads the Prometheus text format: comments are skipped, a
// line is `name{label="value",...} value [timestamp]`.
func parseMetrics(text string) samples {
	var out samples
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		var rest string
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			s.name = line[:i]
			var ok bool
			if rest, ok = parseLabels(line[i+1:], s.labels); !ok {
				continue
			}
		} else if i >= 0 {
			s.name, rest = line[:i], line[i:]
		} else {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// parseLabels reads `a="x",b="y\"z"}` into labels and returns what follows
// the closing brace.
func parseLabels(s string, labels map[string]string) (string, bool) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return "", false
		}
		name := strings.TrimSpace(s[:eq])
		var v strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(s[i])
				}
				continue
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", false
		}
		labels[name] = v.String()
		s = s[i+1:]
	}
}

// sum adds the samples named name whose labels keep accepts (nil: all).
func (ss samples) sum(name string, keep func(map[string]string) bool) float64 {
	var t float64
	for _, s := range ss {
		if s.name == name && (keep == nil || keep(s.labels)) {
			t += s.value
		}
	}
	return t
}

// by adds the samples named name whose labels keep accepts, grouped by key.
func (ss samples) by(name string, keep func(map[string]string) bool, key func(map[string]string) string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range ss {
		if s.name == name && (keep == nil || keep(s.labels)) {
			out[key(s.labels)] += s.value
		}
	}
	return out
}

func (ss samples) has(name string) bool {
	for _, s := range ss {
		if s.name == name {
			return true
		}
	}
	return false
}

// diff returns after - before for every key of after.
func diff(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// A procSample is what /proc says of a process: CPU in clock ticks (its
// own, and its waited-for children's: the provider's render workers) and
// its peak resident set.
type procSample struct {
	pid            int
	self, children float64 // seconds
	hwmKiB, rssKiB int64
}

var clockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}()

// pidOf reads the pid hack/stack recorded for a piece (STATE/pids/NAME:
// "PID STARTTIME").
func (s *stack) pidOf(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(s.pids, name))
	if err != nil {
		return 0, fmt.Errorf("cannot read the pid of %s: %w", name, err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("no pid recorded for %s", name)
	}
	return strconv.Atoi(f[0])
}

func readProc(pid int) (procSample, error) {
	p := procSample{pid: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, fmt.Errorf("cannot read /proc/%d/stat: %w", pid, err)
	}
	// Fields after the command (which may hold spaces) in parentheses.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return p, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	// utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 here.
	tick := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / clockTicks }
	p.self, p.children = tick(11)+tick(12), tick(13)+tick(14)
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("cannot read /proc/%d/status: %w", pid, err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			p.hwmKiB = n
		case "VmRSS":
			p.rssKiB = n
		}
	}
	return p, sc.Err()
}

// resetPeak sets the process's peak resident set (VmHWM) to its current
// one, so that the next read is the peak since now.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// logSize is where a log ends now: a scenario counts the lines written after.
func logSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("cannot stat %s: %w", path, err)
	}
	return fi.Size(), nil
}

// linesAfter returns the lines of a log from offset on.
func linesAfter(path string, offset int64) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("cannot seek in %s: %w", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// gitLine is a request line of the git server's log (hack/demo serve-git).
var gitLine = regexp.MustCompile(`\s(GET|POST) /([^/ ]+)/(\S*) (\d+) \S+ service="([^"]*)" ua="([^"]*)"`)

// gitCounts are the git server's requests for one repository, by client
// (k8sta: the provider, go-git; argocd: Argo CD's repo-server, the git
// command line) and by request: upload-pack and receive-pack POSTs (a fetch
// that transfers, a push) and info/refs GETs (every fetch or push starts
// with one; a fetch that finds nothing new ends there).
type gitCounts map[string]map[string]int

func countGit(lines []string, repo string) gitCounts {
	out := gitCounts{}
	for _, l := range lines {
		m := gitLine.FindStringSubmatch(l)
		if m == nil || m[2] != repo {
			continue
		}
		method, path, service, ua := m[1], m[3], m[5], m[6]
		client := "other"
		switch {
		case strings.HasPrefix(ua, "go-git/"):
			client = "k8sta"
		case strings.HasPrefix(ua, "git/"):
			client = "argocd"
		}
		what := method + " " + path
		switch {
		case method == "POST" && path == "git-upload-pack":
			what = "upload-pack"
		case method == "POST" && path == "git-receive-pack":
			what = "receive-pack"
		case path == "info/refs":
			what = "info/refs " + strings.TrimPrefix(service, "git-")
		}
		if out[client] == nil {
			out[client] = map[string]int{}
		}
		out[client][what]++
		out[client]["all"]++
		if out["all"] == nil {
			out["all"] = map[string]int{}
		}
		out["all"][what]++
		out["all"]["all"]++
	}
	return out
}

// registryLine is a request line of crane's registry log.
var registryLine = regexp.MustCompile(`\s(GET|HEAD|POST|PUT|PATCH|DELETE) (/v2/\S*)`)

// countRegistry counts the registry's requests by kind: the /v2/ ping,
// tags/list, manifests and blobs of the image repository, and any other.
func countRegistry(lines []string, repo string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		m := registryLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		path, _, _ := strings.Cut(m[2], "?")
		what := "other"
		switch {
		case path == "/v2/" || path == "/v2":
			what = "ping"
		case strings.HasPrefix(path, "/v2/"+repo+"/tags/list"):
			what = "tags/list"
		case strings.HasPrefix(path, "/v2/"+repo+"/manifests/"):
			what = m[1] + " manifest"
		case strings.HasPrefix(path, "/v2/"+repo+"/blobs/"):
			what = m[1] + " blob"
		}
		out[what]++
		out["all"]++
	}
	return out
}
