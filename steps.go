package resilience

import (
	"context"
	"runtime/debug"
	"time"
)

// steps is a job of [Submit] whose retry loop is a [Plan]: each attempt
// runs as a job of its own on a bulkhead worker, and the waits between
// them are the bulkhead's timers.
type steps[T any] struct {
	p      *Pipeline // one attempt: breaker, attempt timeout, fn
	limit  Gate      // the pipeline's Limiter, taken on the first attempt
	lease  func(error)
	parent context.Context // the submitter's
	ctx    context.Context // parent, bounded by the pipeline's Timeout
	total  timeout         // that Timeout's context, if any
	limitD time.Duration   // the pipeline's Timeout
	r      runner
	fn     func(context.Context) (T, error)
	out    chan<- Result[T]
	plan   Plan
	n      int // attempts made
	last   T   // the last attempt's value
}

// submitSteps hands the first attempt of a stepped job to r.
func submitSteps[T any](ctx context.Context, p *Pipeline, pl planner, r runner, fn func(context.Context) (T, error), out chan<- Result[T]) error {
	j := &steps[T]{
		p:     &Pipeline{Name: p.Name, Breaker: p.Breaker, AttemptTimeout: p.AttemptTimeout, Timer: p.Timer},
		limit: p.Limiter, parent: ctx, ctx: ctx, r: r, fn: fn, out: out,
	}
	if p.Timeout > 0 {
		j.total, j.limitD = p.withTimeout(ctx, p.Timeout), p.Timeout
		j.ctx = j.total.ctx
	}
	j.plan = pl.Plan(j.ctx)
	if err := r.Go(j.ctx, 0, j.run); err != nil {
		j.endTotal()
		return err
	}
	return nil
}

// run is one run of the job on a worker (err nil), or the bulkhead's
// answer that it will not run (err set). A panic or a runtime.Goexit in
// fn, the policies or the plan ends the job with a [*PanicError].
func (j *steps[T]) run(ctx context.Context, err error) {
	if err != nil {
		j.finish(j.last, err)
		return
	}
	finished := false
	defer func() {
		if !finished {
			v := recover()
			if v == nil {
				v = "runtime.Goexit called"
			}
			var zero T
			j.finish(zero, &PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	j.step(ctx)
	finished = true
}

// step makes one attempt and then either ends the job or hands its next
// attempt to the bulkhead, to run after the plan's wait. The job must not
// be touched once that hand-off succeeded: another worker may run it.
func (j *steps[T]) step(ctx context.Context) {
	if j.n == 0 && j.limit != nil {
		done, refused := j.limit.Allow(ctx)
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
	v, err := Do(actx, j.p, j.fn)
	j.last = v
	wait, again := j.plan.Next(err)
	if !again {
		j.finish(v, j.plan.Err())
		return
	}
	if err := j.r.Go(j.ctx, wait, j.run); err != nil {
		j.finish(v, err)
	}
}

// finish sends the job's one answer, after ending its Timeout and its
// Limiter lease.
func (j *steps[T]) finish(v T, err error) {
	if j.total.ctx != nil {
		err = j.total.timedOut(j.parent, err, j.p.Name, j.limitD)
	}
	j.endTotal()
	if j.lease != nil {
		j.lease(err)
	}
	j.out <- Result[T]{Value: v, Err: err}
}

// endTotal stops the Timeout's timer, if any.
func (j *steps[T]) endTotal() {
	if j.total.ctx != nil {
		j.total.stop()
	}
}
