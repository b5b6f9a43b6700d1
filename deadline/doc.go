// Package deadline bounds how long an operation may take: it runs a
// function with a context that is cancelled when the operation's limit
// elapses, and tells the caller so with an error that names the operation
// and the limit.
//
// Use it where you would write context.WithTimeout around a call, when you
// also want: a per-operation [Table] of limits (a default plus overrides,
// fixed or [Adaptive]);
// an error matching [ErrElapsed] that says which limit elapsed, instead of
// a bare context.DeadlineExceeded that could have come from anywhere;
// net/http [Middleware] that answers a late request with a clear status
// and discards the handler's late writes safely (like http.TimeoutHandler,
// but with per-route limits and no goroutine per request); and deadline
// propagation across HTTP hops ([Transport] and [Header]), so a server
// never works longer than its caller will wait.
//
// [Run] and [Do] time every call on one shared runtime timer aimed at the
// earliest pending deadline, with one allocation per call: about half the
// cost of context.WithTimeout (see docs/deadline.md). That timer has no
// goroutine of its own and needs no stopping. A [Scheduler] does the same
// job with an actor you own, and adds [Scheduler.RunOrAbandon], [Stats]
// and an explicit Stop.
//
// Run and Do wait for the function: a function that ignores its context
// makes its caller late, and never outlives it. [Scheduler.RunOrAbandon]
// is the other choice, made visible in its name: it releases the caller
// at the deadline and leaves the function running on a goroutine that the
// Scheduler counts, reports and waits for when it stops.
package deadline
