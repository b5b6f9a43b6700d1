// Package resilience is the vocabulary every part of this module speaks:
// the verbs that run a function through a policy ([Do] and [Policy.Run]),
// the fixed-order [Pipeline] that composes policies, the [Outcome] a result
// is classified into, and the errors every policy returns.
//
// Use it when a call to a dependency should be protected by more than one
// policy: a breaker, retries, timeouts, a bulkhead. The policies live in
// their own packages (breaker, retry, deadline, ...) and all satisfy
// [Policy]; admission policies (a breaker, a bulkhead, a rate limiter) also
// satisfy [Gate]. A [Pipeline] puts them in one order, outer to inner:
//
//	limiter → total timeout → retry → breaker → bulkhead → attempt timeout → fn
//
// so a user never has to get the nesting right by hand. A zero Pipeline
// calls the function directly.
//
// Errors: every refusal matches [ErrRejected] and carries a
// RetryAfter method ([*RejectedError]); a timeout matches [ErrTimeout] and
// context.DeadlineExceeded ([*TimeoutError]); a bad configuration is a
// [*ConfigError] naming the field; a panic in user code is re-raised in the
// caller's goroutine, or delivered as a [*PanicError] when the code ran on a
// goroutine the library owns. errors.Is and errors.As see through every
// stage.
//
// The nearest standard-library neighbour is [context.WithTimeout]: it bounds
// one call. This package bounds, retries, sheds and fails fast, and tells the
// caller which of those happened.
package resilience
