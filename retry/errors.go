package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
)

// errBudget is the Reason of a loop its [Budget] refused: a refusal whose
// own Reason is [resilience.ErrExhausted], since the retries ran out.
var errBudget = &resilience.RejectedError{Name: "retry budget", Reason: resilience.ErrExhausted}

// Error is the error of a retry loop that stopped without success. Use
// errors.As to read it. errors.Is and errors.As see only Last and Reason:
// an error an earlier attempt returned does not classify the outcome.
type Error struct {
	// Attempts is the number of attempts made (0 if the context was done
	// before the first).
	Attempts int
	// Elapsed runs from the end of the first attempt to the stop (the
	// first attempt is not timed, so a first success costs no clock read),
	// or from its start when Config.MaxElapsed is set.
	Elapsed time.Duration
	// Last is the last attempt's error, or nil if no attempt ran.
	Last error
	// Reason says why the loop stopped, when not because of Last itself
	// (nil then: Last was classified Terminal, Ignored or Success):
	//   - [resilience.ErrExhausted]: every attempt was used;
	//   - an error matching [resilience.ErrExhausted] that says so: the
	//     next wait would have ended past Config.MaxElapsed;
	//   - the context's error: it ended, or (context.DeadlineExceeded) the
	//     next wait would have ended past its deadline;
	//   - a [*resilience.RejectedError] whose Reason is
	//     [resilience.ErrExhausted]: the [Budget] refused a retry, so it
	//     matches both ErrRejected and ErrExhausted.
	Reason error
	// Errors holds some of the attempts' errors in order: the first
	// attempt's, then the last 8 attempts' (every one when Attempts ≤ 9),
	// so Errors[0] is attempt 1's and the last is Last. The ones in
	// between are dropped, which keeps an Error's size bounded however
	// many attempts ran.
	Errors []error
}

func newError(log errLog, reason error, elapsed time.Duration) *Error {
	return &Error{Attempts: log.n, Errors: log.kept(), Last: log.last(), Reason: reason, Elapsed: elapsed}
}

// Error describes the stop and the last attempt's error.
func (e *Error) Error() string {
	msg := fmt.Sprintf("retry: stopped after %d attempts in %v", e.Attempts, e.Elapsed)
	if e.Reason != nil {
		msg += " (" + e.Reason.Error() + ")"
	}
	if e.Last != nil {
		msg += ": " + e.Last.Error()
	}
	return msg
}

// Unwrap returns Last and Reason, those that are not nil. Earlier
// attempts' errors are not returned, so they do not match errors.Is.
//
// This is the one error of the module with two causes, on purpose: the
// call failed because of Last, and the loop gave up because of Reason
// (ErrExhausted, the context's end, the budget's refusal); a caller
// branches on either, and neither wraps the other.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Last != nil {
		out = append(out, e.Last)
	}
	if e.Reason != nil {
		out = append(out, e.Reason)
	}
	return out
}

// ctxReason is ctx's error, with its cause when that differs.
func ctxReason(ctx context.Context) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && c != err {
		return &ctxError{err: err, cause: c}
	}
	return err
}

// ctxError is the error of a context ended with a cause of its own: it
// matches the context's error (context.Canceled or
// context.DeadlineExceeded) and unwraps to the cause alone, so the error
// chain stays single.
type ctxError struct{ err, cause error }

func (e *ctxError) Error() string        { return e.err.Error() + ": " + e.cause.Error() }
func (e *ctxError) Is(target error) bool { return target == e.err }
func (e *ctxError) Unwrap() error        { return e.cause }

// hintOf walks err's tree depth first, like errors.As, and returns the
// first RetryAfter() time.Duration it finds. It does not allocate, unlike
// errors.As with an interface target.
func hintOf(err error) (time.Duration, bool) {
	for depth := 0; err != nil && depth < 100; depth++ {
		if h, ok := err.(interface{ RetryAfter() time.Duration }); ok {
			return h.RetryAfter(), true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if d, ok := hintOf(e); ok {
					return d, true
				}
			}
			return 0, false
		default:
			return 0, false
		}
	}
	return 0, false
}
