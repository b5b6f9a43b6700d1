// Package eventlog writes the events of breakers, retry policies and
// hedging policies to a [log/slog] Logger, with a cap per source so an
// outage cannot flood the log.
//
// A [Log] hands out the channels the components publish on
// ([Log.Breakers] for breaker.Config.Events, [Log.Retry] for
// retry.Config.Events, [Log.Hedges] for hedge.Config.Events) and reads
// them all on one goroutine of its own, which [Log.Start] starts and
// [Log.Stop] ends. The components never wait for it: their sends are
// non-blocking, so a slow or stuck log handler costs the protected calls
// nothing (the components count the events they drop), and a handler that
// panics is recovered and counted in [Log.Metrics].
//
// Each source (a breaker's name, a retry policy's name) may write at most
// Config.Burst records per Config.Interval; the rest are counted and
// summed up in one "log records suppressed" record when the interval
// ends. A breaker opening is logged at [slog.LevelWarn], its other state
// changes at [slog.LevelInfo]; a retry at Info, or Warn when the failed
// attempt was refused by a gate (its error matches
// resilience.ErrRejected); a hedge (an extra attempt started) at Info.
//
// Use it for a human-readable history of state changes next to the rest
// of a service's log; for dashboards, export the components' counters to
// a metrics system instead.
package eventlog
