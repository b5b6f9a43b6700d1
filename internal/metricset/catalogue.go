// Package metricset is the one catalogue of the metrics this module's
// components expose, how each is read from a component's Metrics snapshot,
// and the set of named components an exporter reads. The exporter modules
// (prometheus, otel) turn it into their own instruments; neither keeps a
// list of its own.
package metricset

// Kind says how a metric behaves.
type Kind uint8

// The kinds of metric.
const (
	Gauge   Kind = iota // a value that goes up and down
	Counter             // a lifetime count that only grows
)

// Metric is one metric of the catalogue. Exporters name it after Sub and
// Name: resilience_<Sub>_<Name> (with _total for a counter) in Prometheus,
// resilience.<Sub>.<Name> in OpenTelemetry. Every value carries the
// component's name; Label, if set, is the key of one more label.
type Metric struct {
	Sub, Name string
	Kind      Kind
	Float     bool   // its values are fractional (a rate), not counts
	Unit      string // the OpenTelemetry unit
	Label     string
	Help      string
}

func gauge(sub, name, unit, help string) *Metric {
	return &Metric{Sub: sub, Name: name, Kind: Gauge, Unit: unit, Help: help}
}

func counter(sub, name, unit, label, help string) *Metric {
	return &Metric{Sub: sub, Name: name, Kind: Counter, Unit: unit, Label: label, Help: help}
}

// The catalogue.
var (
	BreakerState       = gauge("breaker", "state", "1", "Breaker state: 0 closed, 1 open, 2 half-open.")
	BreakerCalls       = counter("breaker", "calls", "{call}", "result", "Calls the breaker admitted and judged, by result: success, failure (panics included), ignored (throttled or ignored, such as cancelled calls).")
	BreakerRejections  = counter("breaker", "rejections", "{call}", "reason", "Calls the breaker refused, by reason: open, or half_open with every probe slot taken.")
	BreakerSlow        = counter("breaker", "slow_calls", "{call}", "", "Calls that took longer than the breaker's slow-call duration.")
	BreakerTransitions = counter("breaker", "transitions", "{transition}", "to", "State changes, by the state entered: open, or closed from another state.")
	BreakerDropped     = counter("breaker", "events_dropped", "{event}", "", "State-change events dropped because the Events channel was full.")

	FamilyKeys       = gauge("breaker_family", "keys", "{key}", "Breakers (one per key) the family holds now.")
	FamilyCreated    = counter("breaker_family", "created", "{key}", "", "Breakers the family created for new keys.")
	FamilyEvictions  = counter("breaker_family", "evictions", "{key}", "reason", "Closed breakers evicted, by reason: idle (unused for the idle timeout), lru (to make room for a new key).")
	FamilyRejections = counter("breaker_family", "rejections", "{key}", "reason", "New keys refused, by reason: full (no breaker could be evicted to make room).")

	LimiterRate       = &Metric{Sub: "limiter", Name: "rate", Kind: Gauge, Float: true, Unit: "{call}/s", Help: "The limiter's configured rate, in calls per second."}
	LimiterBurst      = gauge("limiter", "burst", "{call}", "Calls an idle limiter admits at once.")
	LimiterAdmitted   = counter("limiter", "admitted", "{call}", "", "Calls the limiter admitted.")
	LimiterRejections = counter("limiter", "rejections", "{call}", "reason", "Calls the limiter refused, by reason: rate (over the rate, or a wait that ended without a permit).")

	RetryRetries   = counter("retry", "retries", "{retry}", "", "Retries: waits begun before another attempt.")
	RetryRecovered = counter("retry", "recovered", "{call}", "", "Calls that succeeded after at least one retry.")
	RetryFailed    = counter("retry", "failed_calls", "{call}", "reason", "Calls that stopped without success, by reason: attempts (every attempt used), budget (the retry budget refused), context (it ended, or the next wait would pass its deadline), not_retryable (the error was not worth retrying).")
	RetryDropped   = counter("retry", "events_dropped", "{event}", "", "Retry events dropped because the Events channel was full.")

	BulkheadLimit      = gauge("bulkhead", "limit", "{call}", "Calls and jobs the bulkhead runs at once, at most.")
	BulkheadInFlight   = gauge("bulkhead", "in_flight", "{call}", "Calls and jobs admitted and not yet done.")
	BulkheadQueue      = gauge("bulkhead", "queue_depth", "{call}", "Calls and jobs waiting for a slot.")
	BulkheadDelayed    = gauge("bulkhead", "delayed", "{job}", "Jobs waiting out a retry delay before they queue.")
	BulkheadAdmitted   = counter("bulkhead", "admitted", "{call}", "", "Calls and jobs the bulkhead admitted.")
	BulkheadRejections = counter("bulkhead", "rejections", "{call}", "reason", "Calls and jobs not admitted, by reason: full (no slot and no queue place, or the bulkhead stopping), cancelled (their context ended while they waited).")

	DeadlineTimeouts       = counter("deadline", "timeouts", "{call}", "", "Deadlines that ended their context before it was cancelled: calls that timed out.")
	DeadlinePending        = gauge("deadline", "pending", "{deadline}", "Deadlines armed and neither fired nor cancelled.")
	DeadlineAbandoned      = gauge("deadline", "abandoned_running", "{function}", "Functions still running after their caller was released at the deadline.")
	DeadlineAbandonedTotal = counter("deadline", "abandoned", "{function}", "", "Functions whose caller was released at the deadline while they ran.")

	// All lists the catalogue, in a stable order.
	All = []*Metric{
		BreakerState, BreakerCalls, BreakerRejections, BreakerSlow, BreakerTransitions, BreakerDropped,
		FamilyKeys, FamilyCreated, FamilyEvictions, FamilyRejections,
		LimiterRate, LimiterBurst, LimiterAdmitted, LimiterRejections,
		RetryRetries, RetryRecovered, RetryFailed, RetryDropped,
		BulkheadLimit, BulkheadInFlight, BulkheadQueue, BulkheadDelayed, BulkheadAdmitted, BulkheadRejections,
		DeadlineTimeouts, DeadlinePending, DeadlineAbandoned, DeadlineAbandonedTotal,
	}
)
