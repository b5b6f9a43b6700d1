package deadline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrElapsed matches the error of a call whose limit elapsed before its
	// function returned. The error is an [*ElapsedError], which also matches
	// [context.DeadlineExceeded] and names the operation and the limit.
	ErrElapsed = errors.New("deadline: elapsed")

	// ErrStopped is returned by a [Scheduler] that has been stopped: it
	// refuses new calls, and the middleware answers them with its status.
	ErrStopped = errors.New("deadline: scheduler stopped")

	// ErrNoScheduler is returned by [Scheduler.RunOrAbandon] and
	// [DoOrAbandon] on a nil *Scheduler: a goroutine that may outlive its
	// caller needs an owner that counts it and waits for it.
	ErrNoScheduler = errors.New("deadline: abandoning a call needs a scheduler")
)

// ElapsedError is the error of a call whose limit elapsed before its
// function returned. errors.Is matches it with [ErrElapsed] and
// [context.DeadlineExceeded].
type ElapsedError struct {
	Op    string        // the operation's name, as given in the Limit
	Limit time.Duration // the limit that elapsed
	// Err is what the function returned after the deadline (usually the
	// context's error), or nil if the caller was released without it.
	Err error
}

// Error says which operation ran out of time and what its limit was, e.g.
// "deadline: search elapsed after 250ms".
func (e *ElapsedError) Error() string {
	op := e.Op
	if op == "" {
		op = "call"
	}
	msg := fmt.Sprintf("deadline: %s elapsed after %v", op, e.Limit)
	if e.Err != nil && !isContextErr(e.Err) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is [ErrElapsed] or [context.DeadlineExceeded].
func (e *ElapsedError) Is(target error) bool {
	return target == ErrElapsed || target == context.DeadlineExceeded
}

// Unwrap returns the function's late error, if any.
func (e *ElapsedError) Unwrap() error { return e.Err }

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// ConfigError reports an invalid [Config], [HTTPConfig] or [Limit] field,
// or an invalid table entry.
type ConfigError struct {
	Field  string // e.g. "Limit.Timeout" or "Shards"
	Reason string // why the value was refused
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("deadline: invalid %s: %s", e.Field, e.Reason)
}

// PanicError is what [Late].Err holds when an abandoned function panicked
// after its caller had been released, so nobody was left to re-panic in.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine
}

// Error implements error; it includes the panic value but not the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("deadline: abandoned function panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
