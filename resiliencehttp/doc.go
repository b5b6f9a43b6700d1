// Package resiliencehttp puts the resilience policies around HTTP, on both
// sides of a call.
//
// # Client
//
// [New] returns a [Transport], an http.RoundTripper to give an
// http.Client. Every request runs through one [resilience.Pipeline]
// (Limiter → Timeout → Retry → Breaker → Bulkhead → AttemptTimeout), with
// what HTTP needs on top:
//
//   - Per-upstream breakers: with Config.PerHost, each upstream
//     (scheme://host:port, or Config.Key) gets the breaker of a
//     breaker.Family, so one failing upstream does not open the others.
//   - Outcomes by status: a response whose status is not a success reaches
//     the policies as a [*StatusError] that classifies itself: 502, 503
//     and 504 are failures worth another attempt, other 5xx failures that
//     another attempt will not fix, 429 a request to slow down that the
//     breaker does not count. Transport errors are failures. Config.Statuses
//     and Config.Classify change the table. The caller still gets the
//     response: a RoundTripper returns the last response, whatever its
//     status.
//   - Retries only where safe: GET, HEAD, OPTIONS, TRACE, PUT and DELETE,
//     and other methods only with an Idempotency-Key header or
//     Config.RetryAllMethods. Retry-After, in seconds or as a date, sets
//     the wait, clamped by the retry policy's MaxDelay.
//   - Bodies: the request body is sent whole on every attempt (from
//     GetBody, or kept in memory up to Config.MaxBodyBuffer); one that
//     cannot be is sent once, and a failure says why it was not retried.
//     The responses of failed attempts are drained and closed, so their
//     connections carry the next attempt.
//   - Time: the request's context is the overall budget; the pipeline's
//     timeouts bound the attempts but the final response's body stays
//     readable after RoundTrip returns, until it is read or closed. Each
//     attempt sends its remaining time in the deadline.Header header, and
//     no retry starts whose wait would end past the deadline.
//   - Retry budgets: Config.Budget bounds the retries each upstream sees.
//   - Hedging: with Config.Hedge, a slow idempotent request gets another
//     attempt alongside it after a fixed delay or a latency quantile; the
//     first good response wins and the others are cancelled and closed.
//
// The policies report what they do on their own channels and metrics:
// breaker.Config.Events and Metrics for admissions and refusals,
// retry.Config.Events for each retry, hedge.Config.Events for each hedge;
// [Transport.Metrics] counts the rest.
//
// # Server
//
// [Middleware], configured by [HandlerConfig], is the matching server
// side: it refuses new requests while the server drains, bounds each
// request by its route's limit and the caller's remaining budget, read
// from the same header the Transport sends, and sheds load with 503 and
// a Retry-After that the Transport honours.
package resiliencehttp
