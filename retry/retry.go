package retry

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/events"
)

// Policy runs operations with retries according to a [Config]. It holds no
// per-call state, so one Policy is safe for concurrent use and is meant to
// be shared (for example one per dependency). It is a [resilience.Policy]:
// call [Policy.Run], or [resilience.Do] for an operation that returns a
// value, alone or as the Retry slot of a [resilience.Pipeline]. There is no
// useful zero value: use [New].
type Policy struct {
	cfg     Config // validated, defaults filled
	b       backoff
	dropped atomic.Uint64 // events dropped because Config.Events was full
	counts  counters      // see Metrics
}

var _ resilience.Policy = (*Policy)(nil)

// New returns a Policy for cfg, or a [*resilience.ConfigError] naming the
// first invalid field.
func New(cfg Config) (*Policy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Policy{cfg: cfg, b: backoff{
		kind: cfg.Backoff, jitter: cfg.Jitter, initial: cfg.InitialDelay,
		max: cfg.MaxDelay, mult: cfg.Multiplier, factor: cfg.JitterFactor, rand: cfg.Rand,
	}}, nil
}

// Delay returns the wait after attempt n failed with err, given the
// previous wait: Config.Delay's if set, else the Backoff and Jitter's
// (which do not look at err), always within [0, MaxDelay]. It does not
// look at err's hint, which the loop honours first.
func (p *Policy) Delay(n int, err error, prev time.Duration) time.Duration {
	if p.cfg.Delay != nil {
		return clamp(p.cfg.Delay(n, err, prev), p.cfg.MaxDelay)
	}
	return p.b.delay(n, prev)
}

// EventsDropped returns how many events were dropped because
// Config.Events was full.
func (p *Policy) EventsDropped() uint64 { return p.dropped.Load() }

// Run calls fn until it returns nil or the loop stops, and returns nil or
// an [*Error]. fn reads its attempt number, from 1, with
// [resilience.Attempt]; from the second attempt on it receives a context
// derived from ctx that carries the number.
//
// Waits between attempts follow the Config; a cancelled ctx interrupts a
// wait at once, and a wait that would end past ctx's deadline is not
// started. If ctx is done before the first attempt, fn is not called. Run
// does not interrupt fn itself: fn should honour ctx. A panic in fn (or in
// Config.Classify, Config.Delay or Config.AttemptsFor) is not retried: it
// continues in the caller's goroutine. A nil fn is a
// [*resilience.ConfigError].
func (p *Policy) Run(ctx context.Context, fn func(context.Context) error) error {
	switch {
	case fn == nil:
		return errNilFunc
	case p == nil:
		return errNilPolicy
	case ctx.Err() != nil:
		return newError(errLog{}, ctxReason(ctx), 0)
	}
	var begin time.Duration
	if p.cfg.MaxElapsed > 0 {
		begin = time.Since(epoch)
	}
	err := fn(ctx)
	if err == nil {
		p.finished(true)
		return nil
	}
	return p.loop(ctx, fn, err, begin)
}

var (
	errNilFunc   = &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}
	errNilPolicy = &resilience.ConfigError{Field: "retry.Policy", Reason: "is nil; build one with retry.New"}
)

// loop runs attempts 2, 3, ... after attempt 1 (begun at begin, when
// MaxElapsed is set) failed with err, stepping the same plan
// [Policy.Plan] hands out.
func (p *Policy) loop(ctx context.Context, fn func(context.Context) error, err error, begin time.Duration) error {
	var buf [keptLast + 1]error
	s := plan{p: p, ctx: ctx, log: errLog{errs: buf[:0]}, start: begin}
	for {
		wait, again := s.Next(err)
		if !again {
			return s.Err()
		}
		if !sleep(ctx, wait) {
			s.stop(ctxReason(ctx))
			return s.Err()
		}
		err = fn(resilience.WithAttempt(ctx, s.log.n+1))
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

// finished tells the budget how a call ended.
func (p *Policy) finished(ok bool) {
	if p.cfg.Budget != nil {
		p.cfg.Budget.Done(ok)
	}
}

// verdict is the outcome of one decision: wait delay, or stop for reason.
type verdict struct {
	delay  time.Duration
	stop   bool
	reason error // why it stopped, nil when the error itself says stop
}

// next decides what follows the failure of attempt n with err, given the
// previous wait and the start of the clock of MaxElapsed (since epoch). It
// reads the clock only when ctx has a deadline or MaxElapsed is set.
func (p *Policy) next(ctx context.Context, n int, err error, prev, start time.Duration) verdict {
	var dl, now, end time.Time
	if d, ok := ctx.Deadline(); ok {
		dl, now = d, time.Now()
	}
	if m := p.cfg.MaxElapsed; m > 0 && start <= math.MaxInt64-m {
		end = epoch.Add(start + m)
		if now.IsZero() {
			now = time.Now()
		}
	}
	var ctxErr error
	if ctx.Err() != nil {
		ctxErr = ctxReason(ctx)
	}
	return p.decide(ctxErr, n, err, prev, now, dl, end)
}

// errElapsed is the Reason of a loop that stopped because its next wait
// would have ended past Config.MaxElapsed.
var errElapsed = fmt.Errorf("retry: max elapsed time reached: %w", resilience.ErrExhausted)

// decide is next with the context's state and the clock given: the loop's
// whole policy in one place. A zero deadline or end (of MaxElapsed) means
// none. Retrying spends from the budget and sends an event.
func (p *Policy) decide(ctxErr error, n int, err error, prev time.Duration, now, deadline, end time.Time) verdict {
	if ctxErr != nil {
		return verdict{stop: true, reason: ctxErr}
	}
	outcome := p.cfg.Classify(err)
	switch {
	case outcome != resilience.Failure && outcome != resilience.Throttled:
		return verdict{stop: true}
	case n >= p.attemptsFor(err):
		return verdict{stop: true, reason: resilience.ErrExhausted}
	}
	delay := p.wait(n, err, prev)
	switch {
	case !deadline.IsZero() && !now.Add(delay).Before(deadline):
		return verdict{stop: true, reason: context.DeadlineExceeded}
	case !end.IsZero() && now.Add(delay).After(end):
		return verdict{stop: true, reason: errElapsed}
	case p.cfg.Budget != nil && !p.cfg.Budget.Retry():
		return verdict{stop: true, reason: errBudget}
	}
	p.publish(Event{Attempt: n, Err: err, Delay: delay})
	return verdict{delay: delay}
}

// attemptsFor is the attempt limit after an attempt failed with err:
// Config.AttemptsFor's when set and positive, else MaxAttempts.
func (p *Policy) attemptsFor(err error) int {
	if p.cfg.AttemptsFor != nil {
		if n := p.cfg.AttemptsFor(err); n > 0 {
			return n
		}
	}
	return p.cfg.MaxAttempts
}

// wait is the delay before the next attempt: the error's positive hint,
// clamped to MaxDelay, or else the backoff's.
func (p *Policy) wait(n int, err error, prev time.Duration) time.Duration {
	if hint, ok := hintOf(err); ok && hint > 0 {
		return clamp(hint, p.cfg.MaxDelay)
	}
	return p.Delay(n, err, prev)
}

// publish sends ev on Config.Events without blocking, counting a drop.
func (p *Policy) publish(ev Event) { events.Send(p.cfg.Events, ev, &p.dropped) }
