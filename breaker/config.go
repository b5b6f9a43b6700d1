package breaker

import (
	"math/bits"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Defaults applied to zero [Config] fields.
const (
	defaultFailureThreshold    = 5
	defaultSuccessThreshold    = 2
	defaultOpenTimeout         = 60 * time.Second
	defaultHalfOpenMaxRequests = 3
	defaultWindowSize          = 100
	defaultMinimumCalls        = 10
	defaultMailbox             = 64
)

// windowBuckets is the number of buckets a time-based window is split into;
// the window slides one bucket (WindowDuration/windowBuckets) at a time.
const windowBuckets = 10

// Config configures [New]. Every zero field means the documented default,
// so the zero Config is the classic breaker: 5 consecutive failures open it,
// after 60s it lets 3 concurrent probes through, and 2 consecutive probe
// successes close it.
type Config struct {
	// Name identifies the breaker in events, refusals and its actor's
	// reports. Default "breaker".
	Name string

	// FailureThreshold is the number of consecutive failures that opens a
	// closed breaker (failures within FailurePeriod, when that is set).
	// Default 5; when FailureRate or ReadyToTrip is set, zero disables
	// this rule instead.
	FailureThreshold int
	// FailurePeriod, if set, makes FailureThreshold count the failures of
	// the last FailurePeriod, successes in between or not: 3 failures
	// within 10s open the breaker. Zero means consecutive failures. It
	// requires a FailureThreshold, of at most 65536.
	FailurePeriod time.Duration
	// ReadyToTrip, if set, is a trip rule of your own: after each failure
	// in the closed state the breaker's actor calls it with the counts of
	// the current generation, and opens the breaker if it returns true
	// (reason "trip rule"). It adds to the other rules: set
	// FailureThreshold too to keep the consecutive one. It runs on the
	// actor's goroutine, one call at a time per breaker, holding no lock a
	// caller needs, so it must not block: State and Metrics are safe to
	// call from it, but not Run, Allow or the Force and Reset methods,
	// which may wait for the actor running it. The breakers of a [Family]
	// share it, so it must be safe for concurrent use unless it reads only
	// its argument. A panic in it does not trip the breaker: it is raised
	// again, as a [*resilience.PanicError], in the goroutine of the caller
	// whose failure asked for it, if that caller is still waiting. Default
	// none.
	ReadyToTrip func(Counts) bool

	// SuccessThreshold is the number of consecutive probe successes that
	// closes a half-open breaker; with HalfOpenSuccessRatio, the number of
	// probe results the ratio is judged on. Default 2.
	SuccessThreshold int
	// HalfOpenSuccessRatio, in (0, 1], judges the half-open probes as a
	// whole: once SuccessThreshold probes have finished, the breaker closes
	// if at least this fraction of them succeeded and opens again
	// otherwise. Zero means off: SuccessThreshold successes in a row close
	// it.
	HalfOpenSuccessRatio float64
	// HalfOpenFailureThreshold is the number of probe failures that opens
	// a half-open breaker again. Default 1 (any probe failure); with
	// HalfOpenSuccessRatio, zero means none (the ratio decides).
	HalfOpenFailureThreshold int
	// OpenTimeout is how long the breaker stays open before it lets probes
	// through. Default 60s.
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is the number of probes that may be in flight at
	// once in half-open; further calls are refused like an open breaker's
	// calls ([resilience.ErrOpen]). It is independent
	// of SuccessThreshold. Default 3.
	HalfOpenMaxRequests int

	// FailureRate, in (0, 1], turns on failure-rate tripping: the breaker
	// opens when at least this fraction of the calls in the sliding window
	// failed, once the window holds MinimumCalls calls. Zero means off.
	FailureRate float64
	// WindowSize is the length of a count-based window: the last WindowSize
	// calls. Used when FailureRate is set and WindowDuration is zero.
	// Default 100.
	WindowSize int
	// WindowDuration, if set, makes the window time-based instead: the calls
	// of the last WindowDuration (plus at most a tenth of it), sliding in
	// tenths of it. It costs no timer while the breaker is idle.
	WindowDuration time.Duration
	// MinimumCalls is the number of calls the window must hold before its
	// rate can open the breaker. Default 10 (capped at WindowSize for a
	// count-based window); it must not exceed WindowSize.
	MinimumCalls int

	// SlowCallDuration, if set, counts calls that take longer as slow (see
	// [Metrics].SlowCalls). It costs two clock reads per call. Zero means off.
	SlowCallDuration time.Duration
	// SlowCallIsFailure makes a slow successful call count as a failure.
	// It requires SlowCallDuration.
	SlowCallIsFailure bool

	// OpenBackoff multiplies the open timeout each time a probe fails and
	// the breaker reopens; the growth resets when the breaker closes. Zero
	// or 1 means no growth; otherwise it must be at least 1.
	OpenBackoff float64
	// MaxOpenTimeout caps the grown open timeout. Default 10 × OpenTimeout
	// when OpenBackoff is set; it must not be below OpenTimeout.
	MaxOpenTimeout time.Duration
	// OpenJitter, in [0, 1), shortens each open timeout by a random fraction
	// of up to OpenJitter, so breakers that opened together do not probe
	// together. Zero means none.
	OpenJitter float64

	// Classify decides what a call's non-nil error means: a
	// [resilience.Success] counts as a success, a [resilience.Failure] or
	// [resilience.Terminal] as a failure; a [resilience.Throttled] or
	// [resilience.Ignored] call is not counted either way (a half-open
	// probe that ends so gives its slot back without deciding). A panic
	// always counts as a failure. It runs on the caller's goroutine and
	// must be safe for concurrent use. Default [resilience.Classify].
	Classify func(error) resilience.Outcome

	// Events, if set, receives every state change. The breaker never
	// waits for it: when the channel is full the event is dropped and
	// counted in [Metrics].EventsDropped, so a slow consumer, or one that
	// calls back into the breaker, cannot stall it. One channel may serve
	// many breakers (every breaker of a [Family] shares its Config's);
	// [Event].Name tells them apart. The breaker never closes it.
	Events chan<- Event

	// Mailbox is the capacity of the breaker actor's mailbox. Default 64.
	Mailbox int
	// everyFailure, set by withDefaults, makes every closed-state failure
	// ask the actor to look (a rate window, a failure period or a trip
	// rule), not only the one that completes a streak.
	everyFailure bool

	// Shards is the number of slots the lifetime counters are kept in,
	// rounded up to a power of two, at most 256; each costs 64 bytes.
	// Each call adds atomically to the slot picked by its goroutine, so
	// concurrent callers rarely write the same cache line. Default
	// 4 × GOMAXPROCS at New, at least 8 (see docs/breaker.md).
	Shards int
}

// validate checks the fields as given, before defaults are applied.
func (c Config) validate() error {
	negatives := []struct {
		name string
		v    int64
	}{
		{"FailureThreshold", int64(c.FailureThreshold)},
		{"FailurePeriod", int64(c.FailurePeriod)},
		{"SuccessThreshold", int64(c.SuccessThreshold)},
		{"HalfOpenFailureThreshold", int64(c.HalfOpenFailureThreshold)},
		{"OpenTimeout", int64(c.OpenTimeout)},
		{"HalfOpenMaxRequests", int64(c.HalfOpenMaxRequests)},
		{"WindowSize", int64(c.WindowSize)},
		{"WindowDuration", int64(c.WindowDuration)},
		{"MinimumCalls", int64(c.MinimumCalls)},
		{"SlowCallDuration", int64(c.SlowCallDuration)},
		{"MaxOpenTimeout", int64(c.MaxOpenTimeout)},
		{"Mailbox", int64(c.Mailbox)},
		{"Shards", int64(c.Shards)},
	}
	for _, n := range negatives {
		if n.v < 0 {
			return fieldErr(n.name, "must not be negative")
		}
	}
	switch {
	case c.FailureRate < 0 || c.FailureRate > 1 || c.FailureRate != c.FailureRate:
		return fieldErr("FailureRate", "must be in (0, 1], or 0 for off")
	case c.FailureRate == 0 && (c.WindowSize > 0 || c.WindowDuration > 0 || c.MinimumCalls > 0):
		return fieldErr("FailureRate", "must be set when WindowSize, WindowDuration or MinimumCalls is")
	case c.WindowSize > 0 && c.WindowDuration > 0:
		return fieldErr("WindowSize", "must be zero when WindowDuration is set")
	case c.WindowSize > 0 && c.MinimumCalls > c.WindowSize:
		return fieldErr("MinimumCalls", "must not exceed WindowSize")
	case c.WindowDuration > 0 && c.WindowDuration < windowBuckets:
		return fieldErr("WindowDuration", "must be at least 10ns")
	case c.SlowCallIsFailure && c.SlowCallDuration == 0:
		return fieldErr("SlowCallIsFailure", "requires SlowCallDuration")
	case c.OpenBackoff != 0 && !(c.OpenBackoff >= 1 && c.OpenBackoff <= 1e6):
		return fieldErr("OpenBackoff", "must be in [1, 1e6], or 0 for none")
	case c.OpenJitter < 0 || !(c.OpenJitter < 1):
		return fieldErr("OpenJitter", "must be in [0, 1)")
	case c.Shards > 256:
		return fieldErr("Shards", "must be at most 256")
	case !(c.HalfOpenSuccessRatio >= 0 && c.HalfOpenSuccessRatio <= 1):
		return fieldErr("HalfOpenSuccessRatio", "must be in (0, 1], or 0 for off")
	}
	return c.validatePeriod()
}

// validatePeriod checks FailurePeriod against the threshold it counts.
func (c Config) validatePeriod() error {
	switch {
	case c.FailurePeriod == 0:
		return nil
	case c.FailureThreshold == 0 && (c.FailureRate > 0 || c.ReadyToTrip != nil):
		return fieldErr("FailurePeriod", "requires FailureThreshold when FailureRate or ReadyToTrip is set")
	case c.FailureThreshold > maxPeriodFailures:
		return fieldErr("FailureThreshold", "must be at most 65536 with FailurePeriod")
	}
	return nil
}

// maxPeriodFailures bounds FailureThreshold with a FailurePeriod: the
// breaker keeps the time of each of the last FailureThreshold failures.
const maxPeriodFailures = 1 << 16

// withDefaults validates c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	if err := c.validate(); err != nil {
		return c, err
	}
	if c.Name == "" {
		c.Name = "breaker"
	}
	if c.FailureThreshold == 0 && c.FailureRate == 0 && c.ReadyToTrip == nil {
		c.FailureThreshold = defaultFailureThreshold
	}
	c.everyFailure = c.FailureRate > 0 || c.FailurePeriod > 0 || c.ReadyToTrip != nil
	c.SuccessThreshold = or(c.SuccessThreshold, defaultSuccessThreshold)
	if c.HalfOpenSuccessRatio == 0 {
		c.HalfOpenFailureThreshold = or(c.HalfOpenFailureThreshold, 1)
	}
	c.OpenTimeout = or(c.OpenTimeout, defaultOpenTimeout)
	c.HalfOpenMaxRequests = or(c.HalfOpenMaxRequests, defaultHalfOpenMaxRequests)
	if c.FailureRate > 0 {
		if c.WindowDuration == 0 {
			c.WindowSize = or(c.WindowSize, defaultWindowSize)
		}
		c.MinimumCalls = or(c.MinimumCalls, defaultMinimumCalls)
		if c.WindowSize > 0 {
			c.MinimumCalls = min(c.MinimumCalls, c.WindowSize)
		}
	}
	if c.OpenBackoff == 0 {
		c.OpenBackoff = 1
	}
	if c.MaxOpenTimeout == 0 {
		c.MaxOpenTimeout = c.OpenTimeout
		if c.OpenBackoff > 1 {
			c.MaxOpenTimeout = 10 * c.OpenTimeout
		}
	}
	if c.MaxOpenTimeout < c.OpenTimeout {
		return c, fieldErr("MaxOpenTimeout", "must not be below OpenTimeout")
	}
	if c.Classify == nil {
		c.Classify = resilience.Classify
	}
	c.Mailbox = or(c.Mailbox, defaultMailbox)
	c.Shards = 1 << bits.Len(uint(or(c.Shards, min(256, defaultShards()))-1))
	return c, nil
}

func or[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
