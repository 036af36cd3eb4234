package api

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// statsCollector exposes a Backend's counters as Prometheus metrics named
// softips_<counter>. Counters are read at scrape time, so the hot paths
// keep a single source of truth (their own atomic counters and BPF maps).
type statsCollector struct{ b Backend }

var statsDesc = prometheus.NewDesc("softips_stats", "softips counters", nil, nil)

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- statsDesc }

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	for k, v := range c.b.Stats() {
		d := prometheus.NewDesc("softips_"+metricName(k), "softips counter "+k, nil, nil)
		ch <- prometheus.MustNewConstMetric(d, prometheus.UntypedValue, float64(v))
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

func metricsHandler(b Backend) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(statsCollector{b})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
