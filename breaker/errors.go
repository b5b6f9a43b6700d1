package breaker

import (
	"errors"
	"time"

	"github.com/llm-research-lab/resilience"
)

// probeMargin is added to the Until of an open breaker's refusal. The
// breaker's actor lets probes through when its open timer fires; a caller
// that slept exactly until then could wake first, find the breaker still
// open with nothing left to wait, and spend its retries at once. The
// margin orders the two.
const probeMargin = time.Millisecond

var (
	// errProbesBusy is the machine's answer to a half-open admission when
	// every probe slot is taken; callers get the half-open refusal.
	errProbesBusy = errors.New("breaker: half-open, probes in flight")

	// errEvicted is the stop error of a family breaker evicted as idle: a
	// call on it goes on with the key's current breaker.
	errEvicted = errors.New("breaker: evicted")
)

// refusal returns the refusal a breaker named name gives for reason.
func refusal(name string, reason error, until time.Time) *resilience.RejectedError {
	return &resilience.RejectedError{Name: name, Reason: reason, Until: until}
}

// stoppedRefusal is the refusal of a stopped breaker, saying why its actor
// died when it did.
func stoppedRefusal(name string, cause error) *resilience.RejectedError {
	if cause == nil {
		return refusal(name, resilience.ErrStopped, time.Time{})
	}
	return refusal(name, &stoppedBy{cause: cause}, time.Time{})
}

// stoppedBy is the Reason of the refusals of a breaker whose actor failed:
// it matches [resilience.ErrStopped] and unwraps to the failure alone, so
// the error chain stays single.
type stoppedBy struct{ cause error }

func (e *stoppedBy) Error() string        { return resilience.ErrStopped.Error() + ": " + e.cause.Error() }
func (e *stoppedBy) Is(target error) bool { return target == resilience.ErrStopped }
func (e *stoppedBy) Unwrap() error        { return e.cause }

// fieldErr reports an invalid Config field.
func fieldErr(field, reason string) error {
	return &resilience.ConfigError{Field: "breaker.Config." + field, Reason: reason}
}
