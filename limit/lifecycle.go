package limit

import (
	"context"
	"sync"
	"sync/atomic"
)

// life is the stopped state shared by the limiters of this package: none
// owns a goroutine, so stopping only refuses later calls and ends waits.
type life struct {
	stopped atomic.Bool
	mu      sync.Mutex
	done    chan struct{} // closed by stop
}

func newLife() life { return life{done: make(chan struct{})} }

// start makes a stopped limiter admit calls again.
func (l *life) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped.Load() {
		l.done = make(chan struct{})
		l.stopped.Store(false)
	}
}

// stop refuses later calls and closes the done channel; it is idempotent.
func (l *life) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped.Load() {
		l.stopped.Store(true)
		close(l.done)
	}
}

// doneChan returns the channel closed by the current stop.
func (l *life) doneChan() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// Start makes a stopped limiter admit calls again; on a running one it does
// nothing. A limiter runs from [New], so Start is needed only to reuse a
// stopped one. It always returns nil.
func (r *Rate) Start(context.Context) error {
	r.life.start()
	return nil
}

// Stop makes later calls return [resilience.ErrStopped] at once and ends
// every [Rate.Wait] in progress the same way. A limiter holds no goroutine
// and nothing to drain, so Stop returns nil at once; it is idempotent and
// safe to call while callers keep calling.
func (r *Rate) Stop(context.Context) error {
	r.life.stop()
	return nil
}

// Done returns a channel closed once the limiter is stopped.
func (r *Rate) Done() <-chan struct{} { return r.life.doneChan() }

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
