// Package fleet shares circuit breakers, rate limits and retry budgets
// between every replica of a service through Redis, without a Redis round
// trip on the call path.
//
// Use it when one replica's view is not enough: when a dependency dies,
// every replica should stop calling it, not each one after its own
// failures; a rate limit should hold for the service, not per process; the
// retries the whole service sends should stay a fraction of its calls. A
// process-local [breaker.Breaker], [limit.Rate] or [retry.Budget] stays the
// right choice when replicas may judge alone.
//
// One [Agent] per process owns all Redis I/O on the client you already
// have (a redis.UniversalClient: single node, Sentinel or Cluster, with
// your AUTH, ACL and TLS settings). Calls go through a [Breaker], a
// [Limiter] or a [Budget], which read an atomic snapshot the agent
// publishes and the replica's local state; they never wait for Redis.
//
// The agent samples the local breakers' counters and flushes the deltas in
// batches, with one Lua script per dependency, into time buckets stamped by
// Redis's clock. The fleet opens a dependency when, over the window, it has
// seen enough calls, enough of them failed, and a quorum of replicas fail
// on their own evidence: one bad replica never opens the fleet, and a fleet
// of one behaves like its local breaker. The open is published at once and
// carried by every flush reply. After the open timeout one replica owns the
// probe; its results close or reopen the fleet.
//
// Redis errors never reach a caller. Every operation has a deadline and
// goes through the agent's own breaker; while Redis is slow or down, a
// known fleet open is kept until its deadline and then each replica uses
// its local breaker, and a limiter admits its share of the rate. See
// docs/fleet.md for the design, the trip rule, the failure modes, the
// limiter's overshoot bound and running on Redis Cluster.
package fleet
