package resilience

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The errors callers branch on. Match them with errors.Is: the errors
// returned carry more data (see [RejectedError], [TimeoutError]).
var (
	// ErrRejected is matched by every refusal: an open breaker, a full
	// bulkhead or queue, a rate limiter, a retry budget, a stopped
	// component. The refusal is a [*RejectedError] whose Reason says which.
	ErrRejected = errors.New("resilience: rejected")

	// ErrOpen is the Reason of a refusal by an open circuit breaker, or a
	// half-open one whose probes are all in flight.
	ErrOpen = errors.New("resilience: circuit open")

	// ErrFull is the Reason of a refusal by a component at capacity: a
	// bulkhead, a queue, a mailbox, a keyed family at its key cap.
	ErrFull = errors.New("resilience: full")

	// ErrStopped is returned by a call on a component that has stopped or
	// is stopping. It is returned at once; nothing waits.
	ErrStopped = errors.New("resilience: stopped")

	// ErrTimeout is matched by a call that ran out of time (see
	// [TimeoutError]). Such errors also match context.DeadlineExceeded.
	ErrTimeout = errors.New("resilience: timeout")

	// ErrExhausted is the stop reason of a retry loop that used all its
	// attempts.
	ErrExhausted = errors.New("resilience: retries exhausted")
)

// RejectedError is a refusal: the call was not made. It matches
// [ErrRejected] and its Reason ([ErrOpen], [ErrFull], [ErrStopped], ...).
// Components build one value per state and return it to every refused
// call, so a refusal does not allocate; treat it as read-only.
type RejectedError struct {
	// Name names the component that refused (a breaker's or bulkhead's
	// Config.Name); empty if it has none.
	Name string
	// Reason is the sentinel that says why: [ErrOpen], [ErrFull],
	// [ErrStopped], or one of a policy's own.
	Reason error
	// Until is when the component expects to admit calls again; the zero
	// time when it does not know.
	Until time.Time
}

// Error implements error.
func (e *RejectedError) Error() string {
	msg := "resilience: "
	if e.Name != "" {
		msg += e.Name + ": "
	}
	return msg + "rejected: " + reasonText(e.Reason)
}

func reasonText(err error) string {
	if err == nil {
		return "no reason"
	}
	return err.Error()
}

// Is reports whether target is [ErrRejected].
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Unwrap returns the Reason.
func (e *RejectedError) Unwrap() error { return e.Reason }

// RetryAfter returns how long until the component expects to admit calls,
// never negative; zero when it does not know. A retry policy honours it.
func (e *RejectedError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return 0
	}
	return max(0, time.Until(e.Until))
}

// TimeoutError is returned by a call that ran out of time. It matches
// [ErrTimeout] and context.DeadlineExceeded, and unwraps to the error the
// function returned when its context expired, if any.
type TimeoutError struct {
	// Op names what timed out: a Pipeline's Name, an operation name.
	Op string
	// Limit is the timeout that elapsed.
	Limit time.Duration
	// Err is the error the function returned, if it returned one.
	Err error
}

// Error names the operation and the limit.
func (e *TimeoutError) Error() string {
	op := e.Op
	if op == "" {
		op = "call"
	}
	return "resilience: " + op + " timed out after " + e.Limit.String()
}

// Is reports whether target is [ErrTimeout] or context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Unwrap returns Err.
func (e *TimeoutError) Unwrap() error { return e.Err }

// ConfigError is returned by a constructor given an invalid configuration.
// It names the field and says why the value is refused.
type ConfigError struct {
	// Field is the qualified field name, e.g. "breaker.Config.FailureThreshold".
	Field string
	// Reason says what is wrong with the value, e.g. "must not be negative".
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return "resilience: invalid " + e.Field + ": " + e.Reason
}

// PanicError carries a panic raised by user code that ran on a goroutine
// the library owns (a bulkhead worker, an actor), delivered to whoever
// waits for the result. Code that runs on the caller's goroutine is not
// wrapped: its panic is re-raised there.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, as runtime/debug.Stack
	// formats it.
	Stack []byte
}

// Error includes the panic value.
func (e *PanicError) Error() string {
	return "resilience: panic: " + fmt.Sprint(e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// errPanicked is what a Gate's done receives when the call it admitted
// panicked or called runtime.Goexit; the panic itself goes on in the
// caller's goroutine, with its own value and stack.
var errPanicked = &PanicError{Value: "the call panicked or exited; the panic goes on in the caller"}
