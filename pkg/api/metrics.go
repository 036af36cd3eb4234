package api

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// statsCollector exposes a Backend's counters as Prometheus metrics:
// softips_<name>_total for counters, softips_<name> for the gauges the
// backend names (see Gauges). They are read at scrape time, so the hot
// paths keep a single source of truth (their own atomic counters and BPF
// maps).
type statsCollector struct{ b Backend }

// Gauges is implemented by a Backend whose Stats hold levels (entries now,
// flows now) beside counters; the names it returns are exported as gauges.
type Gauges interface {
	Gauges() []string
}

var statsDesc = prometheus.NewDesc("softips_stats", "softips counters", nil, nil)

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- statsDesc }

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	gauges := map[string]bool{}
	if g, ok := c.b.(Gauges); ok {
		for _, n := range g.Gauges() {
			gauges[n] = true
		}
	}
	for k, v := range c.b.Stats() {
		name, kind, help := "softips_"+metricName(k), prometheus.GaugeValue, "level of "+k
		if !gauges[k] {
			name, kind, help = name+"_total", prometheus.CounterValue, "count of "+k
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, nil), kind,
			float64(v))
	}
}

func metricName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, k)
}

// MetricsHandler serves only the Prometheus metrics of b, for a listener
// of its own (a TCP address a scraper can reach), apart from the control
// API that stays on the unix socket.
func MetricsHandler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(b))
	return mux
}

func metricsHandler(b Backend) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(statsCollector{b})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
