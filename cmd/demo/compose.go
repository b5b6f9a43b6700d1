package main

import (
	"context"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
)

// The two useful ways to stack the patterns around one operation. Both give
// every attempt its own deadline; they differ in what the breaker sees and
// in who stops whom. docs/composition.md explains which to choose.

// retryOutside is retry(breaker(deadline(op))), the gateway's order: the
// breaker judges every attempt, so an outage trips it after
// FailureThreshold attempts rather than FailureThreshold whole retried
// calls, and an open breaker ends the retry loop: its error carries a
// retry-after, which the loop waits for if that fits before the context's
// deadline and the retry policy's MaxDelay, and otherwise stops at once.
func retryOutside[T any](ctx context.Context, r *retry.Policy, b *breaker.Breaker, attempt *resilience.Pipeline, op func(ctx context.Context, attempt int) (T, error)) (T, error) {
	return resilience.Do(ctx, r, func(ctx context.Context) (T, error) {
		n := resilience.Attempt(ctx)
		// An open breaker's *resilience.RejectedError carries RetryAfter
		// (with a probe margin added), which the retry loop finds in the
		// error chain.
		return resilience.Do(ctx, b, func(ctx context.Context) (T, error) {
			return resilience.Do(ctx, attempt, func(ctx context.Context) (T, error) { return op(ctx, n) })
		})
	})
}

// breakerOutside is breaker(retry(deadline(op))), the nested order: the
// breaker judges whole retried calls, so failures that a retry absorbs
// never count against the upstream, and an open breaker refuses the call
// before any attempt is made.
func breakerOutside[T any](ctx context.Context, r *retry.Policy, b *breaker.Breaker, attempt *resilience.Pipeline, op func(ctx context.Context, attempt int) (T, error)) (T, error) {
	return resilience.Do(ctx, b, func(ctx context.Context) (T, error) {
		return resilience.Do(ctx, r, func(ctx context.Context) (T, error) {
			n := resilience.Attempt(ctx)
			return resilience.Do(ctx, attempt, func(ctx context.Context) (T, error) { return op(ctx, n) })
		})
	})
}
