package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Defaults applied to zero [GuardConfig] fields.
const (
	DefaultMaxConcurrent = 10
	DefaultMaxQueue      = 100
)

var (
	// ErrQueueFull is the answer to a job submitted while the guard runs
	// MaxConcurrent jobs and MaxQueue more are waiting.
	ErrQueueFull = errors.New("breaker: guard queue full")

	// ErrGuardStopped is the answer to a job submitted after
	// [Guard.Stop], and to every job still queued when Stop was called.
	ErrGuardStopped = errors.New("breaker: guard stopped")

	// ErrJobExited is the answer to a job whose function called
	// runtime.Goexit (as t.FailNow does) instead of returning.
	ErrJobExited = errors.New("breaker: job exited without returning")
)

// JobPanicError is the answer to a job submitted with [Guard.Submit] whose
// function (or the breaker's classifier) panicked. The guard runs such
// jobs on its own goroutines, so it cannot re-panic in the submitter's; it
// recovers, counts a failure in the breaker and answers with it.
// [Guard.Do] raises it again in its caller.
type JobPanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the job's stack at the panic
}

// Error implements error.
func (e *JobPanicError) Error() string { return fmt.Sprintf("breaker: job panicked: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *JobPanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// GuardConfig configures [NewGuard]. Every zero field means the
// documented default.
type GuardConfig struct {
	// MaxConcurrent is the most jobs that run at once. Default 10.
	MaxConcurrent int
	// MaxQueue is the most jobs that wait for a worker; a job beyond it is
	// answered with [ErrQueueFull]. Default 100.
	MaxQueue int
}

// Result is the one answer a job gets: its function's value and error, or
// only an error when it did not run (a rejection or its context's error).
type Result[T any] struct {
	Value T
	Err   error
}

// job is one submitted function and where its answer goes. While queued
// it is linked into the guard's list; the mutex decides who takes it off
// (a worker, its cancellation or Stop), and whoever does answers it.
type job[T any] struct {
	ctx        context.Context // the submitter's, carried to the worker
	fn         func(context.Context) (T, error)
	result     chan<- Result[T]
	prev, next *job[T]
	queued     bool
	unwatch    func() bool // stops the context.AfterFunc, if any
}

// answer sends the job's one answer. It blocks only if the channel is
// full, which the contract of [Guard.Submit] rules out.
func (j *job[T]) answer(r Result[T]) { j.result <- r }

// Guard is a bulkhead around one dependency's [Breaker]: it runs at most
// MaxConcurrent jobs at once, on worker goroutines of its own (or, for
// [Guard.Do], on the waiting caller's), queues at most MaxQueue more, and
// answers every job exactly once. It is safe for concurrent use; create it
// with [NewGuard] (there is no useful zero value). Most callers want
// [Guard.Do], or [Guard.Submit] to fan results into a channel.
//
// Workers exist only while there is work: a guard with nothing to do has
// no goroutine. [Guard.Stop] answers the queued jobs and waits for the
// running ones. The guard does not own the breaker and does not stop it.
type Guard[T any] struct {
	b   *Breaker
	cfg GuardConfig

	mu         sync.Mutex
	head, tail *job[T] // the queue, oldest first
	queued     int
	running    int // workers, each running a job or about to take the next
	stopped    bool
	idle       chan struct{} // closed once stopped with no worker left

	submitted, completed, cancelled                 atomic.Uint64
	rejFull, rejOpen, rejHalfOpen, rejStopped, exit atomic.Uint64
}

// NewGuard returns a guard for b, or a [*ConfigError] naming the first
// invalid field.
func NewGuard[T any](b *Breaker, cfg GuardConfig) (*Guard[T], error) {
	switch {
	case b == nil:
		return nil, fieldErr("b", "must not be nil")
	case cfg.MaxConcurrent < 0:
		return nil, fieldErr("MaxConcurrent", "must not be negative")
	case cfg.MaxQueue < 0:
		return nil, fieldErr("MaxQueue", "must not be negative")
	}
	cfg.MaxConcurrent = or(cfg.MaxConcurrent, DefaultMaxConcurrent)
	cfg.MaxQueue = or(cfg.MaxQueue, DefaultMaxQueue)
	return &Guard[T]{b: b, cfg: cfg, idle: make(chan struct{})}, nil
}

// Submit hands fn to the guard and never waits for it. The job gets
// exactly one answer on result: fn's result; its context's error if ctx
// ends while it is queued (fn then never runs); or a rejection, at once
// when the guard can tell at once: [ErrQueueFull], the breaker's
// [*OpenError] (matching [ErrOpen], with its RetryAfter), [ErrStopped] for
// a stopped breaker, [ErrGuardStopped]. A queued job is admitted by the
// breaker when a worker takes it, so it can also be answered with
// [ErrRejected] (half-open, every probe slot taken) or an OpenError then.
//
// Submit returns nil if the job was accepted (it is running or queued),
// and otherwise the same error it delivered on result. result must have a
// capacity of at least 1, and room for every answer it will receive (one
// per job sent to it), so that answering never blocks; a channel per job,
// or one shared channel whose capacity is the number of its unread jobs,
// does that. A nil fn or a result without capacity is refused with a
// [*ConfigError] and no answer, since there is no job to answer.
func (g *Guard[T]) Submit(ctx context.Context, fn func(context.Context) (T, error), result chan<- Result[T]) error {
	switch {
	case fn == nil:
		return fieldErr("fn", "must not be nil")
	case cap(result) < 1:
		return fieldErr("result", "must have a capacity of at least 1")
	}
	g.submitted.Add(1)
	j := &job[T]{ctx: ctx, fn: fn, result: result}
	if err := ctx.Err(); err != nil {
		g.cancelled.Add(1)
		j.answer(Result[T]{Err: err})
		return err
	}
	if s := g.b.snap.Load(); s.reject || s.stopped {
		return g.reject(j, g.b.refuse(s))
	}
	g.mu.Lock()
	switch {
	case g.stopped:
		g.mu.Unlock()
		return g.reject(j, ErrGuardStopped)
	case g.running < g.cfg.MaxConcurrent:
		g.running++
		g.mu.Unlock()
		go g.work(j)
	case g.queued < g.cfg.MaxQueue:
		g.push(j)
		if ctx.Done() != nil {
			j.unwatch = context.AfterFunc(ctx, func() { g.cancel(j) })
		}
		g.mu.Unlock()
	default:
		g.mu.Unlock()
		return g.reject(j, ErrQueueFull)
	}
	return nil
}

// refuse returns the error for a call refused by snapshot s, which is
// open or stopped, and counts an open rejection in the breaker.
func (b *Breaker) refuse(s *snapshot) error {
	if s.stopped {
		return s.stopErr
	}
	return b.rejectOpen(s)
}

// Do runs fn as a job of the guard and returns its answer: the same
// answers as [Guard.Submit], with the same bounds. When a worker slot is
// free and nothing is queued, fn runs on the calling goroutine (it is
// waiting anyway), which saves starting a worker; otherwise the job is
// queued and Do waits for it. A job whose ctx ends while it is queued is
// answered at once with ctx's error; a running one is answered when fn
// returns (fn sees ctx end).
//
// A panic in fn (or in the breaker's classifier) counts as a failure and
// is raised again in Do's caller, as [Execute] does: with its own value
// when fn ran on the calling goroutine, and as a [*JobPanicError] holding
// the value and the worker's stack when fn ran on a worker.
func (g *Guard[T]) Do(ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	if fn != nil && ctx.Err() == nil && g.enter() {
		return g.runHere(ctx, fn)
	}
	ch := make(chan Result[T], 1)
	if err := g.Submit(ctx, fn, ch); err != nil && len(ch) == 0 {
		var zero T
		return zero, err // refused without an answer: fn is nil
	}
	r := <-ch
	if p, ok := r.Err.(*JobPanicError); ok {
		panic(p) // fn ran on a worker: raise its panic here, with the worker's stack
	}
	return r.Value, r.Err
}

// enter takes a worker slot for the caller if one is free, nothing is
// queued, the guard runs and the breaker is not open.
func (g *Guard[T]) enter() bool {
	if s := g.b.snap.Load(); s.reject || s.stopped {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.head != nil || g.running >= g.cfg.MaxConcurrent {
		return false
	}
	g.running++
	return true
}

// runHere runs fn on the caller's goroutine in the slot enter took, then
// hands the slot to a new worker if jobs were queued meanwhile. A panic in
// fn counts as a failure and goes on unwinding in the caller.
func (g *Guard[T]) runHere(ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	defer g.handOff()
	g.submitted.Add(1)
	done, err := g.b.Allow(ctx)
	if err != nil {
		g.count(err)
		return v, err
	}
	returned := false
	defer func() {
		if !returned {
			g.abandoned(done, recover())
		}
	}()
	v, err = fn(ctx)
	returned = true
	g.completed.Add(1)
	done(err)
	return v, err
}

// abandoned reports a call of Do whose fn did not return: it panicked with
// r, which is counted as a failure and raised again, or (r is nil) it
// called runtime.Goexit, which goes on.
func (g *Guard[T]) abandoned(done func(error), r any) {
	if r == nil {
		done(ErrJobExited)
		g.exit.Add(1)
		return
	}
	g.completed.Add(1)
	done(&JobPanicError{Value: r})
	panic(r)
}

// reject answers j with err and counts it by reason.
func (g *Guard[T]) reject(j *job[T], err error) error {
	g.count(err)
	j.answer(Result[T]{Err: err})
	return err
}

// count counts a rejection by its reason.
func (g *Guard[T]) count(err error) {
	switch {
	case errors.Is(err, ErrQueueFull):
		g.rejFull.Add(1)
	case errors.Is(err, ErrOpen):
		g.rejOpen.Add(1)
	case errors.Is(err, ErrRejected):
		g.rejHalfOpen.Add(1)
	default: // ErrGuardStopped, ErrStopped
		g.rejStopped.Add(1)
	}
}

// push appends j to the queue. The caller holds mu.
func (g *Guard[T]) push(j *job[T]) {
	j.queued, j.prev = true, g.tail
	if g.tail == nil {
		g.head = j
	} else {
		g.tail.next = j
	}
	g.tail = j
	g.queued++
}

// remove unlinks the queued job j. The caller holds mu.
func (g *Guard[T]) remove(j *job[T]) {
	if j.prev == nil {
		g.head = j.next
	} else {
		j.prev.next = j.next
	}
	if j.next == nil {
		g.tail = j.prev
	} else {
		j.next.prev = j.prev
	}
	j.prev, j.next, j.queued = nil, nil, false
	g.queued--
}

// cancel answers j with its context's error if it is still queued. It
// runs on the goroutine context.AfterFunc starts when j's context ends.
func (g *Guard[T]) cancel(j *job[T]) {
	g.mu.Lock()
	mine := j.queued
	if mine {
		g.remove(j)
	}
	g.mu.Unlock()
	if mine {
		g.cancelled.Add(1)
		j.answer(Result[T]{Err: j.ctx.Err()})
	}
}
