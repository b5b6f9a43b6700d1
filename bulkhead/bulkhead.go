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
// A Bulkhead is also the one job runner for its dependency: jobs given to
// [Bulkhead.Go], or to [resilience.Submit] through a Pipeline with this
// bulkhead, run on workers it owns. A job may first wait out a delay as an
// entry in the bulkhead's delay heap, served by one runtime timer: no
// goroutine and no slot. Submit uses this for a retry
// policy that hands out a [resilience.Plan]: between attempts a job holds
// no worker and no slot, so 100,000 waiting retries cost about 290 bytes
// each instead of a sleeping goroutine each.
//
// The nearest standard-library neighbour is a buffered channel used as a
// semaphore (or golang.org/x/sync/semaphore): a bulkhead adds the bounded
// queue, the typed refusal, metrics and a stop that drains.
package bulkhead

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/gate"
)

// defaultMaxConcurrent is the MaxConcurrent of a zero Config.
const defaultMaxConcurrent = 10

// Config configures [New]. The zero Config admits 10 concurrent calls and
// queues none.
type Config struct {
	// Name names the bulkhead in its refusals.
	Name string
	// MaxConcurrent is the most calls admitted at once. Default 10.
	MaxConcurrent int
	// MaxQueue is the most calls and jobs that wait for a slot or out a
	// delay (see [Bulkhead.Go]); one beyond it is refused at once. Default 0: a call that finds every slot taken is
	// refused without waiting.
	MaxQueue int
}

// Bulkhead bounds concurrent calls. It is safe for concurrent use; create
// it with [New]. Calls wait on their own goroutines; jobs given to
// [Bulkhead.Go] (or [resilience.Submit]) run on workers the bulkhead starts
// for each and waits for in [Bulkhead.Stop], so an idle bulkhead has no
// goroutine. Most callers put it in a [resilience.Pipeline]; middleware
// calls [Bulkhead.Allow] directly.
type Bulkhead struct {
	cfg      Config
	inFlight atomic.Int64 // admitted calls and jobs not yet done
	waiting  atomic.Int64 // queued waiters not yet admitted or withdrawn
	delayed  atomic.Int64 // jobs waiting out a delay, see Go
	release  func(error)  // b.done, bound once so Allow does not allocate
	stopped  atomic.Bool  // refuses new calls; written under mu

	mu      sync.Mutex
	queue   []*waiter                  // oldest first; may hold withdrawn waiters
	delays  delayHeap                  // jobs waiting out a delay, earliest first
	timer   *time.Timer                // aimed at delays[0], see aimLocked
	armed   bool                       // timer set and not yet stopped
	epoch   time.Time                  // origin of waiter.when
	watches map[<-chan struct{}]*watch // cancellation of queued jobs, by ctx.Done()
	drained chan struct{}              // closed once stopped with nothing in flight

	full, stopErr *resilience.RejectedError
	workers       sync.WaitGroup // job workers, see Go
	fires         sync.WaitGroup // watches and delay timers that may still fire

	admitted, rejected, cancelled atomic.Uint64
}

// The states of a waiter. A waiter leaves the queued state once, by a CAS,
// so whoever wins (a grant, its cancellation, Stop) is the only one to act.
const (
	queued int32 = iota
	admitted
	withdrawn
	delaying // a job waiting out its delay before it joins the queue
)

// waiter is a call or a job in line for a slot. A call's granted channel is
// closed once it leaves the line by a grant (state admitted) or by Stop
// (state withdrawn). A job has no channel: it is started on a worker or answered.
type waiter struct {
	state   atomic.Int32
	granted chan struct{}
	job     job           // run nil for a call
	when    time.Duration // a delaying job's end of delay, since epoch
	index   int32         // its place in delays, -1 once out
}

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
		watches: make(map[<-chan struct{}]*watch),
		epoch:   time.Now(),
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
// line until a slot frees, the bulkhead stops, or ctx is done (it then
// returns ctx's error). After admission the caller must call done exactly
// once.
func (b *Bulkhead) Allow(ctx context.Context) (done func(error), err error) {
	if b.tryAcquire() {
		if !b.stopped.Load() {
			b.admitted.Add(1)
			return b.release, nil
		}
		b.done(nil) // Stop began meanwhile: give the slot back
	}
	w, err := b.enqueue(job{})
	if err != nil {
		b.rejected.Add(1)
		return nil, err
	}
	if w.state.Load() != admitted {
		select {
		case <-w.granted:
		case <-ctx.Done():
			return nil, b.abandon(w, ctx)
		}
	}
	if w.state.Load() != admitted { // Stop withdrew it
		b.rejected.Add(1)
		return nil, b.stopErr
	}
	b.admitted.Add(1)
	return b.release, nil
}

// Run calls fn if the bulkhead admits it, and returns fn's error or the
// refusal. A panic in fn frees its slot and is re-raised.
func (b *Bulkhead) Run(ctx context.Context, fn func(context.Context) error) error {
	return gate.Run(ctx, b, fn)
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

// enqueue puts a call (j nil) or a job in line, or refuses it. The waiter
// it returns may already be admitted (a job already started): a slot can
// free between the caller's first try and taking the lock.
func (b *Bulkhead) enqueue(j job) (*waiter, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped.Load() {
		return nil, b.stopErr
	}
	w := &waiter{job: j}
	if j.run == nil {
		w.granted = make(chan struct{})
	}
	switch {
	case j.run != nil && b.jobsFullLocked(false):
		return nil, b.full
	case b.waiting.Load() == 0 && b.tryAcquire():
		w.state.Store(admitted)
		if j.run != nil {
			b.startLocked(&w.job)
		}
		return w, nil
	case b.queueFullLocked():
		return nil, b.full
	}
	b.compactLocked()
	b.queue = append(b.queue, w)
	b.waiting.Add(1)
	if j.run != nil {
		b.watchLocked(w)
	}
	b.grantLocked() // a slot may have freed since tryAcquire
	return w, nil
}

// abandon withdraws a call whose context ended. If a grant or Stop won the
// race, it waits for that to finish (it is under way, holding the lock)
// and gives a granted slot back.
func (b *Bulkhead) abandon(w *waiter, ctx context.Context) error {
	b.cancelled.Add(1)
	if w.state.CompareAndSwap(queued, withdrawn) {
		b.waiting.Add(-1)
		return ctx.Err()
	}
	<-w.granted
	if w.state.Load() == admitted {
		b.done(nil)
	}
	return ctx.Err()
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

// grantLocked gives free slots to waiters, oldest first, skipping the
// withdrawn ones.
func (b *Bulkhead) grantLocked() {
	for len(b.queue) > 0 {
		w := b.queue[0]
		if w.state.Load() != queued {
			b.popLocked()
			continue
		}
		if !b.tryAcquire() {
			return
		}
		b.popLocked()
		if w.state.CompareAndSwap(queued, admitted) {
			b.admitLocked(w)
		} else {
			b.inFlight.Add(-1) // withdrawn meanwhile: the slot goes to the next
		}
	}
}

// popLocked drops the head of the queue.
func (b *Bulkhead) popLocked() {
	b.queue[0] = nil
	b.queue = b.queue[1:]
}

// admitLocked hands a slot to a waiter that holds one.
func (b *Bulkhead) admitLocked(w *waiter) {
	b.waiting.Add(-1)
	if w.job.run != nil {
		b.unwatchLocked(w)
		b.startLocked(&w.job)
		return
	}
	close(w.granted)
}

// queueFullLocked reports whether the queue places, queued and delaying
// jobs together, are all taken.
func (b *Bulkhead) queueFullLocked() bool {
	return int(b.waiting.Load()+b.delayed.Load()) >= b.cfg.MaxQueue
}

// jobsFullLocked reports whether a new job would take the bulkhead past
// MaxConcurrent + MaxQueue calls and jobs in all: running, waiting for a
// slot, or waiting out a retry delay. A job going to wait out a delay is
// usually a retry whose attempt still holds the slot it is about to give
// back (handing is true): that slot is not counted, so a retry never finds
// the bulkhead full on its own account.
func (b *Bulkhead) jobsFullLocked(handing bool) bool {
	running := b.inFlight.Load()
	if handing && running > 0 {
		running--
	}
	all := running + b.waiting.Load() + b.delayed.Load()
	return all >= int64(b.cfg.MaxConcurrent+b.cfg.MaxQueue)
}

// compactLocked drops withdrawn waiters once they outnumber the live ones.
func (b *Bulkhead) compactLocked() {
	b.queue = compact(b.queue, int(b.waiting.Load()), queued, queued)
}

// compact returns ws without the waiters that have left (whose state is
// neither s1 nor s2), in place, once they outnumber the live ones (there
// are live of them), so left waiters cost memory only up to a constant
// factor.
func compact(ws []*waiter, live int, s1, s2 int32) []*waiter {
	if len(ws) < 2*live+16 {
		return ws
	}
	kept := ws[:0]
	for _, w := range ws {
		if st := w.state.Load(); st == s1 || st == s2 {
			kept = append(kept, w)
		}
	}
	clear(ws[len(kept):])
	return kept
}
