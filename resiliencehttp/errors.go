package resiliencehttp

import "github.com/llm-research-lab/resilience"

// onceError is the error of a request that was sent once only, though its
// failure was worth another attempt; it says why.
type onceError struct {
	err error
	why string
}

func (e *onceError) Error() string { return e.err.Error() + " (not retried: " + e.why + ")" }
func (e *onceError) Unwrap() error { return e.err }

// notSent ends the attempts without sending one more; the breaker does
// not count it and retry stops.
type notSent struct {
	reason string
	err    error // the last attempt's error or the cause, if any
}

func (e *notSent) Error() string {
	if e.err == nil {
		return "resiliencehttp: " + e.reason
	}
	return "resiliencehttp: " + e.reason + ": " + e.err.Error()
}
func (e *notSent) Unwrap() error               { return e.err }
func (e *notSent) Outcome() resilience.Outcome { return resilience.Ignored }
