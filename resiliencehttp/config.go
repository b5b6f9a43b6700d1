package resiliencehttp

import (
	"net/http"
	"strconv"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/deadline"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
)

// Defaults used for the zero fields of [Config].
const (
	defaultMaxBodyBuffer = 1 << 20 // 1 MiB
	defaultMaxDrain      = 64 << 10
)

// Config configures a [Transport]. The zero Config is valid: requests go
// to http.DefaultTransport once, with the remaining budget of their
// context's deadline in the deadline.Header header.
type Config struct {
	// Base sends each attempt; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Pipeline holds the policies every request runs through, in the
	// Pipeline's order (Limiter → Timeout → Retry → Breaker → Bulkhead →
	// AttemptTimeout). It is copied by [New]: later changes to it have no
	// effect. nil means one attempt with no policy. Its Timeout and
	// AttemptTimeout bound the attempts but never the reading of the final
	// response's body beyond them; the request's own context is the
	// overall budget on top of both.
	Pipeline *resilience.Pipeline
	// PerHost, when set, replaces the Pipeline's Breaker slot with the
	// breaker of the request's key, so that one failing upstream does not
	// open the breaker of another. The family is the caller's to start
	// and stop.
	PerHost *breaker.Family[string]
	// Key names a request's upstream for PerHost and Budget. nil means
	// scheme://host:port, with the scheme's default port when the URL has
	// none.
	Key func(*http.Request) string
	// Budget, when set, returns the retry allowance of a key: one shared
	// [retry.Budget] for every upstream, or one per upstream. The
	// Transport asks it before every retry (a refused retry returns the
	// last response) and tells it how every request ended. It may return
	// nil for a key without a budget. It complements the Retry slot's own
	// retry.Config.Budget, which is shared by every request.
	Budget func(key string) retry.Allowance
	// Statuses overrides the meaning of the listed status codes. By
	// default 502, 503 and 504 are [resilience.Failure] (the breaker
	// counts them, retry tries again), other 5xx are [resilience.Terminal]
	// (counted, not retried), 429 is [resilience.Throttled] (not counted,
	// retried after its Retry-After) and every other status is
	// [resilience.Success].
	Statuses map[int]resilience.Outcome
	// Classify, when set, decides the outcome of every response, given
	// the outcome its status has by default and by Statuses (return def
	// to keep it). It must be safe for concurrent use and must not read
	// the body.
	Classify func(resp *http.Response, def resilience.Outcome) resilience.Outcome
	// Hedge, when set, hedges the idempotent requests (by method or
	// Idempotency-Key) whose body can be sent again: it takes the
	// Pipeline's Retry slot for them, so that when an attempt is slow to
	// answer (after a fixed delay or a latency quantile the policy
	// tracks) or fails, another starts alongside it, up to its MaxAttempts in all;
	// the first acceptable response wins, and the others are cancelled,
	// their bodies drained and closed. Each attempt passes the breaker,
	// the bulkhead and the attempt timeout on its own. Other requests use
	// the Retry slot as usual. Config.Budget does not apply to hedges:
	// give the hedge policy a Budget of its own. A hedge policy put in
	// the Pipeline's Retry slot instead counts as Hedge: requests that may
	// not be hedged are then sent once.
	Hedge *hedge.Policy
	// RetryAllMethods, if true, lets POST, PATCH and other methods that
	// are not idempotent be retried without an Idempotency-Key header.
	// By default only GET, HEAD, OPTIONS, TRACE, PUT and DELETE, and
	// requests with that header, are retried.
	RetryAllMethods bool
	// MaxBodyBuffer is how much of a request body without GetBody is kept
	// to send again on a retry. A larger body is sent once, not retried.
	// 0 means 1 MiB; negative means never buffer.
	MaxBodyBuffer int64
	// MaxDrain bounds how much of a failed response's body is read so
	// that its connection can be reused. A failed response of a request
	// that may be retried is read into memory at once when it is no longer
	// than this, and closed, so its connection is free while the retry
	// waits; a longer one is read up to this much more and closed before
	// the next attempt (closing the connection if the body goes on). 0
	// means 64 KiB; negative means never read, just close.
	MaxDrain int64
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Base == nil {
		c.Base = http.DefaultTransport
	}
	if c.Key == nil {
		c.Key = hostKey
	}
	if c.MaxBodyBuffer == 0 {
		c.MaxBodyBuffer = defaultMaxBodyBuffer
	}
	if c.MaxDrain == 0 {
		c.MaxDrain = defaultMaxDrain
	}
	for code, o := range c.Statuses {
		switch {
		case code < 100 || code > 999:
			return c, configError("Statuses", "has the status code "+strconv.Itoa(code)+", outside 100..999")
		case o > resilience.Ignored:
			return c, configError("Statuses", "maps "+strconv.Itoa(code)+" to an unknown outcome")
		}
	}
	if p := c.Pipeline; p != nil {
		if h, ok := p.Retry.(*hedge.Policy); ok {
			if c.Hedge != nil && c.Hedge != h {
				return c, configError("Pipeline.Retry", "is a hedge policy and Hedge is another; give one")
			}
			c.Hedge = h // hedged requests take it; the others are sent once
		}
		switch {
		case p.Timeout < 0:
			return c, configError("Pipeline.Timeout", "must not be negative")
		case p.AttemptTimeout < 0:
			return c, configError("Pipeline.AttemptTimeout", "must not be negative")
		}
	}
	return c, nil
}

func configError(field, reason string) error {
	return &resilience.ConfigError{Field: "resiliencehttp.Config." + field, Reason: reason}
}

// hostKey is the default Config.Key: scheme://host:port.
func hostKey(r *http.Request) string {
	u := r.URL
	if u.Port() != "" {
		return u.Scheme + "://" + u.Host
	}
	switch u.Scheme {
	case "https":
		return "https://" + u.Host + ":443"
	case "http":
		return "http://" + u.Host + ":80"
	}
	return u.Scheme + "://" + u.Host
}

// wrapBase puts the deadline header writer in front of base.
func wrapBase(base http.RoundTripper) http.RoundTripper {
	return &deadline.Transport{Base: base}
}
