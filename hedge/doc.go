// Package hedge cuts the tail latency of calls to a dependency by
// hedging: when an attempt has not answered within a delay, or has
// failed, the same idempotent operation starts again alongside it, and
// the first acceptable answer wins; the other attempts are cancelled and
// their results discarded.
//
// Use it for reads and other idempotent calls whose latency has a long
// tail (a replica that stalls, a garbage-collection pause, a slow disk),
// where a second attempt after the 95th percentile usually answers
// sooner than waiting. Do not use it for calls that must not run twice.
// Where a retry waits for an attempt to fail before trying again, a hedge
// does not wait: it runs attempts side by side. The standard library has
// no neighbour; the hand-written form is a goroutine per attempt, a
// select with a timer, and a cancel.
//
// Build a [Policy] with [New] and put it in the Retry slot of a
// [resilience.Pipeline], so that every attempt passes the breaker, the
// bulkhead and the attempt timeout on its own, or use it alone with
// [Policy.Run] or [resilience.Do]. The delay is fixed (Config.Delay) or
// follows a quantile of recent latencies (Config.Quantile). A
// [retry.Budget] in Config.Budget bounds the extra load hedges add.
//
// Run returns only once every attempt it started has returned, so no
// goroutine outlives a call; fn must honour its context. A panic in fn,
// which runs on a goroutine the policy owns, reaches the caller as a
// [*resilience.PanicError]. [resilience.Do] returns the value of the
// winning attempt and hands every other attempt's value that has a
// Release() method to that method, so a discarded result that holds a
// resource (an open response body) is freed.
package hedge
