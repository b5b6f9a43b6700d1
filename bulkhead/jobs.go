package bulkhead

import (
	"container/heap"
	"context"
	"time"

	"github.com/llm-research-lab/resilience"
)

// job is work handed to Go: run on a worker, or answered with why not.
type job struct {
	ctx context.Context // the submitter's, carried to the worker
	run func(ctx context.Context, err error)
}

// answer tells the job it will not run.
func (j *job) answer(err error) { j.run(j.ctx, err) }

// watch answers the queued jobs of one context when it ends. One watch
// (one context.AfterFunc) serves every job whose context shares a Done
// channel, so cancelling many jobs at once costs one callback, not one
// goroutine per job.
type watch struct {
	waiters []*waiter // may hold waiters that have left the queue
	live    int       // how many of them are still queued
	stop    func() bool
}

// Go hands run to the bulkhead and returns at once. It refuses with
// [resilience.ErrFull] when the bulkhead already holds MaxConcurrent +
// MaxQueue calls and jobs (running, waiting for a slot, or waiting out a
// delay) or when every slot is taken and the queue is full,
// [resilience.ErrStopped] when the bulkhead is stopped, and ctx's error
// when ctx is already done; run is then never called.
//
// Otherwise run is called exactly once: on a worker goroutine the bulkhead
// owns, holding a slot, with err nil; or, if it cannot run, with err set to
// why (ctx's error if ctx ended while it waited, [resilience.ErrStopped]
// if the bulkhead stopped first), on the goroutine that found out, which
// it must not block for long. [resilience.Submit] is the typed way to use
// Go; a panic in a function given to Go directly is not recovered, as with a go
// statement.
//
// A positive delay makes the job wait that long before it queues for a
// slot, as a timer entry: no goroutine and no slot (Metrics.Delayed counts
// it). This is how a job's retry waits out its backoff, from the worker of
// its previous attempt: that job gives its slot back as it goes to wait, so
// its retry is refused only by a stopped bulkhead, never for room. A
// negative delay counts as 0.
func (b *Bulkhead) Go(ctx context.Context, delay time.Duration, run func(ctx context.Context, err error)) error {
	if run == nil {
		return &resilience.ConfigError{Field: "job", Reason: "must not be nil"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := job{ctx: ctx, run: run}
	var err error
	if delay > 0 {
		err = b.delay(j, delay)
	} else {
		_, err = b.enqueue(j)
	}
	if err != nil {
		b.rejected.Add(1)
	}
	return err
}

// delay puts j in the delay heap for d, or refuses it.
func (b *Bulkhead) delay(j job, d time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.stopped.Load():
		return b.stopErr
	case b.jobsFullLocked(true):
		return b.full
	}
	w := &waiter{job: j, when: time.Since(b.epoch) + d}
	w.state.Store(delaying)
	b.delayed.Add(1)
	b.watchLocked(w)
	heap.Push(&b.delays, w)
	if w.index == 0 {
		b.aimLocked()
	}
	return nil
}

// startLocked runs j on a new worker; the caller holds a slot for it.
func (b *Bulkhead) startLocked(j *job) {
	b.admitted.Add(1)
	b.workers.Add(1)
	go b.work(j)
}

// work runs one job and frees its slot, even if the job panics or exits.
func (b *Bulkhead) work(j *job) {
	defer b.workers.Done()
	defer b.done(nil)
	j.run(j.ctx, nil)
}

// watchLocked arranges for a queued job to be answered when its context
// ends.
func (b *Bulkhead) watchLocked(w *waiter) {
	done := w.job.ctx.Done()
	if done == nil {
		return
	}
	wt := b.watches[done]
	if wt == nil {
		wt = &watch{}
		b.watches[done] = wt
		b.fires.Add(1)
		wt.stop = context.AfterFunc(w.job.ctx, func() { b.fire(done) })
	}
	wt.waiters = append(wt.waiters, w)
	wt.live++
}

// unwatchLocked forgets a job that left the queue.
func (b *Bulkhead) unwatchLocked(w *waiter) {
	done := w.job.ctx.Done()
	wt := b.watches[done]
	if wt == nil {
		return
	}
	if wt.live--; wt.live == 0 {
		b.unwatchAllLocked(done, wt)
		return
	}
	wt.waiters = compact(wt.waiters, wt.live, queued, delaying)
}

// fire answers the queued jobs whose context ended.
func (b *Bulkhead) fire(done <-chan struct{}) {
	defer b.fires.Done()
	b.mu.Lock()
	wt := b.watches[done]
	delete(b.watches, done)
	b.mu.Unlock()
	if wt == nil {
		return
	}
	for _, w := range wt.waiters {
		if b.withdraw(w) {
			b.cancelled.Add(1)
			w.job.answer(w.job.ctx.Err())
		}
	}
}

// unwatchAllLocked drops a watch. If its callback has already started, the
// callback itself finds nothing to do and marks its end in fires.
func (b *Bulkhead) unwatchAllLocked(done <-chan struct{}, wt *watch) {
	if wt.stop() {
		b.fires.Done()
	}
	delete(b.watches, done)
}

// withdraw takes a queued or delaying job out of line, reporting whether
// it did (nothing else answered it first).
func (b *Bulkhead) withdraw(w *waiter) bool {
	if w.state.CompareAndSwap(queued, withdrawn) {
		b.waiting.Add(-1)
		return true
	}
	if w.state.CompareAndSwap(delaying, withdrawn) {
		b.delayed.Add(-1)
		b.mu.Lock()
		b.undelayLocked(w)
		b.mu.Unlock()
		return true
	}
	return false
}
