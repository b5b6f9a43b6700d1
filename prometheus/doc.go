// Package promresilience exports the counters and states of this module's
// components to Prometheus: circuit breakers and keyed breaker families,
// rate limiters, retry policies, bulkheads and deadline watchdogs.
//
// A [Collector] is a prometheus.Collector. Register it once with a
// registry, then name each component it should read:
//
//	c := promresilience.New()
//	reg.MustRegister(c)
//	_ = c.Breaker("payments", b)
//	_ = c.Retry("payments", policy)
//
// The collector keeps no copy of any counter and starts no goroutine: at
// every scrape it reads each component's Metrics snapshot, so the calls
// being protected pay nothing for being observed. Every series carries a
// "name" label, the name given at registration, so the number of series
// grows with the components registered and never with traffic: a breaker
// family is exported as a whole (keys held, created, evicted, refused),
// not one series per key.
//
// Use it instead of hand-made collectors when the dashboards should show
// the library's own view of each call: admitted, refused and why, retried,
// timed out. The metric names, types and labels are listed in
// docs/observability.md.
package promresilience
