package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the gateway's Prometheus registry: a latency histogram
// observed per request, and a collector that reads the breakers, budgets
// and counters when scraped (so nothing is copied on the hot path).
type metrics struct {
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec
}

func newMetrics(g *gateway) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time to answer a gateway request, by route and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "outcome"}),
	}
	m.reg.MustRegister(m.latency, &collector{g: g}, collectors.NewGoCollector())
	return m
}

func (m *metrics) observe(route, outcome string, d time.Duration) {
	m.latency.WithLabelValues(route, outcome).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descState = prometheus.NewDesc("resilience_breaker_state",
		"Breaker state: 0 closed, 1 open, 2 half-open.", []string{"upstream"}, nil)
	descCalls = prometheus.NewDesc("resilience_breaker_calls_total",
		"Calls through the breaker, by result.", []string{"upstream", "result"}, nil)
	descOpened = prometheus.NewDesc("resilience_breaker_opened_total",
		"Transitions into open.", []string{"upstream"}, nil)
	descTokens = prometheus.NewDesc("resilience_retry_budget_tokens",
		"Retry budget tokens left.", []string{"upstream"}, nil)
	descAttempts = prometheus.NewDesc("resilience_upstream_attempts_total",
		"Attempts sent to the upstream, first or retry.", []string{"upstream", "attempt"}, nil)
	descInflight = prometheus.NewDesc("resilience_gateway_inflight_requests",
		"Requests holding a connection guard.", nil, nil)
	descFired = prometheus.NewDesc("resilience_deadline_fired_total",
		"Calls ended by their deadline.", nil, nil)
)

// collector reads the gateway's library objects at scrape time.
type collector struct{ g *gateway }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descCalls, descOpened, descTokens, descAttempts, descInflight, descFired} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	g := c.g
	for _, name := range g.order {
		b := g.backends[name]
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(b.firsts.Load()), name, "first")
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(b.retries.Load()), name, "retry")
		if !g.resilient {
			continue
		}
		m := b.breaker.Metrics()
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, float64(m.State), name)
		for result, v := range map[string]uint64{
			"success": m.Successes, "failure": m.Failures, "ignored": m.Ignored,
			"rejected_open": m.RejectedOpen, "rejected_half_open": m.RejectedHalfOpen,
		} {
			ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(v), name, result)
		}
		ch <- prometheus.MustNewConstMetric(descOpened, prometheus.CounterValue, float64(m.Opened), name)
		ch <- prometheus.MustNewConstMetric(descTokens, prometheus.GaugeValue, b.budget.Tokens(), name)
	}
	if g.coord != nil {
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(g.coord.ActiveConnections()))
	}
	if g.sched != nil {
		ch <- prometheus.MustNewConstMetric(descFired, prometheus.CounterValue, float64(g.sched.Metrics().Fired))
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
