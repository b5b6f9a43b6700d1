package retry

import (
	"errors"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// Metrics are a Policy's lifetime counters. A call that succeeds at its
// first attempt touches none of them. Every call that stopped without
// success after at least one attempt is counted once, in exactly one of
// Exhausted, BudgetDenied, ContextDone and NotRetryable (a call whose
// context ended before its first attempt is in none).
type Metrics struct {
	Retries      uint64 // waits begun before a next attempt (one per retry)
	Recovered    uint64 // calls that succeeded after at least one retry
	Exhausted    uint64 // calls that failed at their last attempt (MaxAttempts)
	BudgetDenied uint64 // calls stopped because the Budget refused a retry
	// ContextDone counts calls stopped by their context: it ended, or the
	// next wait would have ended past its deadline.
	ContextDone uint64
	// NotRetryable counts calls stopped by an error Classify did not
	// retry (Terminal, Ignored, or Success for a non-nil error).
	NotRetryable  uint64
	EventsDropped uint64 // events not sent because Config.Events was full
}

// counters are the atomics behind [Metrics], touched only on the retry
// path.
type counters struct {
	retries, recoveries, exhausted, budget, context, notRetryable atomic.Uint64
}

// Metrics returns the lifetime counters; it does not block calls.
func (p *Policy) Metrics() Metrics {
	c := &p.counts
	return Metrics{
		Retries:       c.retries.Load(),
		Recovered:     c.recoveries.Load(),
		Exhausted:     c.exhausted.Load(),
		BudgetDenied:  c.budget.Load(),
		ContextDone:   c.context.Load(),
		NotRetryable:  c.notRetryable.Load(),
		EventsDropped: p.dropped.Load(),
	}
}

// stopped counts a call's loop that stopped for reason (nil when the
// last error itself said stop).
func (c *counters) stopped(reason error) {
	switch {
	case reason == nil:
		c.notRetryable.Add(1)
	case reason == resilience.ErrExhausted:
		c.exhausted.Add(1)
	case errors.Is(reason, resilience.ErrRejected):
		c.budget.Add(1)
	default: // the context's error or cause
		c.context.Add(1)
	}
}

// recovered counts a success after attempts failed attempts (none for a
// first-attempt success).
func (c *counters) recovered(failed int) {
	if failed > 0 {
		c.recoveries.Add(1)
	}
}
