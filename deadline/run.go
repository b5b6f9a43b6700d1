package deadline

import (
	"context"
	"errors"
	"time"
)

// Limit is how long one operation may take. It is a plain value: build it
// by hand or get it from a [Table].
type Limit struct {
	Op      string        // names the operation in errors; may be empty
	Timeout time.Duration // must be positive
}

func (l Limit) validate() error {
	if l.Timeout <= 0 {
		return &ConfigError{Field: "Limit.Timeout", Reason: "must be positive, got " + l.Timeout.String()}
	}
	return nil
}

// errOwnLimit is the cancellation cause that tells a runtime-timer call's
// own deadline apart from its parent's.
var errOwnLimit = errors.New("deadline: limit reached")

// span is one timed call in progress, on a scheduler (c) or on a runtime
// timer (ctx, cancel).
type span struct {
	c      *call
	ctx    context.Context
	cancel context.CancelFunc
	own    error // this span's own cancellation cause (runtime path)
}

// open starts timing a call. A nil scheduler means the default one.
func (s *Scheduler) open(parent context.Context, lim Limit) (span, error) {
	if err := lim.validate(); err != nil {
		return span{}, err
	}
	var c *call
	var err error
	if s == nil {
		s = defaultScheduler
		now := s.now()
		if inBubble(now) {
			own := &ownLimit{}
			ctx, cancel := context.WithTimeoutCause(parent, lim.Timeout, own)
			return span{ctx: ctx, cancel: cancel, own: own}, nil
		}
		c, err = s.armAt(parent, lim.Timeout, now)
	} else {
		c, err = s.arm(parent, lim.Timeout)
	}
	if err != nil {
		return span{}, err
	}
	return span{c: c, ctx: c}, nil
}

// expired reports whether the span's own deadline ended it (not its
// parent, not its function returning).
func (sp span) expired() bool {
	if sp.c != nil {
		return sp.c.state.Load() == elapsed
	}
	return context.Cause(sp.ctx) == sp.own
}

// ownLimit is a per-call cause, so a descendant never mistakes its
// ancestor's deadline for its own.
type ownLimit struct{ _ byte } // not zero-size: each pointer is distinct

func (*ownLimit) Error() string { return errOwnLimit.Error() }
func (*ownLimit) Unwrap() error { return errOwnLimit }

// close stops timing and cancels the span's context, and turns the
// function's error into the call's: an [*ElapsedError] if the deadline came
// first, the function's own error otherwise.
func (sp span) close(lim Limit, err error) (bool, error) {
	if sp.c != nil {
		sp.c.disarm()
		sp.c.cancel(finished, nil)
	} else {
		defer sp.cancel()
	}
	if sp.expired() {
		return true, &ElapsedError{Op: lim.Op, Limit: lim.Timeout, Err: err}
	}
	return false, err
}

// Run calls fn with a context that is cancelled when lim.Timeout elapses,
// and returns fn's error, or an [*ElapsedError] (matching [ErrElapsed] and
// [context.DeadlineExceeded]) if the limit elapsed before fn returned.
//
// Run waits for fn: it never leaves fn running behind its caller, so a fn
// that ignores its context makes Run return late, with the ElapsedError
// (and fn's late error in its Err field). Use [Scheduler.RunOrAbandon] to
// release the caller at the deadline instead. If ctx ends first, fn's
// context ends with it and Run returns what fn returns. A panic in fn
// passes through Run after the timer is released. An invalid lim is
// reported as a [*ConfigError] without calling fn.
//
// Run times the call on the package's shared timer: one runtime timer
// aimed at the earliest pending deadline of all calls, with no goroutine of
// its own, so nothing outlives the call and nothing needs stopping. Inside
// a testing/synctest bubble it uses a runtime timer of the bubble's clock.
func Run(ctx context.Context, lim Limit, fn func(context.Context) error) error {
	var s *Scheduler
	return s.Run(ctx, lim, fn)
}

// Run is the package-level [Run], timed by s (or by the package's shared
// timer if s is nil). It returns [ErrStopped] without calling fn once s is
// stopped.
func (s *Scheduler) Run(ctx context.Context, lim Limit, fn func(context.Context) error) (err error) {
	if fn == nil {
		return &ConfigError{Field: "fn", Reason: "must not be nil"}
	}
	sp, err := s.open(ctx, lim)
	if err != nil {
		return err
	}
	defer func() { _, err = sp.close(lim, err) }()
	return fn(sp.ctx)
}

// Do is [Run] for a function that returns a value: it returns fn's value
// and error, or the zero value and an [*ElapsedError] if lim elapsed before
// fn returned (fn's late value is dropped). s times the call; nil means the
// package's shared timer, as for [Run]. Like Run, Do waits for fn.
func Do[T any](ctx context.Context, s *Scheduler, lim Limit, fn func(context.Context) (T, error)) (v T, err error) {
	if fn == nil {
		return v, &ConfigError{Field: "fn", Reason: "must not be nil"}
	}
	sp, err := s.open(ctx, lim)
	if err != nil {
		return v, err
	}
	defer func() {
		var late bool
		if late, err = sp.close(lim, err); late {
			var zero T
			v = zero
		}
	}()
	return fn(sp.ctx)
}
