package breaker

import (
	"errors"
	"time"
)

var (
	// ErrOpen is matched (with errors.Is) by the error a call gets while the
	// breaker is open. That error is an [*OpenError], which also says how
	// long until the next probe.
	ErrOpen = errors.New("breaker: open")

	// ErrRejected is returned while the breaker is half-open and its
	// HalfOpenMaxRequests probes are already in flight.
	ErrRejected = errors.New("breaker: half-open, probes in flight")

	// ErrStopped is returned by calls made after [Breaker.Stop].
	ErrStopped = errors.New("breaker: stopped")
)

// OpenError is the error a call gets while the breaker is open. It matches
// [ErrOpen] and carries the time of the next probe. The breaker builds one
// per opening and returns the same value to every rejected call, so a
// rejection does not allocate; treat it as read-only.
type OpenError struct {
	// Name is the breaker's Config.Name.
	Name string
	// Until is when the breaker lets probes through; the zero time for a
	// breaker held open by [Breaker.ForceOpen].
	Until time.Time
}

// Error implements error.
func (e *OpenError) Error() string { return "breaker: " + e.Name + " is open" }

// Is reports whether target is [ErrOpen].
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// ProbeMargin is added to [OpenError.RetryAfter]. The breaker's actor lets
// probes through when its open timer fires; a caller that slept exactly
// until then could wake first, find the breaker still open with nothing
// left to wait, and spend its retries at once. The margin orders the two.
const ProbeMargin = time.Millisecond

// RetryAfter returns how long until the breaker lets probes through, plus
// [ProbeMargin]; zero when it is held open by [Breaker.ForceOpen] (no probe
// is scheduled). A retry loop can honour it through a one-method interface
// without importing this package. It reads the clock; the rejection itself
// does not.
func (e *OpenError) RetryAfter() time.Duration {
	if e.Until.IsZero() {
		return 0
	}
	return max(0, time.Until(e.Until)) + ProbeMargin
}
