package timers

import (
	"context"
	"errors"
	"time"
)

// shared is the set behind [Start]. It is built when the package is
// initialised, outside any testing/synctest bubble, so its clock and its
// timer are the real ones; until its first use it is a few idle heaps and
// a stopped timer.
var shared = New(0)

// Shared returns the set behind [Start].
func Shared() *Set { return shared }

// Timeout is a context with a timeout made by [Start] or [Set.Start], and
// the way to end it. It is a small value: keep it on the stack.
type Timeout struct {
	// Ctx is the context to run the work with.
	Ctx    context.Context
	call   *Call
	cancel context.CancelFunc
	own    error // the fallback's own cancellation cause
}

// Start is context.WithTimeout on the shared set: one allocation, no
// goroutine. The caller must call [Timeout.Stop]. Inside a testing/synctest
// bubble the shared timer, which runs on the real clock, must not time the
// context, so Start falls back to a runtime timer of the bubble's clock.
func Start(parent context.Context, d time.Duration) Timeout {
	return shared.Start(parent, d)
}

// Start is [Set.Arm] wrapped in a Timeout, falling back to a runtime timer
// when called inside a testing/synctest bubble on a set built outside one.
func (s *Set) Start(parent context.Context, d time.Duration) Timeout {
	now := s.now()
	if now < 0 {
		// Outside a bubble the reading is monotonic and never negative.
		// Inside one time.Now has no monotonic reading and its fake clock
		// starts in 2000, years before the set was built.
		own := &ownLimit{}
		ctx, cancel := context.WithTimeoutCause(parent, d, own)
		return Timeout{Ctx: ctx, cancel: cancel, own: own}
	}
	c := s.armAt(parent, d, now)
	return Timeout{Ctx: c, call: c}
}

// Stop ends the timeout: it releases the timer and cancels Ctx. It reports
// whether the timeout's own deadline had ended Ctx (not its parent).
func (t Timeout) Stop() (expired bool) {
	if t.call != nil {
		return t.call.Release()
	}
	t.cancel()
	return t.Expired()
}

// Expired reports whether the timeout's own deadline has ended Ctx.
func (t Timeout) Expired() bool {
	if t.call != nil {
		return t.call.Expired()
	}
	return context.Cause(t.Ctx) == t.own
}

// errOwnLimit is what a fallback timeout's own cause unwraps to.
var errOwnLimit = errors.New("timeout reached")

// ownLimit is a per-timeout cause, so a descendant never mistakes its
// ancestor's deadline for its own.
type ownLimit struct{ _ byte } // not zero-size: each pointer is distinct

func (*ownLimit) Error() string { return errOwnLimit.Error() }
func (*ownLimit) Unwrap() error { return errOwnLimit }
