package hedge

import (
	"math"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
)

// Defaults and bounds of [Config].
const (
	defaultDelay = time.Second
	maxAttempts  = 11  // the most attempts a Config may ask for: 10 hedges
	window       = 128 // latencies a Quantile is taken over
	minSamples   = 20  // latencies needed before a Quantile applies
)

// Config configures a [Policy]. Zero fields mean the documented default,
// so the zero Config starts one hedge when the first attempt has run for
// 1s without an answer, or at once when it fails, and judges results with
// [resilience.Classify].
type Config struct {
	// Name names the policy in its events.
	Name string
	// Delay is how long the latest attempt runs before the next one
	// starts. With Quantile set, it is the delay used until the policy has
	// seen 20 first-attempt latencies. 0 means 1s; negative is rejected.
	// There is no "no delay": to race attempts from the start, give a
	// Delay of a nanosecond.
	Delay time.Duration
	// Quantile, when above 0, makes the delay the given quantile of the
	// latencies of the last 128 first attempts, say 0.95 to hedge the
	// slowest 5 % of calls: it follows the dependency as it speeds up or
	// slows down. First attempts that fail are not counted; one cancelled
	// because a hedge won counts with the time it ran. 0 means a fixed
	// Delay; it must be below 1.
	Quantile float64
	// MaxAttempts is the most attempts per call, the first included, as
	// in retry.Config: 2 is one hedge. 0 means 2; at most 11 (10 hedges).
	// 1, a hedge count of 0, is rejected, as is a negative count: a call
	// without hedges needs no hedge Policy (leave the Pipeline's Retry
	// slot empty or give it a retry policy).
	MaxAttempts int
	// Classify says what an attempt's result means. Success, Terminal
	// and Ignored end the call with that attempt's result: the others are
	// cancelled. Failure and Throttled let the running attempts go on and
	// start the next hedge at once, if any is left. nil means
	// [resilience.Classify]. It runs on the caller's goroutine and must be
	// safe for concurrent use.
	Classify func(error) resilience.Outcome
	// Budget, when set, is asked before every hedge (never before the
	// first attempt); a hedge it refuses is not started and the call goes
	// on with the attempts it has. It is told how every call ended. A
	// [*retry.Budget] shared with the dependency's retry policy bounds
	// the extra load of both. Default: no budget.
	Budget retry.Allowance
	// Events, when set, receives an [Event] for every hedge started. Sends
	// never block: when the channel is full the event is dropped and
	// counted (see [Policy.EventsDropped]).
	Events chan<- Event
}

// Event describes one hedge, as sent on Config.Events.
type Event struct {
	Name    string        // Config.Name
	Attempt int           // the attempt started, from 2
	Delay   time.Duration // the delay in force for the call
	// Err is the failure that started the hedge early, or nil when the
	// latest attempt ran for Delay without an answer.
	Err error
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Delay == 0 {
		c.Delay = defaultDelay
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 2
	}
	if c.Classify == nil {
		c.Classify = resilience.Classify
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.Delay < 0:
		return configError("Delay", "must not be negative")
	case math.IsNaN(c.Quantile) || c.Quantile < 0 || c.Quantile >= 1:
		return configError("Quantile", "must be 0 (a fixed Delay) or between 0 and 1, 1 excluded")
	case c.MaxAttempts < 0:
		return configError("MaxAttempts", "must not be negative (0 means 2: the first attempt and one hedge)")
	case c.MaxAttempts == 1:
		return configError("MaxAttempts", "must be at least 2: one attempt is no hedge (a call without hedges needs no hedge Policy)")
	case c.MaxAttempts > maxAttempts:
		return configError("MaxAttempts", "must be at most 11: the first attempt and 10 hedges")
	}
	return nil
}

func configError(field, reason string) error {
	return &resilience.ConfigError{Field: "hedge.Config." + field, Reason: reason}
}
