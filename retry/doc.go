// Package retry runs an operation again when it fails, waiting between
// attempts according to a backoff policy with jitter.
//
// Use it around calls to dependencies that fail transiently (timeouts,
// 503s, an open circuit breaker). The standard library has no retry loop;
// its nearest neighbour is a hand-written for loop around time.Sleep or
// time.After, which this package replaces with one that
//
//   - computes delays that never overflow, go negative or exceed the
//     maximum, with none, full, equal or decorrelated jitter;
//   - stops for a reason it reports ([Cause]): attempts exhausted, a
//     permanent error, the context, a retry budget, or a dependency that
//     said "not now" and could not be waited for;
//   - wakes at once when the context is cancelled, and does not start a
//     sleep that would end past the context's deadline;
//   - honours server-directed delays (an error with a RetryAfter method,
//     see [ParseRetryAfter]);
//   - returns an [*Error] carrying the first and the last attempts' errors
//     (bounded, however many attempts ran), the attempt count, the stop
//     cause and the time spent; errors.Is matches the last attempt's error
//     and the stop reason only.
//
// Most callers build one [Retrier] with [New] and call [Retrier.Do] or
// [DoValue]. A first attempt that succeeds costs a function call and no
// allocation. For many concurrent retried jobs, a [Scheduler] keeps the
// waiting ones as entries in one actor's timer queue instead of one sleeping
// goroutine each.
//
// Panics in user code (the function, RetryIf, a Policy, OnRetry, a Rand
// source) are not retried or counted as failures. [Retrier.Do] and
// [DoValue] do not recover them: the panic continues in the caller's
// goroutine. A [Scheduler], which runs that code on goroutines it owns,
// recovers it and answers the job with a [*PanicError] carrying the panic
// value and stack.
package retry
