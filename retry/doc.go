// Package retry runs an operation again when it fails, waiting between
// attempts according to a backoff policy with jitter.
//
// Use it around calls to dependencies that fail transiently (timeouts,
// 503s, an open circuit breaker). The standard library has no retry loop;
// its nearest neighbour is a hand-written for loop around time.Sleep or
// time.After, which this package replaces with one that
//
//   - computes delays that never overflow, go negative or exceed the
//     maximum, with none, full, equal, decorrelated or proportional
//     jitter, or at once ([Immediate]), or from a function of the error;
//   - stops on the attempt limit (per error with Config.AttemptsFor), the
//     context, or an optional limit on the total time (Config.MaxElapsed);
//   - classifies errors with the module's one classifier
//     ([resilience.Classify] by default): failures and throttling are
//     retried, terminal and ignored errors stop the loop at once;
//   - honours server-directed delays (an error with a RetryAfter method,
//     such as [resilience.RetryAfter] or a breaker's refusal);
//   - wakes at once when the context is cancelled, and does not start a
//     sleep that would end past the context's deadline;
//   - bounds the extra load of retries with a shared [Budget];
//   - returns an [*Error] carrying the last attempt's error, the stop
//     reason ([resilience.ErrExhausted], the context's error, the budget's
//     refusal), the attempt count, the time spent and a bounded record of
//     earlier errors; errors.Is matches only the last error and the reason.
//
// Build one [Policy] with [New] and call [Policy.Run], or
// [resilience.Do] for an operation that returns a value; fn reads its
// attempt number with [resilience.Attempt]. A Policy also fills the Retry
// slot of a [resilience.Pipeline]. A first attempt that succeeds costs a
// function call and no allocation. For many concurrent retried jobs,
// [resilience.Submit] through a Pipeline with a bulkhead steps the loop
// with [Policy.Plan]: each waiting retry is a timer entry in the bulkhead
// instead of one sleeping goroutine.
//
// Panics in user code (the function, Config.Classify, Config.Delay,
// Config.AttemptsFor, a Rand source) are not retried. [Policy.Run] does not recover them: the panic
// continues in the caller's goroutine. [resilience.Submit], which runs that
// code on goroutines the bulkhead owns, recovers it and answers the job
// with a [*resilience.PanicError] carrying the panic value and stack.
package retry
