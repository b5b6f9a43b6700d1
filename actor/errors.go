package actor

import (
	"errors"
	"fmt"
)

var (
	// ErrMailboxFull is returned by [Actor.Tell] and [Ask] when the mailbox
	// holds Config.Mailbox messages already. The message was not accepted.
	ErrMailboxFull = errors.New("actor: mailbox full")

	// ErrStopped is returned when a message is sent to an actor that is
	// stopping or stopped, and by [Ask] when the actor stops before replying.
	// The message was not accepted (or, for Ask, its reply will never come).
	// After a handler panic the error wraps the [*PanicError] as well.
	ErrStopped = errors.New("actor: stopped")

	// ErrNilBehavior is returned by [Spawn] when the behaviour is nil.
	ErrNilBehavior = errors.New("actor: nil behavior")
)

// ConfigError reports an invalid [Config] field.
type ConfigError struct {
	Field  string // the field's name, e.g. "Mailbox"
	Reason string // why the value was refused
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("actor: invalid config: %s %s", e.Field, e.Reason)
}

// PanicError is the failure of an actor whose handler panicked. It is what
// [Actor.Err] returns after such a failure, and what [Ask] wraps when the
// actor fails while the Ask waits.
type PanicError struct {
	Actor string // the actor's name
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, from runtime/debug.Stack
}

// Error implements error; it includes the panic value but not the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("actor %q: handler panicked: %v", e.Actor, e.Value)
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
