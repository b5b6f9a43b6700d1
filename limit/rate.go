package limit

import (
	"context"
	"errors"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/gate"
)

// Allow admits a call if a permit is available now, and never waits. A
// call beyond the rate is refused with a [*resilience.RejectedError]
// matching [ErrLimited], whose Until is when the next permit comes; after
// [Rate.Stop] calls are refused with [resilience.ErrStopped]. An admitted
// call does not allocate; a refusal allocates only when Until has moved
// since the previous refusal, and is shared between refused calls, so
// treat it as read-only. done does nothing (a permit is not given back)
// but must still be called, as for every [resilience.Gate].
func (r *Rate) Allow(context.Context) (done func(error), err error) {
	if r.stopped.Load() {
		return nil, r.stopErr
	}
	if next, ok := r.allowAt(int64(time.Since(r.epoch))); !ok {
		r.counts.stripe().limited.Add(1)
		return nil, r.refused(next)
	}
	r.counts.stripe().allowed.Add(1)
	return noop, nil
}

func noop(error) {}

// allowAt takes a permit at now (ns since epoch) if one is available. If
// not, it returns when the next one is, and changes nothing.
func (r *Rate) allowAt(now int64) (next int64, ok bool) {
	for {
		tat := r.tat.Load()
		next, ok := gcra(tat, now, r.interval, r.tol)
		if !ok || r.tat.CompareAndSwap(tat, next) {
			return next, ok
		}
	}
}

// gcra is the arithmetic of one bucket whose theoretical arrival time is
// tat, at now: a permit every interval ns, and a call may come up to tol
// ns before its slot. It returns the new tat if a permit is available, or
// when the next one is.
func gcra(tat, now, interval, tol int64) (next int64, ok bool) {
	start := max(tat, now)
	if start-now > tol {
		return start - tol, false
	}
	return start + interval, true
}

// refused returns the refusal whose Until is next, reusing the last one.
func (r *Rate) refused(next int64) *resilience.RejectedError {
	if last := r.refusal.Load(); last != nil && last.next == next {
		return last.err
	}
	until := r.epoch.Add(time.Duration(next))
	e := &resilience.RejectedError{Name: r.name, Reason: ErrLimited, Until: until}
	r.refusal.Store(&refusal{next: next, err: e})
	return e
}

// refusal is a refusal and its Until in ns since the limiter's epoch.
type refusal struct {
	next int64
	err  *resilience.RejectedError
}

// Run calls fn if the limiter admits it now, and returns fn's error or the
// refusal. A nil fn is refused with a [*resilience.ConfigError].
func (r *Rate) Run(ctx context.Context, fn func(context.Context) error) error {
	return gate.Run(ctx, r, fn)
}

// Wait waits for a permit and takes it. It returns at once when the permit
// would come after ctx's deadline, with an error that matches both
// [ErrLimited] (a [*resilience.RejectedError] whose Until is when the
// permit would come) and context.DeadlineExceeded; it takes no permit
// then. When ctx is done or the limiter stops during the wait, Wait
// returns ctx's error or [resilience.ErrStopped], and gives the permit
// back unless a later caller has already reserved one after it.
func (r *Rate) Wait(ctx context.Context) error {
	if r.stopped.Load() {
		return r.stopErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := int64(time.Since(r.epoch))
	deadline, hasDeadline := ctx.Deadline()
	tat, at, ok := r.reserve(now, deadline, hasDeadline)
	if !ok {
		r.counts.stripe().limited.Add(1)
		return errors.Join(r.refused(at), context.DeadlineExceeded)
	}
	if at <= now {
		r.counts.stripe().allowed.Add(1)
		return nil
	}
	if err := r.sleep(ctx, time.Duration(at-now)); err != nil {
		r.tat.CompareAndSwap(tat, tat-r.interval)
		r.counts.stripe().limited.Add(1)
		return err
	}
	r.counts.stripe().allowed.Add(1)
	return nil
}

// reserve takes the next permit at now, unless it comes after the
// deadline. It returns the theoretical arrival time it set and when the
// permit comes.
func (r *Rate) reserve(now int64, deadline time.Time, hasDeadline bool) (tat, at int64, ok bool) {
	for {
		old := r.tat.Load()
		start := max(old, now)
		at = max(now, start-r.tol)
		if hasDeadline && r.epoch.Add(time.Duration(at)).After(deadline) {
			return 0, at, false
		}
		if r.tat.CompareAndSwap(old, start+r.interval) {
			return start + r.interval, at, true
		}
	}
}

// sleep waits d, or until ctx is done or the limiter stops.
func (r *Rate) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.Done():
		return r.stopErr
	}
}

var _ resilience.Gate = (*Rate)(nil)
