package otelresilience

import (
	"context"
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
	"go.opentelemetry.io/otel/metric"
)

// Instruments reports the components added to it through observable
// OpenTelemetry instruments: at every collection, one callback reads each
// component's Metrics snapshot. Create it with [NewInstruments], then add
// components by name with [Instruments.Breaker], [Instruments.Retry] and
// the like, or a pipeline's slots at once with [Instruments.Pipeline]. It
// is safe for concurrent use.
type Instruments struct {
	ins *instruments
	reg metric.Registration

	mu      sync.Mutex
	sources map[sourceKey]func(observation)
}

// sourceKey identifies one added component: its kind and name.
type sourceKey struct{ kind, name string }

// source is one component ready to be added.
type source struct {
	key     sourceKey
	observe func(observation)
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
	in := &Instruments{ins: ins, sources: map[sourceKey]func(observation){}}
	if in.reg, err = m.RegisterCallback(in.observe, all...); err != nil {
		return nil, err
	}
	return in, nil
}

// observe is the callback: it reads every component added.
func (in *Instruments) observe(_ context.Context, o metric.Observer) error {
	in.mu.Lock()
	list := make([]source, 0, len(in.sources))
	for k, f := range in.sources {
		list = append(list, source{k, f})
	}
	in.mu.Unlock()
	for _, s := range list {
		s.observe(observation{o: o, i: in.ins, name: s.key.name})
	}
	return nil
}

// Unregister removes the callback: the instruments report nothing more.
func (in *Instruments) Unregister() error { return in.reg.Unregister() }

// Breaker adds b under name; its measurements carry the attribute
// name=<name>. It returns a [*resilience.ConfigError] if name is empty or
// not valid UTF-8, if b is nil, or if a breaker is already added under
// name.
func (in *Instruments) Breaker(name string, b *breaker.Breaker) error {
	if b == nil {
		return nilErr("breaker")
	}
	return in.add(source{sourceKey{"breaker", name}, breakerSource(b)})
}

// Family adds a keyed breaker family (a *breaker.Family of any key type)
// under name, as a whole: keys held, created, evicted and refused, never
// one series per key. Errors are those of [Instruments.Breaker].
func (in *Instruments) Family(name string, f interface{ Metrics() breaker.FamilyMetrics }) error {
	if f == nil || isNilPointer(f) {
		return nilErr("family")
	}
	return in.add(source{sourceKey{"family", name}, familySource(f)})
}

// Limiter adds a rate limiter under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Limiter(name string, r *limit.Rate) error {
	if r == nil {
		return nilErr("limiter")
	}
	return in.add(source{sourceKey{"limiter", name}, limiterSource(r)})
}

// Retry adds a retry policy under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Retry(name string, p *retry.Policy) error {
	if p == nil {
		return nilErr("retry")
	}
	return in.add(source{sourceKey{"retry", name}, retrySource(p)})
}

// Bulkhead adds a bulkhead under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Bulkhead(name string, b *bulkhead.Bulkhead) error {
	if b == nil {
		return nilErr("bulkhead")
	}
	return in.add(source{sourceKey{"bulkhead", name}, bulkheadSource(b)})
}

// Watchdog adds a deadline watchdog under name. Errors are those of
// [Instruments.Breaker].
func (in *Instruments) Watchdog(name string, w *deadline.Watchdog) error {
	if w == nil {
		return nilErr("watchdog")
	}
	return in.add(source{sourceKey{"watchdog", name}, watchdogSource(w)})
}

// Pipeline adds, under p.Name, each slot of p that holds one of this
// module's components (a *limit.Rate, *retry.Policy, *breaker.Breaker,
// *bulkhead.Bulkhead or *deadline.Watchdog); other slots are left out. It
// adds all of them or, on error, none.
func (in *Instruments) Pipeline(p *resilience.Pipeline) error {
	if p == nil {
		return nilErr("pipeline")
	}
	var list []source
	put := func(kind string, f func(observation)) {
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
	return in.add(list...)
}

// Remove takes every component added under name out; the next collection
// no longer reports them.
func (in *Instruments) Remove(name string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k := range in.sources {
		if k.name == name {
			delete(in.sources, k)
		}
	}
}

// add adds every source, or none if one is invalid or taken.
func (in *Instruments) add(list ...source) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, s := range list {
		if err := checkName(s.key.name); err != nil {
			return err
		}
		if _, taken := in.sources[s.key]; taken {
			return &resilience.ConfigError{Field: "name",
				Reason: fmt.Sprintf("%q is already added for a %s", s.key.name, s.key.kind)}
		}
	}
	for _, s := range list {
		in.sources[s.key] = s.observe
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
