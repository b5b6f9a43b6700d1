// Package otelresilience reports this module's components through
// OpenTelemetry: their counters and states as observable metrics, and
// what happens to each call as events on the caller's span.
//
// Metrics: [NewInstruments] creates one instrument per metric on a Meter
// and one callback that, at each collection, reads the Metrics snapshot
// of every component added by name ([Instruments.Breaker],
// [Instruments.Pipeline], ...). Nothing is recorded on the call path and
// no goroutine is started. The instruments match the Prometheus module's
// metrics (resilience.breaker.state, resilience.retry.retries, ...), each
// measurement carrying the attribute name=<the name given>; a breaker
// family is reported as a whole, never one series per key.
//
// Traces: a [Tracing] wraps a Policy (a whole Pipeline) or a Gate (a
// Pipeline slot) and adds span events for attempts, retries, refusals and
// timeouts to the span already in the caller's context:
//
//	var tr otelresilience.Tracing
//	payments := tr.Policy(pipeline)
//	err := payments.Run(ctx, call) // ctx carries the request's span
//
// Use it when the service already exports OpenTelemetry; for a Prometheus
// scrape endpoint, the promresilience module exports the same metrics
// without the SDK.
package otelresilience
