// Package bulkhead bounds how many calls to one dependency run at once, so
// a slow dependency cannot take every goroutine, connection or slot of the
// service with it.
//
// A [Bulkhead] admits up to MaxConcurrent calls; up to MaxQueue more wait
// for a slot in arrival order; any call beyond that is refused at once with
// a [*resilience.RejectedError] matching [resilience.ErrFull]. It is a
// [resilience.Gate], so it fills the Bulkhead slot of a
// [resilience.Pipeline], where it bounds attempts after the breaker has
// admitted them.
//
// The nearest standard-library neighbour is a buffered channel used as a
// semaphore (or golang.org/x/sync/semaphore): a bulkhead adds the bounded
// queue, the typed refusal, metrics and a stop that drains.
package bulkhead

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// The defaults of zero [Config] fields.
const (
	defaultMaxConcurrent = 10
)

// Config configures [New]. The zero Config admits 10 concurrent calls and
// queues none.
type Config struct {
	// Name names the bulkhead in its refusals.
	Name string
	// MaxConcurrent is the most calls admitted at once. Default 10.
	MaxConcurrent int
	// MaxQueue is the most calls that wait for a slot; a call beyond it is
	// refused at once. Default 0: a call that finds every slot taken is
	// refused without waiting.
	MaxQueue int
}

// Bulkhead bounds concurrent calls. It is safe for concurrent use; create
// it with [New]. It starts no goroutine: a call that waits for a slot waits
// on its own goroutine, bounded by its context. Most callers put it in a
// [resilience.Pipeline]; middleware calls [Bulkhead.Allow] directly.
type Bulkhead struct {
	cfg      Config
	inFlight atomic.Int64 // admitted calls not yet done
	waiting  atomic.Int64 // len(queue), readable without the lock
	release  func(error)  // b.done, bound once so Allow does not allocate

	stopped atomic.Bool // refuses new calls; written under mu
	mu      sync.Mutex
	queue   []*waiter     // oldest first
	drained chan struct{} // closed once stopped with nothing in flight

	full, stopErr *resilience.RejectedError

	admitted, rejected, cancelled atomic.Uint64
}

// waiter is a call waiting for a slot. granted is closed when it leaves
// the queue: with a slot (err nil) or refused because the bulkhead stopped.
type waiter struct {
	granted chan struct{}
	err     error // written before granted is closed
}

var _ resilience.Gate = (*Bulkhead)(nil)

// New returns a bulkhead, or a [*resilience.ConfigError] naming the first
// invalid field.
func New(cfg Config) (*Bulkhead, error) {
	switch {
	case cfg.MaxConcurrent < 0:
		return nil, &resilience.ConfigError{Field: "bulkhead.Config.MaxConcurrent", Reason: "must not be negative"}
	case cfg.MaxQueue < 0:
		return nil, &resilience.ConfigError{Field: "bulkhead.Config.MaxQueue", Reason: "must not be negative"}
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = defaultMaxConcurrent
	}
	b := &Bulkhead{
		cfg:     cfg,
		drained: make(chan struct{}),
		full:    &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrFull},
		stopErr: &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrStopped},
	}
	b.release = b.done
	return b, nil
}

// Allow admits a call or refuses it. It returns at once when a slot is free
// or when the call cannot wait (the queue is full: [resilience.ErrFull];
// the bulkhead is stopped: [resilience.ErrStopped]). Otherwise it waits in
// line until a slot frees or ctx is done, and then returns ctx's error.
// After admission the caller must call done exactly once.
func (b *Bulkhead) Allow(ctx context.Context) (done func(error), err error) {
	if b.tryAcquire() {
		if !b.stopped.Load() {
			b.admitted.Add(1)
			return b.release, nil
		}
		b.done(nil) // Stop began meanwhile: give the slot back
	}
	w, err := b.enqueue()
	if err != nil || w == nil {
		return b.admit(err)
	}
	select {
	case <-w.granted:
		return b.admit(w.err)
	case <-ctx.Done():
		return nil, b.abandon(w, ctx)
	}
}

// admit counts the outcome of a call that did not take the fast path.
func (b *Bulkhead) admit(err error) (func(error), error) {
	if err != nil {
		b.rejected.Add(1)
		return nil, err
	}
	b.admitted.Add(1)
	return b.release, nil
}

// Run calls fn if the bulkhead admits it, and returns fn's error or the
// refusal. A panic in fn frees its slot and is re-raised.
func (b *Bulkhead) Run(ctx context.Context, fn func(context.Context) error) error {
	_, err := resilience.Do(ctx, b, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// tryAcquire takes a slot if one is free.
func (b *Bulkhead) tryAcquire() bool {
	limit := int64(b.cfg.MaxConcurrent)
	for n := b.inFlight.Load(); n < limit; n = b.inFlight.Load() {
		if b.inFlight.CompareAndSwap(n, n+1) {
			return true
		}
	}
	return false
}

// enqueue puts a waiter in line. It returns a nil waiter and nil error when
// a slot freed meanwhile and was taken for the caller.
func (b *Bulkhead) enqueue() (*waiter, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.stopped.Load():
		return nil, b.stopErr
	case b.tryAcquire():
		return nil, nil
	case len(b.queue) >= b.cfg.MaxQueue:
		return nil, b.full
	}
	w := &waiter{granted: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.waiting.Add(1)
	b.grantLocked() // a slot may have freed between tryAcquire and Add
	return w, nil
}

// abandon takes a waiter whose context ended out of line. If it was
// granted a slot meanwhile, the slot goes to the next in line.
func (b *Bulkhead) abandon(w *waiter, ctx context.Context) error {
	b.mu.Lock()
	granted := !b.removeLocked(w) && w.err == nil
	b.mu.Unlock()
	if granted {
		b.done(nil)
	}
	b.cancelled.Add(1)
	return ctx.Err()
}

// removeLocked takes w out of the queue; false if it was not there.
func (b *Bulkhead) removeLocked(w *waiter) bool {
	for i, q := range b.queue {
		if q == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			b.waiting.Add(-1)
			return true
		}
	}
	return false
}

// done frees a slot: it goes to the first waiter, if any, and the last
// one out of a stopped bulkhead closes Done.
func (b *Bulkhead) done(error) {
	n := b.inFlight.Add(-1)
	if b.waiting.Load() == 0 && (n > 0 || !b.stopped.Load()) {
		return
	}
	b.mu.Lock()
	b.grantLocked()
	if b.stopped.Load() && b.inFlight.Load() == 0 {
		b.closeDrainedLocked()
	}
	b.mu.Unlock()
}

// grantLocked gives free slots to waiters, oldest first.
func (b *Bulkhead) grantLocked() {
	for len(b.queue) > 0 && b.tryAcquire() {
		w := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.waiting.Add(-1)
		close(w.granted)
	}
}

// Start makes the bulkhead admit calls again after a [Bulkhead.Stop] that
// finished; on a running bulkhead it does nothing. A bulkhead is running
// from [New], so Start is needed only to reuse it.
func (b *Bulkhead) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped.Load() {
		return nil
	}
	select {
	case <-b.drained:
	default:
		return &resilience.RejectedError{Name: b.cfg.Name, Reason: resilience.ErrStopped}
	}
	b.drained = make(chan struct{})
	b.stopped.Store(false)
	return nil
}

// Stop refuses new calls with [resilience.ErrStopped], answers every
// waiting call the same way, and waits until the admitted calls are done
// or ctx is done, whichever comes first; it returns ctx's error in the
// second case (the calls still running keep their slots until they
// finish). Stop is idempotent and safe to call concurrently with calls.
func (b *Bulkhead) Stop(ctx context.Context) error {
	b.mu.Lock()
	if !b.stopped.Load() {
		b.stopped.Store(true)
		for _, w := range b.queue {
			w.err = b.stopErr
			close(w.granted)
		}
		clear(b.queue)
		b.queue = b.queue[:0]
		b.waiting.Store(0)
		if b.inFlight.Load() == 0 {
			b.closeDrainedLocked()
		}
	}
	drained := b.drained
	b.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeDrainedLocked closes drained once.
func (b *Bulkhead) closeDrainedLocked() {
	select {
	case <-b.drained:
	default:
		close(b.drained)
	}
}

// Done returns a channel closed once the bulkhead has stopped and every
// admitted call is done.
func (b *Bulkhead) Done() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.drained
}

// Err returns nil: a bulkhead has no failure of its own.
func (b *Bulkhead) Err() error { return nil }

// Metrics is a snapshot of a bulkhead's counters.
type Metrics struct {
	Limit     int    // MaxConcurrent
	InFlight  int    // calls admitted and not yet done
	Queued    int    // calls waiting for a slot
	Admitted  uint64 // calls admitted since New
	Rejected  uint64 // calls refused: full or stopped
	Cancelled uint64 // calls whose context ended while they waited
}

// Metrics returns the current counters; it does not block calls.
func (b *Bulkhead) Metrics() Metrics {
	return Metrics{
		Limit:     b.cfg.MaxConcurrent,
		InFlight:  int(max(0, b.inFlight.Load())),
		Queued:    int(b.waiting.Load()),
		Admitted:  b.admitted.Load(),
		Rejected:  b.rejected.Load(),
		Cancelled: b.cancelled.Load(),
	}
}
