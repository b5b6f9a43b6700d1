package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Defaults used for the zero fields of [Config].
const (
	defaultMaxAttempts  = 5
	defaultInitialDelay = 100 * time.Millisecond
	defaultMaxDelay     = 30 * time.Second
	defaultMultiplier   = 2.0
	defaultJitterFactor = 0.5
)

// Backoff is how the delay grows from one retry to the next. The zero value
// is [Exponential].
type Backoff int

// The backoff kinds. With n the number of the attempt that just failed
// (1 for the first), the delay before the next attempt is, before jitter
// and capped at MaxDelay:
const (
	Exponential Backoff = iota // InitialDelay × Multiplier^(n-1)
	Constant                   // InitialDelay
	Linear                     // InitialDelay × n
	Immediate                  // 0: retry at once (a server-directed wait is still honoured)
)

// String returns the backoff's lowercase name.
func (b Backoff) String() string {
	switch b {
	case Exponential:
		return "exponential"
	case Constant:
		return "constant"
	case Linear:
		return "linear"
	case Immediate:
		return "immediate"
	}
	return fmt.Sprintf("Backoff(%d)", int(b))
}

// Jitter is how a delay is randomised so that many clients that failed
// together do not retry together. The zero value is [FullJitter], the
// default: it spreads retries the most and does the least total work
// (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015).
type Jitter int

// The jitter strategies. d is the backoff delay, prev the previous wait
// (InitialDelay before the first retry), U(a,b) uniform on [a,b].
const (
	FullJitter         Jitter = iota // U(0, d)
	NoJitter                         // d
	EqualJitter                      // d/2 + U(0, d/2): at least half the delay
	DecorrelatedJitter               // min(MaxDelay, U(InitialDelay, 3·prev)); ignores Backoff
	ProportionalJitter               // U(d·(1−f), d·(1+f)) capped at MaxDelay, f = Config.JitterFactor
)

// String returns the jitter's lowercase name.
func (j Jitter) String() string {
	switch j {
	case FullJitter:
		return "full"
	case NoJitter:
		return "none"
	case EqualJitter:
		return "equal"
	case DecorrelatedJitter:
		return "decorrelated"
	case ProportionalJitter:
		return "proportional"
	}
	return fmt.Sprintf("Jitter(%d)", int(j))
}

// Config configures a [Policy]. Zero fields mean the documented default,
// so the zero Config is: 5 attempts, exponential backoff from 100ms doubling
// up to 30s, full jitter, errors classified by [resilience.Classify], no
// budget, no limit on the total time (set MaxElapsed, or bound it with the
// context's deadline).
type Config struct {
	// MaxAttempts is the total number of attempts, the first included.
	// 0 means 5; negative is rejected; math.MaxInt means "until stopped
	// by something else".
	MaxAttempts int
	// InitialDelay is the first backoff delay, exactly (before jitter),
	// whatever its size. 0 means 100ms (for no delay at all, set Backoff
	// to [Immediate]). Negative is rejected.
	InitialDelay time.Duration
	// MaxDelay caps every wait: backoff, Delay's, and server-directed ones.
	// 0 means 30s (or InitialDelay if larger); negative or less than
	// InitialDelay is rejected.
	MaxDelay time.Duration
	// Multiplier is the growth factor of Exponential backoff. 0 means 2;
	// NaN, ±Inf and values below 1 are rejected.
	Multiplier float64
	// Backoff is the delay growth. Default Exponential.
	Backoff Backoff
	// Jitter is the randomisation. Default FullJitter; use NoJitter for
	// exact delays.
	Jitter Jitter
	// JitterFactor is f of [ProportionalJitter]: each delay d becomes
	// uniform in [d·(1−f), d·(1+f)], capped at MaxDelay, as
	// cenkalti/backoff's RandomizationFactor does. 0 means 0.5; it must be
	// in [0, 1] and is refused with any other Jitter.
	JitterFactor float64
	// Delay, when set, replaces Backoff and Jitter: it returns the wait
	// after the given attempt (from 1) failed with err, given the previous
	// wait (0 before the first retry). err is what the attempt returned,
	// so a result judged bad and returned as an error (an HTTP 503, say)
	// can set the wait. Its result is clamped to [0, MaxDelay], so it
	// cannot make the loop sleep forever. A positive hint on err (see
	// Classify) takes precedence over it. It runs on the goroutine running
	// the loop and must be safe for concurrent use.
	Delay func(attempt int, err error, prev time.Duration) time.Duration
	// MaxElapsed, when set, bounds the time from the start of the first
	// attempt: a wait that would end past it is not started, and the loop
	// stops with a Reason matching [resilience.ErrExhausted]. 0 means no
	// limit (there is no hidden one); negative is rejected.
	MaxElapsed time.Duration
	// AttemptsFor, when set, gives the attempt limit for a call whose
	// latest attempt failed with err, in place of MaxAttempts: say 2 for a
	// refused connection and 8 for a 503. A result of 0 or less means
	// MaxAttempts. The loop stops, with [resilience.ErrExhausted], once the
	// number of attempts made reaches the limit of the latest error. It
	// runs on the goroutine running the loop and must be safe for
	// concurrent use.
	AttemptsFor func(err error) int
	// Classify says what an attempt's error means: Failure and Throttled
	// retry, Terminal, Ignored and Success stop the loop. nil means
	// [resilience.Classify]. It must be safe for concurrent use.
	//
	// The wait before a retry is the error's hint when it has a positive
	// one (the first error in the chain with a RetryAfter() time.Duration
	// method, such as a breaker's [*resilience.RejectedError] or
	// [resilience.RetryAfter]), clamped to MaxDelay; otherwise the backoff
	// delay.
	Classify func(error) resilience.Outcome
	// Budget, when set, is asked before every retry and told how every
	// call ended: a [*Budget] (a token bucket, shared between the Policies
	// calling the same dependency) or any other [Allowance], such as one
	// shared by a fleet of processes. Default: no budget.
	Budget Allowance
	// Events, when set, receives an [Event] before every wait. Sends never
	// block: when the channel is full the event is dropped and counted
	// (see [Policy.EventsDropped]).
	Events chan<- Event
	// Rand is the random source for jitter. Default: the runtime's
	// goroutine-safe source. A Source given here must be safe for
	// concurrent use if the Policy is; it is meant for tests.
	Rand rand.Source
}

// Event describes one retry, as sent on Config.Events.
type Event struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // its error
	Delay   time.Duration // the wait before the next attempt
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.InitialDelay == 0 {
		c.InitialDelay = defaultInitialDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = max(defaultMaxDelay, c.InitialDelay)
	}
	if c.Multiplier == 0 {
		c.Multiplier = defaultMultiplier
	}
	if c.Classify == nil {
		c.Classify = resilience.Classify
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	if c.Jitter == ProportionalJitter && c.JitterFactor == 0 {
		c.JitterFactor = defaultJitterFactor
	}
	return c, nil
}

func (c Config) validate() error {
	switch {
	case c.MaxAttempts < 0:
		return configError("MaxAttempts", "must not be negative")
	case c.InitialDelay < 0:
		return configError("InitialDelay", "must not be negative")
	case c.MaxDelay < 0:
		return configError("MaxDelay", "must not be negative")
	case c.MaxDelay < c.InitialDelay:
		return configError("MaxDelay", "must not be less than InitialDelay")
	case math.IsNaN(c.Multiplier) || math.IsInf(c.Multiplier, 0):
		return configError("Multiplier", "must be a finite number")
	case c.Multiplier < 1:
		return configError("Multiplier", "must be at least 1")
	case c.Backoff < Exponential || c.Backoff > Immediate:
		return configError("Backoff", "is not a known kind")
	case c.Jitter < FullJitter || c.Jitter > ProportionalJitter:
		return configError("Jitter", "is not a known strategy")
	case !(c.JitterFactor >= 0 && c.JitterFactor <= 1):
		return configError("JitterFactor", "must be in [0, 1]")
	case c.JitterFactor != 0 && c.Jitter != ProportionalJitter:
		return configError("JitterFactor", "is only used with ProportionalJitter")
	case c.MaxElapsed < 0:
		return configError("MaxElapsed", "must not be negative")
	}
	return nil
}

func configError(field, reason string) error {
	return &resilience.ConfigError{Field: "retry.Config." + field, Reason: reason}
}
