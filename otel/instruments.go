package otelresilience

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the observable instruments, one per metric.
type instruments struct {
	breakerState, familyKeys, limiterBurst, bulkheadLimit, bulkheadInFlight,
	bulkheadQueue, bulkheadDelayed, deadlinePending, deadlineAbandoned metric.Int64ObservableGauge

	limiterRate metric.Float64ObservableGauge

	breakerCalls, breakerRejections, breakerSlow, breakerTransitions, breakerDropped,
	familyCreated, familyEvictions, familyRejections,
	limiterAdmitted, limiterRejections,
	retryRetries, retryRecovered, retryFailed, retryDropped,
	bulkheadAdmitted, bulkheadRejections,
	deadlineTimeouts, deadlineAbandonedTotal metric.Int64ObservableCounter
}

// builder makes instruments on one Meter, keeping the first error.
type builder struct {
	m   metric.Meter
	err error
	all []metric.Observable
}

func (b *builder) counter(name, unit, help string) metric.Int64ObservableCounter {
	c, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(help))
	b.keep(c, err)
	return c
}

func (b *builder) gauge(name, unit, help string) metric.Int64ObservableGauge {
	g, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(help))
	b.keep(g, err)
	return g
}

func (b *builder) keep(o metric.Observable, err error) {
	b.err = errors.Join(b.err, err)
	b.all = append(b.all, o)
}

// newInstruments makes every instrument on m.
func newInstruments(m metric.Meter) (*instruments, []metric.Observable, error) {
	b := &builder{m: m}
	i := &instruments{
		breakerState:       b.gauge("resilience.breaker.state", "1", "Breaker state: 0 closed, 1 open, 2 half-open."),
		breakerCalls:       b.counter("resilience.breaker.calls", "{call}", "Calls the breaker admitted and judged, by result: success, failure, ignored."),
		breakerRejections:  b.counter("resilience.breaker.rejections", "{call}", "Calls the breaker refused, by reason: open, half_open."),
		breakerSlow:        b.counter("resilience.breaker.slow_calls", "{call}", "Calls that took longer than the breaker's slow-call duration."),
		breakerTransitions: b.counter("resilience.breaker.transitions", "{transition}", "State changes, by the state entered: open, closed."),
		breakerDropped:     b.counter("resilience.breaker.events_dropped", "{event}", "State-change events dropped because the Events channel was full."),

		familyKeys:       b.gauge("resilience.breaker_family.keys", "{key}", "Breakers (one per key) the family holds now."),
		familyCreated:    b.counter("resilience.breaker_family.created", "{key}", "Breakers the family created for new keys."),
		familyEvictions:  b.counter("resilience.breaker_family.evictions", "{key}", "Closed breakers evicted, by reason: idle, lru."),
		familyRejections: b.counter("resilience.breaker_family.rejections", "{key}", "New keys refused, by reason: full."),

		limiterBurst:      b.gauge("resilience.limiter.burst", "{call}", "Calls an idle limiter admits at once."),
		limiterAdmitted:   b.counter("resilience.limiter.admitted", "{call}", "Calls the limiter admitted."),
		limiterRejections: b.counter("resilience.limiter.rejections", "{call}", "Calls the limiter refused, by reason: rate."),

		retryRetries:   b.counter("resilience.retry.retries", "{retry}", "Retries: waits begun before another attempt."),
		retryRecovered: b.counter("resilience.retry.recovered", "{call}", "Calls that succeeded after at least one retry."),
		retryFailed:    b.counter("resilience.retry.failed_calls", "{call}", "Calls that stopped without success, by reason: attempts, budget, context, not_retryable."),
		retryDropped:   b.counter("resilience.retry.events_dropped", "{event}", "Retry events dropped because the Events channel was full."),

		bulkheadLimit:      b.gauge("resilience.bulkhead.limit", "{call}", "Calls and jobs the bulkhead runs at once, at most."),
		bulkheadInFlight:   b.gauge("resilience.bulkhead.in_flight", "{call}", "Calls and jobs admitted and not yet done."),
		bulkheadQueue:      b.gauge("resilience.bulkhead.queue_depth", "{call}", "Calls and jobs waiting for a slot."),
		bulkheadDelayed:    b.gauge("resilience.bulkhead.delayed", "{job}", "Jobs waiting out a retry delay before they queue."),
		bulkheadAdmitted:   b.counter("resilience.bulkhead.admitted", "{call}", "Calls and jobs the bulkhead admitted."),
		bulkheadRejections: b.counter("resilience.bulkhead.rejections", "{call}", "Calls and jobs not admitted, by reason: full, cancelled."),

		deadlineTimeouts:       b.counter("resilience.deadline.timeouts", "{call}", "Deadlines that ended their context before it was cancelled."),
		deadlinePending:        b.gauge("resilience.deadline.pending", "{deadline}", "Deadlines armed and neither fired nor cancelled."),
		deadlineAbandoned:      b.gauge("resilience.deadline.abandoned_running", "{function}", "Functions still running after their caller was released at the deadline."),
		deadlineAbandonedTotal: b.counter("resilience.deadline.abandoned", "{function}", "Functions whose caller was released at the deadline while they ran."),
	}
	rate, err := m.Float64ObservableGauge("resilience.limiter.rate", metric.WithUnit("{call}/s"),
		metric.WithDescription("The limiter's configured rate, in calls per second."))
	b.keep(rate, err)
	i.limiterRate = rate
	return i, b.all, b.err
}
