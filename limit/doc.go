// Package limit bounds how much load reaches one dependency, with three
// limiters that share its vocabulary:
//
//   - [Rate], a token bucket: up to Burst calls at once and PerSecond calls
//     a second on average. A [resilience.Gate] for the Limiter slot of a
//     [resilience.Pipeline], where it takes one permit per logical call
//     however many attempts the retry policy makes. Use it to respect a
//     quota, or to stop one caller from flooding a dependency.
//   - [Keyed], one token bucket per key (a tenant, a client address), with
//     a cap on the keys held. Use it for fairness between callers.
//   - [Adaptive], a limit on the calls in flight that it learns from their
//     latency. A Gate for the Bulkhead slot: a bulkhead whose size is found
//     rather than guessed. Use it when the dependency's capacity is unknown
//     or changes, and queueing at it is what hurts.
//
// Each refuses at once rather than piling callers up: a call beyond the
// rate is refused with a [*resilience.RejectedError] matching [ErrLimited],
// one beyond the adaptive limit and its line with one matching
// [resilience.ErrFull]; their RetryAfter says when to come back.
// [Rate.Wait] waits for a permit instead, bounded by its context.
//
// None of them starts a goroutine. A bucket is kept as one number, the
// theoretical arrival time of the generic cell rate algorithm (GCRA),
// updated with a compare-and-swap: an admitted call takes no lock and
// does not allocate. The nearest neighbour is golang.org/x/time/rate,
// which takes a mutex per call and has no keyed form; for a fixed limit
// on calls in flight, see the bulkhead package.
package limit
