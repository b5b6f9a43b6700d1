package resilience

import (
	"context"
	"errors"
	"time"
)

// Outcome is what a result means to the policies: whether a breaker counts
// it and whether a retry tries again. One classifier, of type
// func(error) Outcome, serves every policy; [Classify] is the default.
type Outcome uint8

// The outcomes.
const (
	// Success: the call worked. A breaker counts a success; retry stops.
	Success Outcome = iota
	// Failure: the dependency failed. A breaker counts a failure; retry
	// tries again.
	Failure
	// Terminal: the call failed in a way another attempt cannot fix (bad
	// input, a [Permanent] error). A breaker counts a failure; retry stops
	// at once.
	Terminal
	// Throttled: the dependency, or a policy in front of it, asked the
	// caller to back off (a refusal, an HTTP 429, a [RetryAfter] error). A
	// breaker does not count it; retry tries again after the requested
	// wait.
	Throttled
	// Ignored: the call says nothing about the dependency (the caller
	// cancelled it, or a component on the way has stopped). A breaker does
	// not count it; retry stops.
	Ignored
)

var outcomeNames = [...]string{"success", "failure", "terminal", "throttled", "ignored"}

// String returns the outcome's lowercase name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(?)"
}

// Classify is the default classifier:
//   - nil is [Success];
//   - an error with an Outcome() Outcome method anywhere in its chain
//     classifies itself;
//   - a [Permanent] error is [Terminal];
//   - a [RetryAfter] error or a refusal ([ErrRejected]) is [Throttled];
//   - context.Canceled and [ErrStopped] are [Ignored];
//   - anything else, a [TimeoutError] and context.DeadlineExceeded
//     included, is [Failure].
func Classify(err error) Outcome {
	if err == nil {
		return Success
	}
	if o, ok := selfClassified(err); ok {
		return o
	}
	switch {
	case errors.Is(err, ErrTimeout):
		return Failure // even when the late error it wraps is a cancellation
	case errors.Is(err, ErrStopped), errors.Is(err, context.Canceled):
		return Ignored
	case errors.Is(err, ErrRejected):
		return Throttled
	}
	return Failure
}

// selfClassified returns the outcome of the first error in err's chain
// with an Outcome() Outcome method. It walks the chain as errors.As does
// (Unwrap() error and Unwrap() []error, depth first) but without
// allocating, so classifying a failure on a hot path costs no garbage.
func selfClassified(err error) (Outcome, bool) {
	for err != nil {
		if s, ok := err.(interface{ Outcome() Outcome }); ok {
			return s.Outcome(), true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if o, ok := selfClassified(e); ok {
					return o, true
				}
			}
			return 0, false
		default:
			return 0, false
		}
	}
	return 0, false
}

// Permanent marks err as [Terminal]: retry stops at once and returns it.
// errors.Is and errors.As see err through the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// RetryAfter marks err as [Throttled] with a server-directed wait: a
// breaker does not count it, and a retry policy waits d (clamped to its
// maximum delay) before the next attempt. errors.Is and errors.As see err
// through the mark. RetryAfter(nil, d) is nil; a negative d counts as 0.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &waitHint{err: err, wait: max(0, d)}
}

type permanent struct{ err error }

func (p *permanent) Error() string    { return p.err.Error() }
func (p *permanent) Unwrap() error    { return p.err }
func (p *permanent) Outcome() Outcome { return Terminal }

type waitHint struct {
	err  error
	wait time.Duration
}

func (h *waitHint) Error() string             { return h.err.Error() }
func (h *waitHint) Unwrap() error             { return h.err }
func (h *waitHint) RetryAfter() time.Duration { return h.wait }
func (h *waitHint) Outcome() Outcome          { return Throttled }
