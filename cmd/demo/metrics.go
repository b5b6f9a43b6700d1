package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	promresilience "github.com/llm-research-lab/resilience/prometheus"
)

// metrics is the gateway's Prometheus registry: the library's own
// metrics (breakers, retries, the job bulkhead, the timer), read by the
// promresilience collector at scrape time, plus the gateway's: a latency
// histogram observed per request and a few counters it keeps itself.
type metrics struct {
	reg     *prometheus.Registry
	lib     *promresilience.Collector
	latency *prometheus.HistogramVec
}

func newMetrics(g *gateway) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		lib: promresilience.New(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time to answer a gateway request, by route and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "outcome"}),
	}
	m.reg.MustRegister(m.latency, m.lib, &collector{g: g}, collectors.NewGoCollector())
	return m
}

// library names the gateway's library parts to the collector; called once
// they exist.
func (m *metrics) library(g *gateway) error {
	errs := []error{m.lib.Family("upstreams", g.breakers), m.lib.Watchdog("gateway", g.sched), m.lib.Bulkhead(outageUpstream+"-jobs", g.jobs)}
	for _, name := range g.order {
		errs = append(errs, m.lib.Breaker(name, g.backends[name].breaker))
	}
	return errors.Join(errs...)
}

func (m *metrics) observe(route, outcome string, d time.Duration) {
	m.latency.WithLabelValues(route, outcome).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descTokens = prometheus.NewDesc("gateway_retry_budget_tokens",
		"Retry budget tokens left.", []string{"upstream"}, nil)
	descAttempts = prometheus.NewDesc("gateway_upstream_attempts_total",
		"Attempts sent to the upstream, first or retry.", []string{"upstream", "attempt"}, nil)
	descInflight = prometheus.NewDesc("gateway_inflight_requests",
		"Requests holding a connection guard.", nil, nil)
)

// collector reads the gateway's own counters at scrape time.
type collector struct{ g *gateway }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTokens, descAttempts, descInflight} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	for _, name := range g.order {
		b := g.backends[name]
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(b.firsts.Load()), name, "first")
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(b.retries.Load()), name, "retry")
		if g.resilient {
			ch <- prometheus.MustNewConstMetric(descTokens, prometheus.GaugeValue, b.budget.Tokens(), name)
		}
	}
	if g.coord != nil {
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(g.coord.ActiveConnections()))
	}
}

// breakerView is one breaker as /debug/breakers shows it.
type breakerView struct {
	Name             string  `json:"name"`
	State            string  `json:"state"`
	Successes        uint64  `json:"successes"`
	Failures         uint64  `json:"failures"`
	Ignored          uint64  `json:"ignored"`
	RejectedOpen     uint64  `json:"rejected_open"`
	RejectedHalfOpen uint64  `json:"rejected_half_open"`
	Opened           uint64  `json:"opened"`
	Closed           uint64  `json:"closed"`
	BudgetTokens     float64 `json:"retry_budget_tokens"`
	FirstAttempts    int64   `json:"first_attempts"`
	Retries          int64   `json:"retries"`
}

func (g *gateway) debugBreakers(w http.ResponseWriter, _ *http.Request) {
	views := make([]breakerView, 0, len(g.order))
	for _, name := range g.order {
		b := g.backends[name]
		m := b.breaker.Metrics()
		views = append(views, breakerView{
			Name: name, State: m.State.String(),
			Successes: m.Successes, Failures: m.Failures, Ignored: m.Ignored,
			RejectedOpen: m.RejectedOpen, RejectedHalfOpen: m.RejectedHalfOpen,
			Opened: m.Opened, Closed: m.Closed,
			BudgetTokens: b.budget.Tokens(), FirstAttempts: b.firsts.Load(), Retries: b.retries.Load(),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(views)
}
