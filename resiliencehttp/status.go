package resiliencehttp

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/llm-research-lab/resilience"
)

// StatusError is how the policies see a response whose status is not a
// success: a breaker counts it or not, and a retry tries again or not,
// by its [StatusError.Outcome], with no configuration. The caller never
// receives it from [Transport.RoundTrip], which returns the response
// itself, as an http.RoundTripper must; it shows up in the policies'
// events and in a classifier given to them.
type StatusError struct {
	// Method and URL name the request.
	Method string
	URL    *url.URL
	// StatusCode is the response's status code.
	StatusCode int
	// Wait is the response's Retry-After, parsed and clamped to
	// [0, 24h]; 0 when the header was absent or malformed.
	Wait time.Duration

	outcome resilience.Outcome
}

// Error describes the response, e.g. "GET http://api:8080/x: 503 Service
// Unavailable".
func (e *StatusError) Error() string {
	return e.Method + " " + e.URL.Redacted() + ": " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// Outcome returns what the status means to the policies (see
// Config.Classify); [resilience.Classify] reads it.
func (e *StatusError) Outcome() resilience.Outcome { return e.outcome }

// RetryAfter returns the server's requested wait, which a retry policy
// waits (clamped to its own maximum) before the next attempt.
func (e *StatusError) RetryAfter() time.Duration { return e.Wait }

// statusOutcome is the default meaning of a status code: 502, 503 and 504
// are failures worth another attempt; other 5xx are failures another
// attempt will not fix; 429 asks the caller to slow down; everything else
// says the upstream works (a 404 is an answer, not an outage).
func statusOutcome(code int) resilience.Outcome {
	switch {
	case code == http.StatusTooManyRequests:
		return resilience.Throttled
	case code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return resilience.Failure
	case code >= 500:
		return resilience.Terminal
	}
	return resilience.Success
}

// idempotent reports whether a request may be sent again: its method is
// idempotent (RFC 9110 §9.2.2) or it carries an Idempotency-Key.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Header.Get("Idempotency-Key") != ""
}
