package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Defaults used for the zero fields of [Config].
const (
	// DefaultMaxAttempts is the default Config.MaxAttempts.
	DefaultMaxAttempts = 5
	// DefaultInitialDelay is the default Config.InitialDelay.
	DefaultInitialDelay = 100 * time.Millisecond
	// DefaultMaxDelay is the default Config.MaxDelay.
	DefaultMaxDelay = 30 * time.Second
	// DefaultMultiplier is the default Config.Multiplier.
	DefaultMultiplier = 2.0
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
	}
	return fmt.Sprintf("Jitter(%d)", int(j))
}

// Config configures a [Retrier]. Zero fields mean the documented default,
// so the zero Config is: 5 attempts, exponential backoff from 100ms doubling
// up to 30s, full jitter, every error retried, no budget. There is no hidden
// limit on total elapsed time: bound it with the context's deadline.
type Config struct {
	// MaxAttempts is the total number of attempts, the first included.
	// Default 5; negative is rejected; math.MaxInt means "until stopped
	// by something else".
	MaxAttempts int
	// InitialDelay is the first backoff delay, exactly (before jitter),
	// whatever its size. Default 100ms: zero means the default, not "no
	// delay" (see NoDelay). Negative is rejected.
	InitialDelay time.Duration
	// NoDelay makes the backoff delay zero: retries follow one another at
	// once, with every Backoff and Jitter. Server-directed delays (a
	// [Hint]) are still honoured, up to MaxDelay. Setting InitialDelay too
	// is rejected.
	NoDelay bool
	// MaxDelay caps every wait, including server-directed ones. Default
	// 30s; negative or less than InitialDelay is rejected.
	MaxDelay time.Duration
	// Multiplier is the growth factor of Exponential backoff. Default 2;
	// NaN, ±Inf and values below 1 are rejected.
	Multiplier float64
	// Backoff is the delay growth. Default Exponential.
	Backoff Backoff
	// Jitter is the randomisation. Default FullJitter; use NoJitter for
	// exact delays.
	Jitter Jitter
	// Policy, when set, replaces Backoff and Jitter. Its delays are still
	// clamped to [0, MaxDelay] and MaxAttempts still applies.
	Policy Policy
	// RetryIf classifies errors: false stops the loop (cause
	// CausePermanent, or CauseOpen for an error with a RetryAfter hint).
	// Default: every error is retried. Errors wrapped by [Permanent] stop
	// without asking it. It must be safe for concurrent use.
	RetryIf func(error) bool
	// Budget, when set, is spent by every retry and refilled by every
	// success; share one Budget between Retriers calling the same
	// dependency. Default: no budget.
	Budget *Budget
	// OnRetry, when set, is called before every wait with the failed
	// attempt, its error and the wait. It runs on the goroutine running
	// the loop ([Retrier.Do]'s caller, or a [Scheduler]'s actor) and must
	// not block.
	OnRetry func(Event)
	// Rand is the random source for jitter. Default: the runtime's
	// goroutine-safe source. A Source given here must be safe for
	// concurrent use if the Retrier is; it is meant for tests.
	Rand rand.Source
}

// Event describes one retry, as passed to Config.OnRetry.
type Event struct {
	Attempt int           // the attempt that failed, from 1
	Err     error         // its error
	Delay   time.Duration // the wait before the next attempt
}

// ConfigError reports an invalid [Config] field.
type ConfigError struct {
	Field  string // the field's name, e.g. "Multiplier"
	Reason string // why the value was refused
}

// Error implements error.
func (e *ConfigError) Error() string {
	return "retry: invalid config: " + e.Field + " " + e.Reason
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.InitialDelay == 0 && !c.NoDelay {
		c.InitialDelay = DefaultInitialDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = max(DefaultMaxDelay, c.InitialDelay)
	}
	if c.Multiplier == 0 {
		c.Multiplier = DefaultMultiplier
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.MaxAttempts < 0:
		return &ConfigError{"MaxAttempts", "must not be negative"}
	case c.InitialDelay < 0:
		return &ConfigError{"InitialDelay", "must not be negative"}
	case c.NoDelay && c.InitialDelay != 0:
		return &ConfigError{"InitialDelay", "must be zero with NoDelay"}
	case c.MaxDelay < 0:
		return &ConfigError{"MaxDelay", "must not be negative"}
	case c.MaxDelay < c.InitialDelay:
		return &ConfigError{"MaxDelay", "must not be less than InitialDelay"}
	case math.IsNaN(c.Multiplier) || math.IsInf(c.Multiplier, 0):
		return &ConfigError{"Multiplier", "must be a finite number"}
	case c.Multiplier < 1:
		return &ConfigError{"Multiplier", "must be at least 1"}
	case c.Backoff < Exponential || c.Backoff > Linear:
		return &ConfigError{"Backoff", "is not a known kind"}
	case c.Jitter < FullJitter || c.Jitter > DecorrelatedJitter:
		return &ConfigError{"Jitter", "is not a known strategy"}
	}
	return nil
}
