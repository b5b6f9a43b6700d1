package retry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

var (
	// ErrExhausted is the stop reason of a loop that used all its attempts
	// or whose policy said stop.
	ErrExhausted = errors.New("retry: attempts exhausted")
	// ErrBudget is the stop reason of a loop refused by its [Budget].
	ErrBudget = errors.New("retry: budget exhausted")
	// ErrDeadline is the stop reason of a loop whose next wait would end
	// past its context's deadline. It wraps context.DeadlineExceeded.
	ErrDeadline = fmt.Errorf("retry: next attempt would start past the deadline: %w", context.DeadlineExceeded)
	// ErrStopped answers jobs of a [Scheduler] that stopped before they
	// finished.
	ErrStopped = errors.New("retry: scheduler stopped")
	// ErrNilFunc is returned by [Retrier.Do] and [DoValue], and answered by
	// [Scheduler.Submit], when the function is nil.
	ErrNilFunc = errors.New("retry: nil function")
)

// Cause is why a retry loop stopped without success.
type Cause int

// The causes, as reported by [Error.Cause].
const (
	CauseExhausted Cause = iota + 1 // MaxAttempts reached or the Policy said stop
	CausePermanent                  // a Permanent error, or RetryIf said no
	CauseContext                    // the context was cancelled or expired
	CauseDeadline                   // the next wait would end past the context's deadline
	CauseBudget                     // the retry Budget refused
	CauseOpen                       // the dependency said "retry after d" and the loop could not wait (see Hint)
	CauseStopped                    // the Scheduler stopped
)

var causeNames = [...]string{"unknown", "exhausted", "permanent", "context", "deadline", "budget", "open", "stopped"}

// String returns the cause's lowercase name.
func (c Cause) String() string {
	if c < 0 || int(c) >= len(causeNames) {
		return "Cause(" + strconv.Itoa(int(c)) + ")"
	}
	return causeNames[c]
}

// Error is the error of a retry loop that stopped without success. Use
// errors.As to read it. errors.Is and errors.As see only the last
// attempt's error and the stop reason (context.Canceled, [ErrBudget],
// [ErrDeadline], ...): an error an earlier attempt returned does not
// classify the outcome. Earlier errors stay readable in Errors.
type Error struct {
	// Attempts is the number of attempts made (0 if the context was done
	// before the first).
	Attempts int
	// Errors holds the attempts' errors in order, Permanent wrappers
	// removed, but not all of them: the first attempt's, then the last
	// [KeptLast] attempts' (every one when Attempts ≤ KeptLast+1). So
	// Errors[0] is attempt 1's, Errors[len(Errors)-1] attempt Attempts's,
	// and Attempts-len(Errors) errors in between were dropped, which keeps
	// an Error's size bounded however many attempts ran.
	Errors  []error
	Cause   Cause         // why the loop stopped
	Elapsed time.Duration // from the end of the first attempt to the stop (the first attempt is not timed)
	reason  error         // the stop reason's error, or nil
}

func newError(log errLog, cause Cause, reason error, elapsed time.Duration) *Error {
	return &Error{Attempts: log.n, Errors: log.kept(), Cause: cause, Elapsed: elapsed, reason: reason}
}

// Error describes the stop and the last attempt's error.
func (e *Error) Error() string {
	msg := fmt.Sprintf("retry: stopped after %d attempts in %v (%v)", e.Attempts, e.Elapsed, e.Cause)
	if last := e.Last(); last != nil {
		msg += ": " + last.Error()
	} else if e.reason != nil {
		msg += ": " + e.reason.Error()
	}
	return msg
}

// Last returns the last attempt's error, or nil if no attempt ran.
func (e *Error) Last() error {
	if len(e.Errors) == 0 {
		return nil
	}
	return e.Errors[len(e.Errors)-1]
}

// Unwrap returns the last attempt's error, if any, and the stop reason's
// error, if any: the context's error, ErrExhausted, ErrDeadline, ErrBudget,
// ErrStopped or a [*PanicError]. Earlier attempts' errors are not
// returned, so they do not match errors.Is.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if last := e.Last(); last != nil {
		out = append(out, last)
	}
	if e.reason != nil {
		out = append(out, e.reason)
	}
	return out
}

// Permanent wraps err so that a retry loop stops at once with
// [CausePermanent]. The loop records err itself, not the wrapper.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Hint is implemented by errors that say how long to wait before the next
// attempt: an HTTP 429 or 503 with Retry-After (see [After] and
// [ParseRetryAfter]), or a circuit breaker's "open" error. The loop waits
// that long instead of its backoff, clamped to [0, MaxDelay].
//
// Such an error means the dependency refused service for now, so when the
// loop cannot wait for it (RetryIf refused it, no attempt is left, or the
// wait would end past the context's deadline) it stops with [CauseOpen].
type Hint interface {
	RetryAfter() time.Duration
}

// After wraps err with a server-directed delay: the result implements
// [Hint] with d and unwraps to err. After(nil, d) is nil.
func After(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &afterError{err: err, d: d}
}

type afterError struct {
	err error
	d   time.Duration
}

func (a *afterError) Error() string             { return a.err.Error() }
func (a *afterError) Unwrap() error             { return a.err }
func (a *afterError) RetryAfter() time.Duration { return a.d }

// inspect walks err's tree once (depth first, like errors.Is) and reports
// the first Hint and the first Permanent wrapper's content. It does not
// allocate, unlike errors.As with an interface target.
func inspect(err error) (hint time.Duration, hinted bool, perm error) {
	for depth := 0; err != nil && depth < 100; depth++ {
		if p, ok := err.(*permanentError); ok && perm == nil {
			perm = p.err
		}
		if h, ok := err.(Hint); ok && !hinted {
			hint, hinted = h.RetryAfter(), true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				h, ok, p := inspect(e)
				if perm == nil {
					perm = p
				}
				if ok && !hinted {
					hint, hinted = h, true
				}
			}
			return hint, hinted, perm
		default:
			return hint, hinted, perm
		}
	}
	return hint, hinted, perm
}
