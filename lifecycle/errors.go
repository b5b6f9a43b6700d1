package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrAlreadyShuttingDown is returned by a second call to
	// [Coordinator.Shutdown]: it does not wait for the first one (which a
	// hook calling Shutdown would deadlock on); wait on [Coordinator.Done].
	ErrAlreadyShuttingDown = errors.New("lifecycle: already shutting down")

	// ErrShuttingDown is returned by [Coordinator.Hook] once shutdown has
	// begun, and by [Coordinator.Acquire] once its propagation delay has
	// passed.
	ErrShuttingDown = errors.New("lifecycle: shutting down")

	// ErrShutdownTimeout is matched (errors.Is) by a [*TimeoutError]: some
	// child, hook, server or connection did not finish in the time it was
	// given and was abandoned.
	ErrShutdownTimeout = errors.New("lifecycle: shutdown timed out")

	// ErrTooManyRestarts is matched by an [*IntensityError]: a supervisor
	// needed more restarts in its period than Config.MaxRestarts allows and
	// gave up.
	ErrTooManyRestarts = errors.New("lifecycle: too many restarts")

	// ErrAlreadyStarted is returned by [Supervisor.Start] when it is called
	// a second time. A supervisor is started once; restarts build a new one.
	ErrAlreadyStarted = errors.New("lifecycle: already started")

	// ErrStopped is returned by [Supervisor.Start] when [Supervisor.Stop]
	// was called before or during it: a stopped supervisor starts nothing.
	ErrStopped = errors.New("lifecycle: supervisor stopped")
)

// ConfigError reports an invalid [Config], [Spec] or [ShutdownConfig] field.
type ConfigError struct {
	Field  string // the field's name, e.g. "MaxBackoff" or "Spec[2].Name"
	Reason string // why the value was refused
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("lifecycle: invalid config: %s %s", e.Field, e.Reason)
}

// ComponentError reports that one named component failed: a child that
// would not start or stopped with an error, a hook that failed or panicked,
// a server whose shutdown failed. Shutdown results join one per failure.
type ComponentError struct {
	Op   string // "start", "stop", "hook" or "server"
	Name string // the component's path, e.g. "app/db/pool" or "hook/flush"
	Err  error  // what went wrong
}

// Error implements error.
func (e *ComponentError) Error() string {
	return fmt.Sprintf("lifecycle: %s %s: %v", e.Op, e.Name, e.Err)
}

// Unwrap returns the component's own error.
func (e *ComponentError) Unwrap() error { return e.Err }

// Abandoned names one component that did not finish within its timeout.
// Its stop (or hook) call was left running in the background.
type Abandoned struct {
	Name  string        // the component's own name
	Path  string        // its place in the tree, e.g. "app/db/pool"
	Given time.Duration // how long it was given before it was abandoned
}

// TimeoutError is the report of a stop or shutdown that did not finish in
// time: what was abandoned and how many connection guards were still held.
// It matches [ErrShutdownTimeout] with errors.Is.
type TimeoutError struct {
	Abandoned []Abandoned // in the order they were abandoned
	Active    int         // connection guards still held when draining gave up
}

// Error implements error.
func (e *TimeoutError) Error() string {
	var b strings.Builder
	b.WriteString(ErrShutdownTimeout.Error())
	for i, a := range e.Abandoned {
		if i == 0 {
			b.WriteString(": abandoned ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (given %v)", a.Path, a.Given)
	}
	if e.Active > 0 {
		fmt.Fprintf(&b, "; %d connections still active", e.Active)
	}
	return b.String()
}

// Is reports whether target is [ErrShutdownTimeout].
func (e *TimeoutError) Is(target error) bool { return target == ErrShutdownTimeout }

// IntensityError is the failure of a supervisor that gave up because its
// children needed more than MaxRestarts restarts within Period. It is what
// [Supervisor.Err] returns then, and what the parent supervisor sees.
type IntensityError struct {
	Supervisor string        // the supervisor's path
	Child      string        // the path of the child whose exit was one too many
	Restarts   int           // restarts allowed within Period
	Period     time.Duration // the intensity window
	Last       error         // that child's exit error, nil for a clean exit
}

// Error implements error.
func (e *IntensityError) Error() string {
	return fmt.Sprintf("lifecycle: supervisor %s: too many restarts (more than %d in %v), last exit of %s: %v",
		e.Supervisor, e.Restarts, e.Period, e.Child, e.Last)
}

// Is reports whether target is [ErrTooManyRestarts].
func (e *IntensityError) Is(target error) bool { return target == ErrTooManyRestarts }

// Unwrap returns the last child's exit error, so errors.As can find, for
// example, the *actor.PanicError that caused it.
func (e *IntensityError) Unwrap() error { return e.Last }

// panicError turns a recovered panic value into an error, wrapping it when
// it is one.
func panicError(v any) error {
	if err, ok := v.(error); ok {
		return fmt.Errorf("panic: %w", err)
	}
	return fmt.Errorf("panic: %v", v)
}

// report collects the outcome of a stop: failures and abandoned components.
// It is owned by one goroutine at a time.
type report struct {
	failures  []error
	abandoned []Abandoned
	active    int
}

// absorb adds err, the result of stopping a component, to the report. A
// nested report (a *TimeoutError inside a joined error) is flattened so that
// paths stay full and the top level has one TimeoutError.
func (r *report) absorb(op, path string, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			r.absorb(op, path, e)
		}
		return
	}
	var te *TimeoutError
	var ce *ComponentError
	switch {
	case errors.As(err, &te):
		r.abandoned = append(r.abandoned, te.Abandoned...)
		r.active += te.Active
	case errors.As(err, &ce):
		r.failures = append(r.failures, err)
	default:
		r.failures = append(r.failures, &ComponentError{Op: op, Name: path, Err: err})
	}
}

// err returns the report as one error: every failure and, if anything was
// abandoned or left active, one *TimeoutError, joined; nil if clean.
func (r *report) err() error {
	errs := r.failures
	if len(r.abandoned) > 0 || r.active > 0 {
		te := &TimeoutError{Abandoned: r.abandoned, Active: r.active}
		errs = append(errs[:len(errs):len(errs)], te)
	}
	return errors.Join(errs...)
}
