package promresilience

import (
	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/internal/metricset"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector that reads the Metrics of the
// components registered with it at every scrape. Create it with [New],
// register it with a prometheus.Registerer, then add components by name
// with [Collector.Breaker], [Collector.Retry] and the like, or all the
// slots of a pipeline at once with [Collector.Pipeline]. Components may be
// added and removed while scrapes run. The zero value is an empty
// Collector ready to use. It is safe for concurrent use.
type Collector struct {
	set metricset.Set
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector with no components.
func New() *Collector { return &Collector{} }

// Describe sends the descriptors of every metric the collector may export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metricset.All {
		ch <- descs[m]
	}
}

// Collect reads every registered component's Metrics and sends the
// metrics. It holds the collector's lock only while it copies the list
// of components.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.set.Each(func(name string, src metricset.Source) {
		src(func(m *metricset.Metric, v float64, label string) { send(ch, m, v, name, label) })
	})
}

// Breaker adds b under name. Its series carry the label name="<name>".
// It returns a [*resilience.ConfigError] if name is empty or not valid
// UTF-8, if b is nil, or if a breaker is already registered under name.
func (c *Collector) Breaker(name string, b *breaker.Breaker) error {
	return c.set.Breaker(name, b)
}

// Family adds a keyed breaker family under name: a *breaker.Family of any
// key type. It exports the family as a whole (keys held, created, evicted,
// refused), so its series do not multiply with the keys. Errors are those
// of [Collector.Breaker].
func (c *Collector) Family(name string, f interface{ Metrics() breaker.FamilyMetrics }) error {
	return c.set.Family(name, f)
}

// Limiter adds a rate limiter under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Limiter(name string, r *limit.Rate) error {
	return c.set.Limiter(name, r)
}

// Retry adds a retry policy under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Retry(name string, p *retry.Policy) error {
	return c.set.Retry(name, p)
}

// Bulkhead adds a bulkhead under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Bulkhead(name string, b *bulkhead.Bulkhead) error {
	return c.set.Bulkhead(name, b)
}

// Watchdog adds a deadline watchdog under name: the timeouts it fired and
// the deadlines it holds. Errors are those of [Collector.Breaker].
func (c *Collector) Watchdog(name string, w *deadline.Watchdog) error {
	return c.set.Watchdog(name, w)
}

// Pipeline adds, under p.Name, each slot of p that holds one of this
// module's components: a *limit.Rate Limiter, a *retry.Policy Retry, a
// *breaker.Breaker Breaker, a *bulkhead.Bulkhead Bulkhead and a
// *deadline.Watchdog Timer. Other slots are left out. It adds all of them
// or, on error (an empty Name, or one of them already registered under
// that name), none.
func (c *Collector) Pipeline(p *resilience.Pipeline) error {
	return c.set.Pipeline(p)
}

// Remove takes every component registered under name out of the
// collector; their series disappear from the next scrape.
func (c *Collector) Remove(name string) {
	c.set.Remove(name)
}
