package retry

import (
	"context"
	"fmt"
	"time"
)

// Retrier runs operations with retries according to a [Config]. It holds
// no per-call state, so one Retrier is safe for concurrent use and is meant
// to be shared (for example one per dependency). Most callers want
// [Retrier.Do] or [DoValue]. There is no useful zero value: use [New].
type Retrier struct {
	cfg Config // validated, defaults filled
	b   backoff
}

// New returns a Retrier for cfg, or a [*ConfigError] naming the first
// invalid field.
func New(cfg Config) (*Retrier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Retrier{cfg: cfg, b: backoff{
		kind: cfg.Backoff, jitter: cfg.Jitter, initial: cfg.InitialDelay,
		max: cfg.MaxDelay, mult: cfg.Multiplier, rand: cfg.Rand,
	}}, nil
}

// Config returns the Retrier's configuration with defaults filled in.
func (r *Retrier) Config() Config { return r.cfg }

// Delay returns the wait after attempt n failed, given the previous wait:
// the Config's Policy if set, else its Backoff and Jitter, always within
// [0, MaxDelay]. It makes a Retrier usable as a [Policy] itself.
func (r *Retrier) Delay(n int, prev time.Duration) (time.Duration, bool) {
	if r.cfg.Policy != nil {
		d, ok := r.cfg.Policy.Delay(n, prev)
		return clamp(d, r.cfg.MaxDelay), ok
	}
	return r.b.delay(n, prev), true
}

// Do calls fn until it returns nil or the loop stops, and returns nil or
// an [*Error]. fn receives ctx and the attempt number, from 1.
//
// Waits between attempts follow the Config; a cancelled ctx interrupts a
// wait at once, and a wait that would end past ctx's deadline is not
// started (the loop stops with [CauseDeadline]). If ctx is done before the
// first attempt, fn is not called. Do does not interrupt fn itself: fn
// should honour ctx.
func (r *Retrier) Do(ctx context.Context, fn func(ctx context.Context, attempt int) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	if ctx.Err() != nil {
		return notStarted(ctx)
	}
	err := fn(ctx, 1)
	if err == nil {
		r.succeeded()
		return nil
	}
	_, err = loop(ctx, r, func(ctx context.Context, n int) (struct{}, error) {
		return struct{}{}, fn(ctx, n)
	}, err)
	return err
}

// DoValue is [Retrier.Do] for an operation that returns a value: it
// returns the value of the first successful attempt, or the zero T and an
// [*Error].
func DoValue[T any](ctx context.Context, r *Retrier, fn func(ctx context.Context, attempt int) (T, error)) (T, error) {
	if fn == nil || ctx.Err() != nil {
		var zero T
		if fn == nil {
			return zero, ErrNilFunc
		}
		return zero, notStarted(ctx)
	}
	v, err := fn(ctx, 1)
	if err == nil {
		r.succeeded()
		return v, nil
	}
	return loop(ctx, r, fn, err)
}

// loop runs attempts 2, 3, ... after attempt 1 failed with err.
func loop[T any](ctx context.Context, r *Retrier, fn func(context.Context, int) (T, error), err error) (T, error) {
	var zero T
	start := time.Now() // the first attempt is not timed: see Error.Elapsed
	var buf [KeptLast + 1]error
	log := errLog{errs: buf[:0]}
	var prev time.Duration
	for n := 1; ; n++ {
		v := r.next(ctx, n, err, prev)
		log = log.add(v.err)
		if v.cause == 0 && !sleep(ctx, v.delay) {
			v.cause, v.reason = CauseContext, ctxReason(ctx)
		}
		if v.cause != 0 {
			return zero, newError(log, v.cause, v.reason, time.Since(start))
		}
		prev = v.delay
		var val T
		if val, err = fn(ctx, n+1); err == nil {
			r.succeeded()
			return val, nil
		}
	}
}

// sleep waits d or until ctx is done, reporting whether the wait ended
// normally.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *Retrier) succeeded() {
	if r.cfg.Budget != nil {
		r.cfg.Budget.deposit()
	}
}

func notStarted(ctx context.Context) error {
	return newError(errLog{}, CauseContext, ctxReason(ctx), 0)
}

// ctxReason is ctx's error, joined with its cause when that differs.
func ctxReason(ctx context.Context) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && c != err {
		return fmt.Errorf("%w: %w", err, c)
	}
	return err
}

// verdict is the outcome of one decision: wait delay, or stop for cause.
type verdict struct {
	delay  time.Duration
	cause  Cause // 0 means retry after delay
	reason error // the stop reason's error, if any
	err    error // the attempt's error as recorded (Permanent wrapper removed)
}

// next decides what follows the failure of attempt n with err, given the
// previous wait. It reads the clock only when ctx has a deadline. Retrying
// spends from the budget and calls OnRetry.
func (r *Retrier) next(ctx context.Context, n int, err error, prev time.Duration) verdict {
	var dl, now time.Time
	if d, ok := ctx.Deadline(); ok {
		dl, now = d, time.Now()
	}
	var ctxErr error
	if ctx.Err() != nil {
		ctxErr = ctxReason(ctx)
	}
	return r.decide(ctxErr, n, err, prev, now, dl)
}

// decide is next with the context's state and the clock given: the loop's
// whole policy in one place. A zero deadline means none.
func (r *Retrier) decide(ctxErr error, n int, err error, prev time.Duration, now, deadline time.Time) verdict {
	hint, hinted, perm := inspect(err)
	if p, ok := err.(*permanentError); ok {
		err = p.err
	}
	open := func(otherwise Cause) Cause {
		if hinted {
			return CauseOpen
		}
		return otherwise
	}
	switch {
	case ctxErr != nil:
		return verdict{cause: CauseContext, reason: ctxErr, err: err}
	case perm != nil:
		return verdict{cause: CausePermanent, err: err}
	case r.cfg.RetryIf != nil && !r.cfg.RetryIf(err):
		return verdict{cause: open(CausePermanent), err: err}
	case n >= r.cfg.MaxAttempts:
		return verdict{cause: open(CauseExhausted), reason: ErrExhausted, err: err}
	}
	delay, ok := clamp(hint, r.cfg.MaxDelay), true
	if !hinted {
		delay, ok = r.Delay(n, prev)
	}
	switch {
	case !ok:
		return verdict{cause: CauseExhausted, reason: ErrExhausted, err: err}
	case !deadline.IsZero() && !now.Add(delay).Before(deadline):
		return verdict{cause: open(CauseDeadline), reason: ErrDeadline, err: err}
	case r.cfg.Budget != nil && !r.cfg.Budget.spend():
		return verdict{cause: CauseBudget, reason: ErrBudget, err: err}
	}
	if r.cfg.OnRetry != nil {
		r.cfg.OnRetry(Event{Attempt: n, Err: err, Delay: delay})
	}
	return verdict{delay: delay, err: err}
}
