package promresilience

import (
	"fmt"
	"reflect"
	"sync"
	"unicode/utf8"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
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
	mu      sync.Mutex
	sources map[sourceKey]func(emitter)
}

// sourceKey identifies one registered component: its kind and name.
type sourceKey struct{ kind, name string }

// source is one component ready to be added.
type source struct {
	key     sourceKey
	collect func(emitter)
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector with no components.
func New() *Collector {
	return &Collector{sources: map[sourceKey]func(emitter){}}
}

// Describe sends the descriptors of every metric the collector may export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads every registered component's Metrics and sends the
// metrics. It holds the collector's lock only while it copies the list
// of components.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := make([]source, 0, len(c.sources))
	for k, f := range c.sources {
		list = append(list, source{key: k, collect: f})
	}
	c.mu.Unlock()
	for _, s := range list {
		s.collect(emitter{ch: ch, name: s.key.name})
	}
}

// Breaker adds b under name. Its series carry the label name="<name>".
// It returns a [*resilience.ConfigError] if name is empty or not valid
// UTF-8, if b is nil, or if a breaker is already registered under name.
func (c *Collector) Breaker(name string, b *breaker.Breaker) error {
	if b == nil {
		return nilErr("breaker")
	}
	return c.add(source{sourceKey{"breaker", name}, breakerSource(b)})
}

// Family adds a keyed breaker family under name: a *breaker.Family of any
// key type. It exports the family as a whole (keys held, created, evicted,
// refused), so its series do not multiply with the keys. Errors are those
// of [Collector.Breaker].
func (c *Collector) Family(name string, f interface{ Metrics() breaker.FamilyMetrics }) error {
	if f == nil || isNilPointer(f) {
		return nilErr("family")
	}
	return c.add(source{sourceKey{"family", name}, familySource(f)})
}

// Limiter adds a rate limiter under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Limiter(name string, r *limit.Rate) error {
	if r == nil {
		return nilErr("limiter")
	}
	return c.add(source{sourceKey{"limiter", name}, limiterSource(r)})
}

// Retry adds a retry policy under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Retry(name string, p *retry.Policy) error {
	if p == nil {
		return nilErr("retry")
	}
	return c.add(source{sourceKey{"retry", name}, retrySource(p)})
}

// Bulkhead adds a bulkhead under name. Errors are those of
// [Collector.Breaker].
func (c *Collector) Bulkhead(name string, b *bulkhead.Bulkhead) error {
	if b == nil {
		return nilErr("bulkhead")
	}
	return c.add(source{sourceKey{"bulkhead", name}, bulkheadSource(b)})
}

// Watchdog adds a deadline watchdog under name: the timeouts it fired and
// the deadlines it holds. Errors are those of [Collector.Breaker].
func (c *Collector) Watchdog(name string, w *deadline.Watchdog) error {
	if w == nil {
		return nilErr("watchdog")
	}
	return c.add(source{sourceKey{"watchdog", name}, watchdogSource(w)})
}

// Pipeline adds, under p.Name, each slot of p that holds one of this
// module's components: a *limit.Rate Limiter, a *retry.Policy Retry, a
// *breaker.Breaker Breaker, a *bulkhead.Bulkhead Bulkhead and a
// *deadline.Watchdog Timer. Other slots are left out. It adds all of them
// or, on error (an empty Name, or one of them already registered under
// that name), none.
func (c *Collector) Pipeline(p *resilience.Pipeline) error {
	if p == nil {
		return nilErr("pipeline")
	}
	var list []source
	put := func(kind string, f func(emitter)) {
		list = append(list, source{sourceKey{kind, p.Name}, f})
	}
	if r, ok := p.Limiter.(*limit.Rate); ok && r != nil {
		put("limiter", limiterSource(r))
	}
	if r, ok := p.Retry.(*retry.Policy); ok && r != nil {
		put("retry", retrySource(r))
	}
	if b, ok := p.Breaker.(*breaker.Breaker); ok && b != nil {
		put("breaker", breakerSource(b))
	}
	if b, ok := p.Bulkhead.(*bulkhead.Bulkhead); ok && b != nil {
		put("bulkhead", bulkheadSource(b))
	}
	if w, ok := p.Timer.(*deadline.Watchdog); ok && w != nil {
		put("watchdog", watchdogSource(w))
	}
	if len(list) == 0 {
		return checkName(p.Name)
	}
	return c.add(list...)
}

// Remove takes every component registered under name out of the
// collector; their series disappear from the next scrape.
func (c *Collector) Remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.sources {
		if k.name == name {
			delete(c.sources, k)
		}
	}
}

// add registers every source, or none if one is invalid or taken.
func (c *Collector) add(list ...source) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sources == nil {
		c.sources = map[sourceKey]func(emitter){}
	}
	for _, s := range list {
		if err := checkName(s.key.name); err != nil {
			return err
		}
		if _, taken := c.sources[s.key]; taken {
			return &resilience.ConfigError{Field: "name",
				Reason: fmt.Sprintf("%q is already registered for a %s", s.key.name, s.key.kind)}
		}
	}
	for _, s := range list {
		c.sources[s.key] = s.collect
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return &resilience.ConfigError{Field: "name", Reason: "must not be empty"}
	case !utf8.ValidString(name):
		return &resilience.ConfigError{Field: "name", Reason: "must be valid UTF-8"}
	}
	return nil
}

// isNilPointer reports whether v holds a nil pointer, such as a nil
// *breaker.Family[K] of any K.
func isNilPointer(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

func nilErr(field string) error {
	return &resilience.ConfigError{Field: field, Reason: "must not be nil"}
}
