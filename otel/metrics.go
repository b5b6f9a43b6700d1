package otelresilience

import (
	"context"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/internal/metricset"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"go.opentelemetry.io/otel/metric"
)

// Instruments reports the components added to it through observable
// OpenTelemetry instruments: at every collection, one callback reads each
// component's Metrics snapshot. Create it with [NewInstruments], then add
// components by name with [Instruments.Breaker], [Instruments.Retry] and
// the like, or a pipeline's slots at once with [Instruments.Pipeline]. It
// is safe for concurrent use.
type Instruments struct {
	ins instruments
	reg metric.Registration
	set metricset.Set
}

// NewInstruments creates the instruments on m (a Meter from a
// MeterProvider, e.g. otel.Meter("github.com/llm-research-lab/resilience"))
// and registers the callback that observes them. It returns the Meter's
// error if an instrument or the callback cannot be made.
func NewInstruments(m metric.Meter) (*Instruments, error) {
	if m == nil {
		return nil, &resilience.ConfigError{Field: "meter", Reason: "must not be nil"}
	}
	ins, all, err := newInstruments(m)
	if err != nil {
		return nil, err
	}
	in := &Instruments{ins: ins}
	if in.reg, err = m.RegisterCallback(in.observe, all...); err != nil {
		return nil, err
	}
	return in, nil
}

// observe is the callback: it reads every component added.
func (in *Instruments) observe(_ context.Context, o metric.Observer) error {
	in.set.Each(func(name string, src metricset.Source) {
		src(func(m *metricset.Metric, v float64, label string) { in.ins.record(o, m, v, name, label) })
	})
	return nil
}

// Unregister removes the callback: the instruments report nothing more.
func (in *Instruments) Unregister() error { return in.reg.Unregister() }

// Breaker adds b under name; its measurements carry the attribute
// name=<name>. It returns a [*resilience.ConfigError] if name is empty or
// not valid UTF-8, if b is nil, or if a breaker is already added under
// name.
func (in *Instruments) Breaker(name string, b *breaker.Breaker) error {
	return in.set.Breaker(name, b)
}

// Family adds a keyed breaker family (a *breaker.Family of any key type)
// under name, as a whole: keys held, created, evicted and refused, never
// one series per key. Errors are those of [Instruments.Breaker].
func (in *Instruments) Family(name string, f interface{ Metrics() breaker.FamilyMetrics }) error {
	return in.set.Family(name, f)
}

// Limiter adds a rate limiter under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Limiter(name string, r *limit.Rate) error {
	return in.set.Limiter(name, r)
}

// Retry adds a retry policy under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Retry(name string, p *retry.Policy) error {
	return in.set.Retry(name, p)
}

// Bulkhead adds a bulkhead under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Bulkhead(name string, b *bulkhead.Bulkhead) error {
	return in.set.Bulkhead(name, b)
}

// Watchdog adds a deadline watchdog under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Watchdog(name string, w *deadline.Watchdog) error {
	return in.set.Watchdog(name, w)
}

// Pipeline adds, under p.Name, each slot of p that holds one of this
// module's components (a *limit.Rate, *retry.Policy, *breaker.Breaker,
// *bulkhead.Bulkhead or *deadline.Watchdog); other slots are left out. It
// adds all of them or, on error, none.
func (in *Instruments) Pipeline(p *resilience.Pipeline) error {
	return in.set.Pipeline(p)
}

// Remove takes every component added under name out; the next collection
// no longer reports them.
func (in *Instruments) Remove(name string) {
	in.set.Remove(name)
}
