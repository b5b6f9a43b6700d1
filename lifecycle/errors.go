package lifecycle

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/llm-research-lab/resilience"
)

// ComponentError reports that one named component failed: a component
// that would not start, stopped with an error or did not stop in time, a
// hook that failed, panicked or timed out, a server whose shutdown failed,
// connections still held when draining gave up. A stop or shutdown result
// joins one per failure. A part that ran out of time wraps a
// [*resilience.TimeoutError] whose Limit is the time it was given; its stop
// (or hook) call was left running in the background.
type ComponentError struct {
	Op   string // "start", "stop", "hook", "server" or "drain"
	Name string // the component's path, e.g. "app/db/pool" or "hook/flush"
	Err  error  // what went wrong
}

// Error implements error.
func (e *ComponentError) Error() string {
	return fmt.Sprintf("lifecycle: %s %s: %v", e.Op, e.Name, e.Err)
}

// Unwrap returns the component's own error.
func (e *ComponentError) Unwrap() error { return e.Err }

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

// Unwrap returns the last child's exit error, so errors.As can find, for
// example, the *resilience.PanicError that caused it.
func (e *IntensityError) Unwrap() error { return e.Last }

// panicError turns a recovered panic value into a *resilience.PanicError.
func panicError(v any) error {
	return &resilience.PanicError{Value: v, Stack: debug.Stack()}
}

// abandonedErr is the failure of a part that did not finish within given.
func abandonedErr(op, path string, given time.Duration) error {
	return &ComponentError{Op: op, Name: path, Err: &resilience.TimeoutError{Op: op + " " + path, Limit: given}}
}

// stillActive is the number of connections still held when draining gave up.
type stillActive int

func (n stillActive) Error() string { return fmt.Sprintf("%d connections still active", int(n)) }

// report collects the outcome of a stop: one error per failed component.
// It is owned by one goroutine at a time.
type report struct {
	failures []error
}

// absorb adds err, the result of stopping a component, to the report. A
// joined error is flattened and a *ComponentError kept as it is, so paths
// stay full and nested reports read as one list.
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
	var ce *ComponentError
	if errors.As(err, &ce) {
		r.failures = append(r.failures, err)
		return
	}
	r.failures = append(r.failures, &ComponentError{Op: op, Name: path, Err: err})
}

// add records err as it is.
func (r *report) add(err error) { r.failures = append(r.failures, err) }

// err returns the report as one error, nil if clean.
func (r *report) err() error { return errors.Join(r.failures...) }
