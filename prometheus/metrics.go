package promresilience

import (
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/prometheus/client_golang/prometheus"
)

// desc describes one metric named resilience_<sub>_<name>, labelled by
// the component's name and then labels.
func desc(sub, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("resilience", sub, name), help,
		append([]string{"name"}, labels...), nil)
}

var (
	breakerState       = desc("breaker", "state", "Breaker state: 0 closed, 1 open, 2 half-open.")
	breakerCalls       = desc("breaker", "calls_total", "Calls the breaker admitted and judged, by result: success, failure (panics included), ignored (throttled or ignored, such as cancelled calls).", "result")
	breakerRejections  = desc("breaker", "rejections_total", "Calls the breaker refused, by reason: open, or half_open with every probe slot taken.", "reason")
	breakerSlow        = desc("breaker", "slow_calls_total", "Calls that took longer than the breaker's slow-call duration.")
	breakerTransitions = desc("breaker", "transitions_total", "State changes, by the state entered: open, or closed from another state.", "to")
	breakerDropped     = desc("breaker", "events_dropped_total", "State-change events dropped because the Events channel was full.")

	familyKeys       = desc("breaker_family", "keys", "Breakers (one per key) the family holds now.")
	familyCreated    = desc("breaker_family", "created_total", "Breakers the family created for new keys.")
	familyEvictions  = desc("breaker_family", "evictions_total", "Closed breakers evicted, by reason: idle (unused for the idle timeout), lru (to make room for a new key).", "reason")
	familyRejections = desc("breaker_family", "rejections_total", "New keys refused, by reason: full (no breaker could be evicted to make room).", "reason")

	limiterRate       = desc("limiter", "rate", "The limiter's configured rate, in calls per second.")
	limiterBurst      = desc("limiter", "burst", "Calls an idle limiter admits at once.")
	limiterAdmitted   = desc("limiter", "admitted_total", "Calls the limiter admitted.")
	limiterRejections = desc("limiter", "rejections_total", "Calls the limiter refused, by reason: rate (over the rate, or a wait that ended without a permit).", "reason")

	retryRetries   = desc("retry", "retries_total", "Retries: waits begun before another attempt.")
	retryRecovered = desc("retry", "recovered_total", "Calls that succeeded after at least one retry.")
	retryFailed    = desc("retry", "failed_calls_total", "Calls that stopped without success, by reason: attempts (every attempt used), budget (the retry budget refused), context (it ended, or the next wait would pass its deadline), not_retryable (the error was not worth retrying).", "reason")
	retryDropped   = desc("retry", "events_dropped_total", "Retry events dropped because the Events channel was full.")

	bulkheadLimit      = desc("bulkhead", "limit", "Calls and jobs the bulkhead runs at once, at most.")
	bulkheadInFlight   = desc("bulkhead", "in_flight", "Calls and jobs admitted and not yet done.")
	bulkheadQueue      = desc("bulkhead", "queue_depth", "Calls and jobs waiting for a slot.")
	bulkheadDelayed    = desc("bulkhead", "delayed", "Jobs waiting out a retry delay before they queue.")
	bulkheadAdmitted   = desc("bulkhead", "admitted_total", "Calls and jobs the bulkhead admitted.")
	bulkheadRejections = desc("bulkhead", "rejections_total", "Calls and jobs not admitted, by reason: full (no slot and no queue place, or the bulkhead stopping), cancelled (their context ended while they waited).", "reason")

	deadlineTimeouts       = desc("deadline", "timeouts_total", "Deadlines that ended their context before it was cancelled: calls that timed out.")
	deadlinePending        = desc("deadline", "pending", "Deadlines armed and neither fired nor cancelled.")
	deadlineAbandoned      = desc("deadline", "abandoned_running", "Functions still running after their caller was released at the deadline.")
	deadlineAbandonedTotal = desc("deadline", "abandoned_total", "Functions whose caller was released at the deadline while they ran.")

	allDescs = []*prometheus.Desc{
		breakerState, breakerCalls, breakerRejections, breakerSlow, breakerTransitions, breakerDropped,
		familyKeys, familyCreated, familyEvictions, familyRejections,
		limiterRate, limiterBurst, limiterAdmitted, limiterRejections,
		retryRetries, retryRecovered, retryFailed, retryDropped,
		bulkheadLimit, bulkheadInFlight, bulkheadQueue, bulkheadDelayed, bulkheadAdmitted, bulkheadRejections,
		deadlineTimeouts, deadlinePending, deadlineAbandoned, deadlineAbandonedTotal,
	}
)

// emitter sends the metrics of one component, named name.
type emitter struct {
	ch   chan<- prometheus.Metric
	name string
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.send(d, prometheus.CounterValue, float64(v), labels)
}

// send builds the metric; a metric that cannot be built is sent as an
// invalid one, which fails the scrape with its error instead of a panic.
func (e emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, append([]string{e.name}, labels...)...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func breakerSource(b *breaker.Breaker) func(emitter) {
	return func(e emitter) {
		m := b.Metrics()
		e.gauge(breakerState, float64(m.State))
		e.counter(breakerCalls, m.Successes, "success")
		e.counter(breakerCalls, m.Failures, "failure")
		e.counter(breakerCalls, m.Ignored, "ignored")
		e.counter(breakerRejections, m.RejectedOpen, "open")
		e.counter(breakerRejections, m.RejectedHalfOpen, "half_open")
		e.counter(breakerSlow, m.SlowCalls)
		e.counter(breakerTransitions, m.Opened, "open")
		e.counter(breakerTransitions, m.Closed, "closed")
		e.counter(breakerDropped, m.EventsDropped)
	}
}

func familySource(f interface{ Metrics() breaker.FamilyMetrics }) func(emitter) {
	return func(e emitter) {
		m := f.Metrics()
		e.gauge(familyKeys, float64(m.Keys))
		e.counter(familyCreated, m.Created)
		e.counter(familyEvictions, m.EvictedIdle, "idle")
		e.counter(familyEvictions, m.EvictedLRU, "lru")
		e.counter(familyRejections, m.Full, "full")
	}
}

func limiterSource(r *limit.Rate) func(emitter) {
	return func(e emitter) {
		m := r.Metrics()
		e.gauge(limiterRate, m.PerSecond)
		e.gauge(limiterBurst, float64(m.Burst))
		e.counter(limiterAdmitted, m.Allowed)
		e.counter(limiterRejections, m.Limited, "rate")
	}
}

func retrySource(p *retry.Policy) func(emitter) {
	return func(e emitter) {
		m := p.Metrics()
		e.counter(retryRetries, m.Retries)
		e.counter(retryRecovered, m.Recovered)
		e.counter(retryFailed, m.Exhausted, "attempts")
		e.counter(retryFailed, m.BudgetDenied, "budget")
		e.counter(retryFailed, m.ContextDone, "context")
		e.counter(retryFailed, m.NotRetryable, "not_retryable")
		e.counter(retryDropped, m.EventsDropped)
	}
}

func bulkheadSource(b *bulkhead.Bulkhead) func(emitter) {
	return func(e emitter) {
		m := b.Metrics()
		e.gauge(bulkheadLimit, float64(m.Limit))
		e.gauge(bulkheadInFlight, float64(m.InFlight))
		e.gauge(bulkheadQueue, float64(m.Queued))
		e.gauge(bulkheadDelayed, float64(m.Delayed))
		e.counter(bulkheadAdmitted, m.Admitted)
		e.counter(bulkheadRejections, m.Rejected, "full")
		e.counter(bulkheadRejections, m.Cancelled, "cancelled")
	}
}

func watchdogSource(w *deadline.Watchdog) func(emitter) {
	return func(e emitter) {
		m := w.Metrics()
		e.counter(deadlineTimeouts, m.Fired)
		e.gauge(deadlinePending, float64(m.Pending))
		e.gauge(deadlineAbandoned, float64(m.Abandoned))
		e.counter(deadlineAbandonedTotal, m.AbandonedTotal)
	}
}
