package metricset

import (
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
)

// Emit receives one value of m; label is the value of m.Label, "" when m
// has none.
type Emit func(m *Metric, v float64, label string)

// Source reads one component's Metrics snapshot and emits its values.
type Source func(Emit)

func breakerSource(b *breaker.Breaker) Source {
	return func(e Emit) {
		m := b.Metrics()
		e(BreakerState, float64(m.State), "")
		e(BreakerCalls, float64(m.Successes), "success")
		e(BreakerCalls, float64(m.Failures), "failure")
		e(BreakerCalls, float64(m.Ignored), "ignored")
		e(BreakerRejections, float64(m.RejectedOpen), "open")
		e(BreakerRejections, float64(m.RejectedHalfOpen), "half_open")
		e(BreakerSlow, float64(m.SlowCalls), "")
		e(BreakerTransitions, float64(m.Opened), "open")
		e(BreakerTransitions, float64(m.Closed), "closed")
		e(BreakerDropped, float64(m.EventsDropped), "")
	}
}

func familySource(f interface{ Metrics() breaker.FamilyMetrics }) Source {
	return func(e Emit) {
		m := f.Metrics()
		e(FamilyKeys, float64(m.Keys), "")
		e(FamilyCreated, float64(m.Created), "")
		e(FamilyEvictions, float64(m.EvictedIdle), "idle")
		e(FamilyEvictions, float64(m.EvictedLRU), "lru")
		e(FamilyRejections, float64(m.Full), "full")
	}
}

func limiterSource(r *limit.Rate) Source {
	return func(e Emit) {
		m := r.Metrics()
		e(LimiterRate, m.PerSecond, "")
		e(LimiterBurst, float64(m.Burst), "")
		e(LimiterAdmitted, float64(m.Allowed), "")
		e(LimiterRejections, float64(m.Limited), "rate")
	}
}

func retrySource(p *retry.Policy) Source {
	return func(e Emit) {
		m := p.Metrics()
		e(RetryRetries, float64(m.Retries), "")
		e(RetryRecovered, float64(m.Recovered), "")
		e(RetryFailed, float64(m.Exhausted), "attempts")
		e(RetryFailed, float64(m.BudgetDenied), "budget")
		e(RetryFailed, float64(m.ContextDone), "context")
		e(RetryFailed, float64(m.NotRetryable), "not_retryable")
		e(RetryDropped, float64(m.EventsDropped), "")
	}
}

func bulkheadSource(b *bulkhead.Bulkhead) Source {
	return func(e Emit) {
		m := b.Metrics()
		e(BulkheadLimit, float64(m.Limit), "")
		e(BulkheadInFlight, float64(m.InFlight), "")
		e(BulkheadQueue, float64(m.Queued), "")
		e(BulkheadDelayed, float64(m.Delayed), "")
		e(BulkheadAdmitted, float64(m.Admitted), "")
		e(BulkheadRejections, float64(m.Rejected), "full")
		e(BulkheadRejections, float64(m.Cancelled), "cancelled")
	}
}

func watchdogSource(w *deadline.Watchdog) Source {
	return func(e Emit) {
		m := w.Metrics()
		e(DeadlineTimeouts, float64(m.Fired), "")
		e(DeadlinePending, float64(m.Pending), "")
		e(DeadlineAbandoned, float64(m.Abandoned), "")
		e(DeadlineAbandonedTotal, float64(m.AbandonedTotal), "")
	}
}
