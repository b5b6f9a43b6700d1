package resilience

import "context"

// steps is a job of [Submit] whose retry loop is a [Plan]: each attempt
// runs as a job of its own on a bulkhead worker, and the waits between
// them are the bulkhead's timers. It is kept small, since a waiting retry
// costs only this, its plan and the bulkhead's timer entry.
type steps[T any] struct {
	p     *Pipeline
	total *total      // the pipeline's Timeout, if any
	lease func(error) // the Limiter's done, once admitted
	fn    func(context.Context) (T, error)
	out   chan<- Result[T]
	plan  Plan
	n     int // attempts made
	last  T   // the last attempt's value
}

// total is the context of a pipeline's Timeout over a whole stepped job.
type total struct {
	timeout
	parent context.Context
}

// submitSteps hands the first attempt of a stepped job to r.
func submitSteps[T any](ctx context.Context, p *Pipeline, r runner, fn func(context.Context) (T, error), out chan<- Result[T]) error {
	j := &steps[T]{p: p, fn: fn, out: out}
	if p.Timeout > 0 {
		j.total = &total{timeout: p.withTimeout(ctx, p.Timeout), parent: ctx}
		ctx = j.total.ctx
	}
	j.plan = p.Retry.(planner).Plan(ctx)
	if err := r.Go(ctx, 0, j.run); err != nil {
		j.endTotal()
		return err
	}
	return nil
}

// run is one run of the job on a worker (err nil), or the bulkhead's
// answer that it will not run (err set). ctx is the job's: the
// submitter's, bounded by the pipeline's Timeout. A panic or a runtime.Goexit in
// fn, the policies or the plan ends the job with a [*PanicError].
func (j *steps[T]) run(ctx context.Context, err error) {
	if err != nil {
		j.finish(j.last, err)
		return
	}
	finished := false
	defer func() {
		if !finished {
			var zero T
			j.finish(zero, unfinished(recover()))
		}
	}()
	j.step(ctx)
	finished = true
}

// step makes one attempt and then either ends the job or hands its next
// attempt to the bulkhead, to run after the plan's wait. The job must not
// be touched once that hand-off succeeded: another worker may run it.
func (j *steps[T]) step(ctx context.Context) {
	if j.n == 0 && j.p.Limiter != nil {
		done, refused := j.p.Limiter.Allow(ctx)
		if refused != nil {
			j.finish(j.last, refused)
			return
		}
		j.lease = done
	}
	j.n++
	actx := ctx
	if j.n > 1 {
		actx = WithAttempt(ctx, j.n)
	}
	v, err := j.attempt(actx)
	release(j.last) // superseded by this attempt's value, as in Do
	j.last = v
	wait, again := j.plan.Next(err)
	if !again {
		j.finish(v, j.plan.Err())
		return
	}
	if err := j.p.Bulkhead.(runner).Go(ctx, wait, j.run); err != nil {
		j.finish(v, err)
	}
}

// attempt runs fn once through the breaker and the attempt timeout; the
// job already holds its bulkhead slot.
func (j *steps[T]) attempt(ctx context.Context) (v T, err error) {
	err = j.p.attemptIn(ctx, func(ctx context.Context) error {
		var err error
		v, err = j.fn(ctx)
		return err
	}, nil)
	return v, err
}

// finish sends the job's one answer, after ending its Timeout and its
// Limiter lease.
func (j *steps[T]) finish(v T, err error) {
	if j.total != nil {
		err = j.total.timedOut(j.total.parent, err, j.p.Name, j.p.Timeout)
	}
	j.endTotal()
	if j.lease != nil {
		j.lease(err)
	}
	j.out <- Result[T]{Value: v, Err: err}
}

// endTotal stops the Timeout's timer, if any.
func (j *steps[T]) endTotal() {
	if j.total != nil {
		j.total.stop()
	}
}
