package resilience

import "context"

// WithAttempt returns a copy of parent in which [Attempt] reports n. A
// policy that runs attempts itself (a retry policy, a hedging policy) uses
// it so that fn can read its attempt number whether the policy runs alone
// or in a [Pipeline]; a Pipeline does not number the attempts again. n
// below 1 counts as 1.
func WithAttempt(parent context.Context, n int) context.Context {
	return context.WithValue(parent, attemptKey{}, max(n, 1))
}
