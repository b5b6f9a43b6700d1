package bulkhead

import (
	"context"

	"github.com/llm-research-lab/resilience"
)

// Start makes the bulkhead admit calls again after a [Bulkhead.Stop] that
// finished; on a running bulkhead it does nothing. A bulkhead runs from
// [New], so Start is needed only to reuse a stopped one. Start while a
// stop is still draining returns [resilience.ErrStopped].
func (b *Bulkhead) Start(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped.Load() {
		return nil
	}
	select {
	case <-b.drained:
	default:
		return b.stopErr
	}
	b.drained = make(chan struct{})
	b.stopped.Store(false)
	return nil
}

// Stop refuses new calls and jobs with [resilience.ErrStopped], answers
// every waiting call and queued job the same way, and waits until the
// admitted calls and running jobs are done or ctx is done, whichever comes
// first; it returns ctx's error in the second case (what still runs keeps
// its slot until it finishes, and Done closes then). Stop is idempotent
// and safe to call while callers keep calling.
func (b *Bulkhead) Stop(ctx context.Context) error {
	b.mu.Lock()
	var refused []*job
	if !b.stopped.Load() {
		b.stopped.Store(true)
		refused = b.refuseQueueLocked()
		if b.inFlight.Load() == 0 {
			b.closeDrainedLocked()
		}
	}
	drained := b.drained
	b.mu.Unlock()
	b.rejected.Add(uint64(len(refused)))
	for _, j := range refused {
		j.answer(b.stopErr)
	}
	select {
	case <-drained:
		b.workers.Wait() // each worker returns right after its done
		b.fires.Wait()   // a callback that started answers at once
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refuseQueueLocked empties the queue: waiting calls are refused at once,
// and the jobs returned are for the caller to answer outside the lock.
func (b *Bulkhead) refuseQueueLocked() []*job {
	var jobs []*job
	for _, w := range b.queue {
		if !w.state.CompareAndSwap(queued, withdrawn) {
			continue
		}
		b.waiting.Add(-1)
		if w.job.run != nil {
			jobs = append(jobs, &w.job)
			continue
		}
		close(w.granted)
	}
	clear(b.queue)
	b.queue = b.queue[:0]
	jobs = b.refuseDelaysLocked(jobs)
	for done, wt := range b.watches {
		b.unwatchAllLocked(done, wt)
	}
	return jobs
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
// admitted call and job is done.
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
	InFlight  int    // calls and jobs admitted and not yet done
	Queued    int    // calls and jobs waiting for a slot
	Delayed   int    // jobs waiting out a delay before they queue (see Go)
	Admitted  uint64 // calls and jobs admitted since New
	Rejected  uint64 // refused at once (full or stopped) or by Stop while waiting
	Cancelled uint64 // whose context ended while they waited
}

// Metrics returns the current counters; it does not block calls.
func (b *Bulkhead) Metrics() Metrics {
	return Metrics{
		Limit:     b.cfg.MaxConcurrent,
		InFlight:  int(max(0, b.inFlight.Load())),
		Queued:    int(max(0, b.waiting.Load())),
		Delayed:   int(max(0, b.delayed.Load())),
		Admitted:  b.admitted.Load(),
		Rejected:  b.rejected.Load(),
		Cancelled: b.cancelled.Load(),
	}
}

var _ resilience.Gate = (*Bulkhead)(nil)

// refuseDelaysLocked empties the delay heap, stops its timer and adds the
// jobs to jobs.
func (b *Bulkhead) refuseDelaysLocked(jobs []*job) []*job {
	for _, w := range b.delays {
		w.index = -1
		if w.state.CompareAndSwap(delaying, withdrawn) {
			b.delayed.Add(-1)
			jobs = append(jobs, &w.job)
		}
	}
	clear(b.delays)
	b.delays = b.delays[:0]
	b.aimLocked()
	return jobs
}
