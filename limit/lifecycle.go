package limit

import "context"

// Start makes a stopped limiter admit calls again; on a running one it does
// nothing. A limiter runs from [New], so Start is needed only to reuse a
// stopped one. It always returns nil.
func (r *Rate) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() {
		r.done = make(chan struct{})
		r.stopped.Store(false)
	}
	return nil
}

// Stop makes later calls return [resilience.ErrStopped] at once and ends
// every [Rate.Wait] in progress the same way. A limiter holds no goroutine
// and nothing to drain, so Stop returns nil at once; it is idempotent and
// safe to call while callers keep calling.
func (r *Rate) Stop(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped.Load() {
		r.stopped.Store(true)
		close(r.done)
	}
	return nil
}

// Done returns a channel closed once the limiter is stopped.
func (r *Rate) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

// Err returns nil: a limiter has no failure of its own.
func (r *Rate) Err() error { return nil }

// Metrics is a snapshot of a limiter's counters.
type Metrics struct {
	PerSecond float64 // the configured rate, after rounding to the nanosecond
	Burst     int     // calls an idle limiter admits at once
	Allowed   uint64  // calls admitted since New, by Allow, Wait or Reserve
	Limited   uint64  // calls refused for the rate, or whose Wait ended without a permit
}

// Metrics returns the current counters; it does not block calls.
func (r *Rate) Metrics() Metrics {
	allowed, limited := r.counts.sum()
	return Metrics{
		PerSecond: 1e9 / float64(r.interval),
		Burst:     int(r.tol/r.interval) + 1,
		Allowed:   allowed,
		Limited:   limited,
	}
}
