package otelresilience

import (
	"math"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// observation records the measurements of one component, named name.
type observation struct {
	o    metric.Observer
	i    *instruments
	name string
}

// attrs is the component's name and, if given, one more attribute.
func (ob observation) attrs(key, value string) metric.ObserveOption {
	if key == "" {
		return metric.WithAttributes(attribute.String("name", ob.name))
	}
	return metric.WithAttributes(attribute.String("name", ob.name), attribute.String(key, value))
}

func (ob observation) count(c metric.Int64ObservableCounter, v uint64, kv ...string) {
	ob.o.ObserveInt64(c, int64(min(v, math.MaxInt64)), ob.attrs(pair(kv)))
}

func (ob observation) gauge(g metric.Int64ObservableGauge, v int64, kv ...string) {
	ob.o.ObserveInt64(g, v, ob.attrs(pair(kv)))
}

func pair(kv []string) (string, string) {
	if len(kv) < 2 {
		return "", ""
	}
	return kv[0], kv[1]
}

func breakerSource(b *breaker.Breaker) func(observation) {
	return func(ob observation) {
		m, i := b.Metrics(), ob.i
		ob.gauge(i.breakerState, int64(m.State))
		ob.count(i.breakerCalls, m.Successes, "result", "success")
		ob.count(i.breakerCalls, m.Failures, "result", "failure")
		ob.count(i.breakerCalls, m.Ignored, "result", "ignored")
		ob.count(i.breakerRejections, m.RejectedOpen, "reason", "open")
		ob.count(i.breakerRejections, m.RejectedHalfOpen, "reason", "half_open")
		ob.count(i.breakerSlow, m.SlowCalls)
		ob.count(i.breakerTransitions, m.Opened, "to", "open")
		ob.count(i.breakerTransitions, m.Closed, "to", "closed")
		ob.count(i.breakerDropped, m.EventsDropped)
	}
}

func familySource(f interface{ Metrics() breaker.FamilyMetrics }) func(observation) {
	return func(ob observation) {
		m, i := f.Metrics(), ob.i
		ob.gauge(i.familyKeys, int64(m.Keys))
		ob.count(i.familyCreated, m.Created)
		ob.count(i.familyEvictions, m.EvictedIdle, "reason", "idle")
		ob.count(i.familyEvictions, m.EvictedLRU, "reason", "lru")
		ob.count(i.familyRejections, m.Full, "reason", "full")
	}
}

func limiterSource(r *limit.Rate) func(observation) {
	return func(ob observation) {
		m, i := r.Metrics(), ob.i
		ob.o.ObserveFloat64(i.limiterRate, m.PerSecond, ob.attrs("", ""))
		ob.gauge(i.limiterBurst, int64(m.Burst))
		ob.count(i.limiterAdmitted, m.Allowed)
		ob.count(i.limiterRejections, m.Limited, "reason", "rate")
	}
}

func retrySource(p *retry.Policy) func(observation) {
	return func(ob observation) {
		m, i := p.Metrics(), ob.i
		ob.count(i.retryRetries, m.Retries)
		ob.count(i.retryRecovered, m.Recovered)
		ob.count(i.retryFailed, m.Exhausted, "reason", "attempts")
		ob.count(i.retryFailed, m.BudgetDenied, "reason", "budget")
		ob.count(i.retryFailed, m.ContextDone, "reason", "context")
		ob.count(i.retryFailed, m.NotRetryable, "reason", "not_retryable")
		ob.count(i.retryDropped, m.EventsDropped)
	}
}

func bulkheadSource(b *bulkhead.Bulkhead) func(observation) {
	return func(ob observation) {
		m, i := b.Metrics(), ob.i
		ob.gauge(i.bulkheadLimit, int64(m.Limit))
		ob.gauge(i.bulkheadInFlight, int64(m.InFlight))
		ob.gauge(i.bulkheadQueue, int64(m.Queued))
		ob.gauge(i.bulkheadDelayed, int64(m.Delayed))
		ob.count(i.bulkheadAdmitted, m.Admitted)
		ob.count(i.bulkheadRejections, m.Rejected, "reason", "full")
		ob.count(i.bulkheadRejections, m.Cancelled, "reason", "cancelled")
	}
}

func watchdogSource(w *deadline.Watchdog) func(observation) {
	return func(ob observation) {
		m, i := w.Metrics(), ob.i
		ob.count(i.deadlineTimeouts, m.Fired)
		ob.gauge(i.deadlinePending, int64(m.Pending))
		ob.gauge(i.deadlineAbandoned, int64(m.Abandoned))
		ob.count(i.deadlineAbandonedTotal, m.AbandonedTotal)
	}
}
