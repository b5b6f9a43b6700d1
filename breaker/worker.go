package breaker

import (
	"context"
	"runtime/debug"
)

// work is a guard's worker goroutine: it runs j, then the queued jobs, one
// after another, and exits when the queue is empty. Submit starts it and
// counts it in running; Stop waits until running is back to zero. If a
// job's function calls runtime.Goexit, the job is answered and another
// worker takes over the queue, so the count stays right.
func (g *Guard[T]) work(j *job[T]) {
	finished := false
	defer func() {
		if !finished {
			g.handOff()
		}
	}()
	for j != nil {
		g.run(j)
		j = g.next()
	}
	finished = true
}

// next takes the oldest queued job, or retires the calling worker when
// there is none.
func (g *Guard[T]) next() *job[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	j := g.head
	if j != nil {
		g.remove(j)
		return j
	}
	g.running--
	if g.stopped && g.running == 0 {
		close(g.idle)
	}
	return nil
}

// handOff gives up the caller's worker slot: a new worker takes the next
// queued job, or the count of workers goes down by one. It is how a worker
// exiting abnormally is replaced, and how [Guard.Do] returns its slot.
func (g *Guard[T]) handOff() {
	if j := g.next(); j != nil {
		go g.work(j)
	}
}

// run answers j: with its context's error if that has ended, with the
// breaker's rejection if it refuses the call, and otherwise with what
// j's function returns.
func (g *Guard[T]) run(j *job[T]) {
	if j.unwatch != nil {
		j.unwatch()
	}
	if err := j.ctx.Err(); err != nil {
		g.cancelled.Add(1)
		j.answer(Result[T]{Err: err})
		return
	}
	done, err := g.b.Allow(j.ctx)
	if err != nil {
		_ = g.reject(j, err)
		return
	}
	returned := false
	defer func() {
		if !returned { // runtime.Goexit
			done(ErrJobExited)
			g.exit.Add(1)
			j.answer(Result[T]{Err: ErrJobExited})
		}
	}()
	v, err := call(j.ctx, j.fn, done)
	returned = true
	g.completed.Add(1)
	j.answer(Result[T]{Value: v, Err: err})
}

// call runs fn for a job on a worker and reports its outcome to the
// breaker through done. A panic in fn, or in done (the breaker's
// classifier), is counted as a failure and returned as a [*JobPanicError]:
// the worker has no caller to re-raise it in.
func call[T any](ctx context.Context, fn func(context.Context) (T, error), done func(error)) (T, error) {
	v, err := runFn(ctx, fn)
	if perr := report(done, err); perr != nil {
		err = perr
	}
	return v, err
}

// runFn runs fn and returns its result, or a *JobPanicError if it
// panicked. runtime.Goexit goes on (run answers the job).
func runFn[T any](ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if r := recover(); r != nil {
			var zero T
			v, err = zero, &JobPanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err = fn(ctx)
	returned = true
	return v, err
}

// report calls done(err) and returns a *JobPanicError if done panicked
// (the classifier did; the breaker has counted a failure).
func report(done func(error), err error) (perr error) {
	defer func() {
		if r := recover(); r != nil {
			perr = &JobPanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	done(err)
	return nil
}

// Stop stops the guard: jobs submitted from now on are answered with
// [ErrGuardStopped], and so is every job still queued (they are not run:
// a stopping service should not start new work on a dependency, and their
// submitters hear at once). Stop then waits for the running jobs to
// return, or for ctx; it does not cancel them (their own contexts do).
// It returns nil once no worker is left, or ctx.Err() if ctx ended first
// (the workers then finish in the background; a later Stop can wait
// again). Stop is idempotent. The breaker is not stopped.
func (g *Guard[T]) Stop(ctx context.Context) error {
	var drained []*job[T]
	g.mu.Lock()
	if !g.stopped {
		g.stopped = true
		for g.head != nil {
			j := g.head
			g.remove(j)
			drained = append(drained, j)
		}
		if g.running == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	for _, j := range drained {
		if j.unwatch != nil {
			j.unwatch()
		}
		_ = g.reject(j, ErrGuardStopped)
	}
	select {
	case <-g.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// GuardMetrics are a guard's current load and lifetime counters. Once
// every job has been answered, Submitted equals Completed + Cancelled +
// Exited + Rejected().
type GuardMetrics struct {
	Queued    int    // jobs waiting for a worker now
	Running   int    // workers now (each running a job or taking the next)
	Submitted uint64 // jobs accepted or rejected by Submit
	Completed uint64 // jobs whose function ran and returned (or panicked)
	Cancelled uint64 // jobs whose context ended before they ran
	Exited    uint64 // jobs whose function called runtime.Goexit

	RejectedFull     uint64 // ErrQueueFull
	RejectedOpen     uint64 // the breaker was open
	RejectedHalfOpen uint64 // ErrRejected: every probe slot taken
	RejectedStopped  uint64 // ErrGuardStopped, or the breaker's ErrStopped
}

// Rejected returns the jobs rejected for any reason.
func (m GuardMetrics) Rejected() uint64 {
	return m.RejectedFull + m.RejectedOpen + m.RejectedHalfOpen + m.RejectedStopped
}

// Metrics returns the guard's metrics without stopping traffic.
func (g *Guard[T]) Metrics() GuardMetrics {
	g.mu.Lock()
	q, r := g.queued, g.running
	g.mu.Unlock()
	return GuardMetrics{
		Queued: q, Running: r,
		Submitted: g.submitted.Load(), Completed: g.completed.Load(),
		Cancelled: g.cancelled.Load(), Exited: g.exit.Load(),
		RejectedFull: g.rejFull.Load(), RejectedOpen: g.rejOpen.Load(),
		RejectedHalfOpen: g.rejHalfOpen.Load(), RejectedStopped: g.rejStopped.Load(),
	}
}
