package resilience

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience/internal/timers"
)

// Policy runs a function under some protection. Every policy of this module
// satisfies it, as does [*Pipeline]. Run returns fn's error, or the
// policy's own when it refused or stopped the call (see the package errors).
type Policy interface {
	Run(ctx context.Context, fn func(context.Context) error) error
}

// Gate is a [Policy] that admits or refuses each call up front: a circuit
// breaker, a bulkhead, a rate limiter. Allow either refuses (a non-nil
// error, usually a [*RejectedError]) or admits the call and returns done,
// which the caller must call exactly once with the call's result. A panic
// in the call is reported to done as a [*PanicError].
type Gate interface {
	Policy
	Allow(ctx context.Context) (done func(error), err error)
}

// Timer makes contexts with a timeout; [context.WithTimeout] is the model.
// A deadline.Watchdog satisfies it.
type Timer interface {
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// Pipeline composes policies in one fixed order, outer to inner:
//
//	Limiter → Timeout → Retry → Breaker → Bulkhead → AttemptTimeout → fn
//
// Every slot is optional; the zero Pipeline calls fn directly. The order is
// the one that works for calls to a dependency:
//   - the limiter takes one permit per logical call, however many attempts;
//   - the total timeout bounds the attempts, the waits between them and any
//     queueing;
//   - retry sees the breaker's refusals and waits out their RetryAfter;
//   - the breaker judges single attempts, so it notices an outage within a
//     few of them, and an open breaker spends no bulkhead slot;
//   - time spent waiting for a bulkhead slot never counts against the
//     attempt's own timeout.
//
// For the other useful order, a breaker that judges the whole retried call,
// nest two pipelines (see the example).
//
// A Pipeline is safe for concurrent use once built and may be reused for
// any number of calls; do not change its fields while calls run.
type Pipeline struct {
	// Name names the dependency in errors ([TimeoutError.Op]).
	Name string
	// Limiter admits each logical call once; nil admits every call.
	Limiter Gate
	// Timeout bounds the whole call, attempts and waits included; 0 means
	// no limit beyond the caller's context.
	Timeout time.Duration
	// Retry runs the attempts; nil makes one attempt. A retry.Policy runs
	// them one after another; a hedge.Policy runs them side by side. Each
	// attempt passes the Breaker, the Bulkhead and the AttemptTimeout on its
	// own, and [Do] returns the value of the attempt whose error ends the
	// call. A policy that also has a method Plan(context.Context) [Plan] (a
	// retry.Policy does) lets [Submit] run each attempt as a job of its own
	// and wait between them without a goroutine.
	Retry Policy
	// Breaker admits or refuses each attempt; nil admits every attempt.
	Breaker Gate
	// Bulkhead bounds concurrent attempts; nil does not bound them.
	Bulkhead Gate
	// AttemptTimeout bounds each attempt; 0 means no limit beyond Timeout.
	AttemptTimeout time.Duration
	// Timer makes the contexts of both timeouts; nil uses one shared
	// runtime timer aimed at the earliest pending deadline of all calls,
	// which costs about half of [context.WithTimeout] and starts no
	// goroutine (inside a testing/synctest bubble, context.WithTimeout).
	Timer Timer
}

var _ Policy = (*Pipeline)(nil)

// Run calls fn through the pipeline's policies and returns fn's error or
// the first policy's refusal. A nil *Pipeline calls fn directly. A panic in
// fn counts as a failure in every gate it passed and is re-raised in the
// caller's goroutine.
func (p *Pipeline) Run(ctx context.Context, fn func(context.Context) error) (err error) {
	if fn == nil {
		return errNilFunc
	}
	if p == nil {
		return fn(ctx)
	}
	if p.Limiter != nil {
		done, refused := p.Limiter.Allow(ctx)
		if refused != nil {
			return refused
		}
		defer settle(done, &err)
		err = errPanicked // heard by the limiter if the call never returns
	}
	if p.Timeout <= 0 {
		return p.retry(ctx, fn)
	}
	t := p.withTimeout(ctx, p.Timeout)
	defer t.stop()
	return t.timedOut(ctx, p.retry(t.ctx, fn), p.Name, p.Timeout)
}

// retry runs the attempts through the Retry slot.
func (p *Pipeline) retry(ctx context.Context, fn func(context.Context) error) error {
	if p.Retry == nil {
		return p.attempt(ctx, fn)
	}
	var n atomic.Int32
	return p.Retry.Run(ctx, func(ctx context.Context) error {
		if k := int(n.Add(1)); k > 1 && !numbered(ctx) {
			ctx = WithAttempt(ctx, k)
		}
		return p.attempt(ctx, fn)
	})
}

// attempt runs one attempt through the breaker, the bulkhead and the
// attempt timeout.
func (p *Pipeline) attempt(ctx context.Context, fn func(context.Context) error) error {
	return p.attemptIn(ctx, fn, p.Bulkhead)
}

// attemptIn runs one attempt through the breaker, the bulkhead given (nil
// for an attempt that already holds a slot) and the attempt timeout.
func (p *Pipeline) attemptIn(ctx context.Context, fn func(context.Context) error, bulkhead Gate) (err error) {
	if p.Breaker != nil {
		done, refused := p.Breaker.Allow(ctx)
		if refused != nil {
			return refused
		}
		defer settle(done, &err)
	}
	if bulkhead != nil {
		done, refused := bulkhead.Allow(ctx)
		if refused != nil {
			return refused
		}
		defer settle(done, &err)
	}
	// What the gates hear if fn never returns: a runtime.Goexit (on a
	// hedge's goroutine, say) is not a success.
	err = errPanicked
	if p.AttemptTimeout <= 0 {
		return fn(ctx)
	}
	t := p.withTimeout(ctx, p.AttemptTimeout)
	defer t.stop()
	return t.timedOut(ctx, fn(t.ctx), p.Name, p.AttemptTimeout)
}

// timeout is a context with a timeout and the way to end it: the shared
// timer's (fast, no allocation beyond the context) or a Timer's.
type timeout struct {
	ctx    context.Context
	shared timers.Timeout
	cancel context.CancelFunc
}

func (t timeout) stop() {
	if t.cancel != nil {
		t.cancel()
		return
	}
	t.shared.Stop()
}

// withTimeout makes ctx's child with a timeout of d, on p.Timer or, when it
// is nil, on the shared timer.
func (p *Pipeline) withTimeout(ctx context.Context, d time.Duration) timeout {
	if p.Timer == nil {
		t := timers.Start(ctx, d)
		return timeout{ctx: t.Ctx, shared: t}
	}
	tctx, cancel := p.Timer.WithTimeout(ctx, d)
	return timeout{ctx: tctx, cancel: cancel}
}

// timedOut turns err into a [*TimeoutError] when it came from t's own
// deadline rather than from the caller's ctx.
func (t timeout) timedOut(ctx context.Context, err error, op string, limit time.Duration) error {
	if err == nil || !t.expired(ctx) {
		return err
	}
	return &TimeoutError{Op: op, Limit: limit, Err: err}
}

// expired reports whether t's own deadline ended t.ctx. The shared timer
// and a deadline.Watchdog know which came first, the deadline or the
// caller's ctx ending; for any other Timer, a context that ended with
// DeadlineExceeded under a live ctx is taken as timed out.
func (t timeout) expired(ctx context.Context) bool {
	if t.cancel == nil {
		return t.shared.Expired()
	}
	if c, ok := t.ctx.(*timers.Call); ok {
		return c.Expired()
	}
	return t.ctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
}

// settle reports the result of an admitted call to its gate's done. A
// panic is reported as a [*PanicError] and then re-raised: the deferred
// call runs on top of the panicking frames, so the trace still shows where
// the panic began.
func settle(done func(error), err *error) {
	if r := recover(); r != nil {
		done(&PanicError{Value: r, Stack: debug.Stack()})
		panic(r)
	}
	done(*err)
}

// errNilFunc is returned for a nil function.
var errNilFunc = &ConfigError{Field: "fn", Reason: "must not be nil"}

type attemptKey struct{}

// Attempt returns the number of the attempt ctx belongs to, from 1, for a
// call made through a retry policy, alone or in a [Pipeline]; 1 otherwise
// (see [WithAttempt]).
func Attempt(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// numbered reports whether the policy running the attempts numbered ctx
// itself (see [WithAttempt]): a policy that runs them side by side numbers
// even the first, so that the order in which its goroutines reach the
// Pipeline does not matter.
func numbered(ctx context.Context) bool {
	_, ok := ctx.Value(attemptKey{}).(int)
	return ok
}
