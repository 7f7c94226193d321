//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A sample is one series of the provider's metrics endpoint.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// providerMetrics scrapes the provider the stack runs (cmd/provider, wired
// as it ships) on its --metrics-address: K8sTA's series only, a histogram
// as its _count.
func providerMetrics() ([]sample, error) {
	resp, err := http.Get("http://127.0.0.1:" + st.env["PROVIDER_METRICS_PORT"] + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out []sample
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "k8sta_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := sample{name: name, labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				s.name, s.value = name+"_count", float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_COUNTER:
				s.value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.value = m.GetGauge().GetValue()
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// sum adds the samples of name whose labels include match.
func sum(samples []sample, name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range samples {
		if s.name != name {
			continue
		}
		all := true
		for k, v := range match {
			all = all && s.labels[k] == v
		}
		if all {
			total += s.value
		}
	}
	return total
}

// describe lists the samples of the names in one line each, for a message.
func describe(samples []sample, names ...string) string {
	var lines []string
	for _, s := range samples {
		for _, n := range names {
			if s.name == n {
				lines = append(lines, fmt.Sprintf("%s%v %v", s.name, s.labels, s.value))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
