package resilience

import (
	"context"
	"errors"
)

// DoOr is [Do] with a fallback: it calls fn through p and, when the call
// fails, returns what fallback makes of the failure instead. fallback is
// called once, on the caller's goroutine, only when the call returned a
// non-nil error; it receives the call's value and error, so it can choose
// by either: by error (errors.Is(err, ErrOpen): the breaker refused;
// errors.Is(err, ErrTimeout); any predicate) or by result (the stale body
// of a 503 that fn returned together with its error). It returns the
// call's answer:
//
//   - a value and a nil error: DoOr returns them; the failure is gone.
//     To learn that the fallback ran, let it say so (set a variable, count
//     a metric).
//   - v and err as given, to decline: DoOr returns the call's own result,
//     unchanged. An error that wraps err is returned unchanged too.
//   - another error: DoOr returns an error whose message is the fallback's
//     followed by the call's, whose Unwrap is the call's error, and which
//     errors.Is and errors.As also match against the fallback's error, so
//     both stay reachable.
//
// fallback receives ctx, which may be done (the caller's deadline may be
// what failed the call): one that does I/O should check it. The value
// passed to fallback is its to keep or return; DoOr releases nothing. A
// panic in fn is re-raised as by Do, without calling fallback. A nil fn
// or fallback is a [*ConfigError], and fn is not called.
func DoOr[T any](ctx context.Context, p Policy, fn func(context.Context) (T, error), fallback func(ctx context.Context, v T, err error) (T, error)) (T, error) {
	if fallback == nil {
		var zero T
		return zero, errNilFallback
	}
	v, err := Do(ctx, p, fn)
	if err == nil || fn == nil {
		return v, err
	}
	fv, ferr := fallback(ctx, v, err)
	if ferr == nil || errors.Is(ferr, err) {
		return fv, ferr
	}
	return fv, &fallbackError{err: ferr, cause: err}
}

var errNilFallback = &ConfigError{Field: "fallback", Reason: "must not be nil"}

// fallbackError is the error of a call whose fallback failed too: err is
// the fallback's, cause the call's.
type fallbackError struct{ err, cause error }

func (e *fallbackError) Error() string {
	return e.err.Error() + " (fallback after: " + e.cause.Error() + ")"
}

// Unwrap returns the call's error: the one chain leads to the cause.
func (e *fallbackError) Unwrap() error { return e.cause }

// Is matches the fallback's error; errors.Is then goes on to the cause.
func (e *fallbackError) Is(target error) bool { return errors.Is(e.err, target) }

// As matches the fallback's error; errors.As then goes on to the cause.
func (e *fallbackError) As(target any) bool { return errors.As(e.err, target) }
