package resilience

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Result is the one answer to a job given to [Submit]: fn's value and
// error, or only an error when fn did not run.
type Result[T any] struct {
	Value T
	Err   error
}

// runner is a bulkhead that runs jobs on goroutines it owns.
type runner interface {
	Go(ctx context.Context, delay time.Duration, job func(ctx context.Context, err error)) error
}

// Submit is the channel face of [Do]: it hands fn to the bulkhead of p and
// returns at once. p is a [*Pipeline] whose Bulkhead runs jobs (a
// bulkhead.Bulkhead does), or such a bulkhead itself.
//
// A non-nil error means the job was refused and nothing will arrive on out:
// the bulkhead is full ([ErrFull]) or stopped ([ErrStopped]), ctx is done,
// or p cannot run jobs ([*ConfigError]). A nil error means exactly one
// [Result] will be sent on out: fn's value and error after it ran through
// the pipeline's other policies on one of the bulkhead's workers, or the
// reason it never ran. The caller owns out and must leave room for every
// accepted job (a buffer, or a reader), since the answer is sent with a
// plain send. A panic in fn arrives as a [*PanicError]. The values of
// attempts whose result is not the answer are released as by [Do].
//
// When the pipeline's Retry can hand out a [Plan] (a retry.Policy can),
// each attempt is a job of its own: it holds a worker and a slot only while
// it runs, and between attempts the job waits as a timer entry in the
// bulkhead, holding no goroutine and no slot; it keeps its place among the
// MaxConcurrent + MaxQueue calls and jobs the bulkhead holds, so a retry is
// never refused for room. The pipeline's Timeout
// bounds the whole job, attempts and waits; the Limiter admits it once, on
// its first attempt. A retry the bulkhead refuses (full, stopped) or whose
// ctx ends while it waits ends the job with that error and the last
// attempt's value. Any other Retry runs the whole call, retries and waits
// included, on one worker, holding its slot throughout; an attempt that
// starts while another runs (a hedge) needs a bulkhead slot of its own,
// and is refused like any call when there is none.
func Submit[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error), out chan<- Result[T]) error {
	switch {
	case fn == nil:
		return errNilFunc
	case out == nil:
		return &ConfigError{Field: "out", Reason: "must not be nil"}
	}
	if pl, ok := p.(*Pipeline); ok && pl != nil {
		if _, ok := pl.Retry.(planner); ok {
			if r, ok := pl.Bulkhead.(runner); ok {
				return submitSteps(ctx, pl, r, fn, out)
			}
		}
	}
	inner, r := jobParts(p)
	if r == nil {
		return &ConfigError{Field: "Pipeline.Bulkhead", Reason: "Submit needs a bulkhead that runs jobs"}
	}
	return r.Go(ctx, 0, func(ctx context.Context, err error) {
		if err != nil {
			out <- Result[T]{Err: err}
			return
		}
		runJob(ctx, inner, fn, out)
	})
}

// jobParts returns the pipeline a job runs through, without its bulkhead
// (the job already holds a slot), and the bulkhead that runs it.
func jobParts(p Policy) (*Pipeline, runner) {
	if r, ok := p.(runner); ok {
		return nil, r
	}
	pl, ok := p.(*Pipeline)
	if !ok || pl == nil {
		return nil, nil
	}
	r, ok := pl.Bulkhead.(runner)
	if !ok {
		return nil, nil
	}
	inner := *pl
	inner.Bulkhead = nil
	if pl.Retry != nil {
		inner.Bulkhead = newJobSlot(pl.Bulkhead)
	}
	return &inner, r
}

// jobSlot is the Bulkhead of the pipeline a job runs through when its
// Retry is not stepped: the slot the job holds serves one attempt at a
// time, and an attempt that starts while another holds it (a hedge) asks
// the bulkhead for a slot of its own, so a job never runs more attempts at
// once than the bulkhead admits.
type jobSlot struct {
	bulkhead Gate
	busy     atomic.Bool
	free     func(error)
}

func newJobSlot(bulkhead Gate) *jobSlot {
	s := &jobSlot{bulkhead: bulkhead}
	s.free = func(error) { s.busy.Store(false) }
	return s
}

// Allow lends the job's own slot when it is free, else asks the bulkhead.
func (s *jobSlot) Allow(ctx context.Context) (func(error), error) {
	if s.busy.CompareAndSwap(false, true) {
		return s.free, nil
	}
	return s.bulkhead.Allow(ctx)
}

// Run runs fn in a slot Allow gives.
func (s *jobSlot) Run(ctx context.Context, fn func(context.Context) error) error {
	_, err := Do(ctx, s, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// runJob runs fn through p on a worker and sends its one result, turning
// a panic or a runtime.Goexit into a [*PanicError]. The send is deferred so
// that it happens even when fn calls runtime.Goexit.
func runJob[T any](ctx context.Context, p *Pipeline, fn func(context.Context) (T, error), out chan<- Result[T]) {
	var res Result[T]
	finished := false
	defer func() {
		if !finished {
			res = Result[T]{Err: unfinished(recover())}
		}
		out <- res
	}()
	res.Value, res.Err = Do(ctx, p, fn)
	finished = true
}

// unfinished is the error of a job whose function did not return: r is
// what recover gave, nil when the function called runtime.Goexit.
func unfinished(r any) *PanicError {
	if r == nil {
		r = "runtime.Goexit called"
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}
