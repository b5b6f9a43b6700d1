// Package resiliencegrpc protects gRPC calls with the policies of the
// resilience module, on both sides of the wire.
//
// On the client, a [Client]'s interceptors run every call through one
// [resilience.Pipeline]: a rate limit, the call's timeout (sent to the
// server as the gRPC deadline), retries, a circuit breaker per target and
// method from a breaker.Family, a bulkhead and a timeout per attempt.
// Results are classified by status code (see [Classify]) with no
// configuration: Unavailable and DeadlineExceeded are failures worth
// another attempt, ResourceExhausted asks the client to back off for the
// server's RetryInfo delay, InvalidArgument and the like come from a
// healthy server and are neither counted against it nor retried. Only
// methods declared idempotent are retried once the server has seen them
// (see [ClientConfig.Idempotent]). Streams are protected while they open;
// their messages are never retried.
//
// On the server, a [Server]'s interceptors shed load with a
// resilience.Gate (a bulkhead, a rate limiter), answering
// ResourceExhausted with a retry delay, and tie the server to a
// lifecycle.Coordinator: calls in flight are drained at shutdown, new
// calls are answered Unavailable once it has begun, and the standard
// health service reports NOT_SERVING.
//
// grpc-go can also retry by itself, per method and status code, when a
// service config holds a retryPolicy; it has no circuit breaker and no
// bulkhead. Retry a method in one place, not both, or the attempts
// multiply.
package resiliencegrpc
