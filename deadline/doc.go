// Package deadline bounds how long operations may take, beyond what a
// [resilience.Pipeline]'s Timeout gives:
//
//   - a per-operation [Table] of limits (a default plus overrides, fixed or
//     [Adaptive]), whose names go in the Pipeline's Name, so a timeout is a
//     [*resilience.TimeoutError] naming the operation and its limit;
//   - a [Watchdog]: the Pipeline's shared timer as a component you own,
//     with [Metrics], and [Watchdog.RunOrAbandon] for functions that
//     ignore their context;
//   - net/http [Middleware] that answers a late request with a clear
//     status and discards the handler's late writes safely (like
//     http.TimeoutHandler, but with per-route limits and no goroutine per
//     request), and deadline propagation across HTTP hops ([Transport] and
//     [Header]), so a server never works longer than its caller will wait.
//
// A timeout on its own needs nothing from this package:
//
//	p := &resilience.Pipeline{Name: "search", Timeout: 250 * time.Millisecond}
//	err := p.Run(ctx, fn) // or resilience.Do(ctx, p, fn) for a value
//
// times the call on one shared runtime timer aimed at the earliest pending
// deadline of all calls, with one allocation per call: about half the cost
// of context.WithTimeout (see docs/deadline.md), and no goroutine of its
// own. A Pipeline waits for its function: a function that ignores its
// context makes its caller late, and never outlives it.
// [Watchdog.RunOrAbandon] is the other choice, made visible in its name: it
// releases the caller at the deadline and leaves the function running on a
// goroutine that the Watchdog counts, reports and waits for when it stops.
package deadline
