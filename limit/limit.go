package limit

import (
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
)

// ErrLimited is the Reason of a refusal by a [Rate]: the call came before
// its permit. Match it with errors.Is.
var ErrLimited = errors.New("limit: rate exceeded")

// Config configures [New]. PerSecond is required.
type Config struct {
	// Name names the limiter in its refusals.
	Name string
	// PerSecond is the long-run rate of admitted calls. It must be finite,
	// more than 0 and at most 1e9 (one a nanosecond); a permit comes every
	// 1/PerSecond seconds, rounded to the nanosecond.
	PerSecond float64
	// Burst is how many calls an idle limiter admits at once. 0 means
	// max(1, ceil(PerSecond)): one second's worth. Negative is rejected.
	Burst int
	// Smooth spaces admitted calls at least 1/PerSecond apart: no call is
	// admitted early, so there is no burst. Burst must then be 0 or 1.
	// Without Smooth, an idle limiter may admit Burst calls back to back.
	Smooth bool
}

// maxInterval bounds the interval between permits (about 13 days), and
// maxTolerance the burst's span, so the arithmetic cannot overflow.
const (
	maxInterval  = 1 << 50
	maxTolerance = 1 << 61
)

// Rate is a rate limiter. It is safe for concurrent use; create it with
// [New]. It starts no goroutine.
type Rate struct {
	name     string
	interval int64 // ns between permits
	tol      int64 // ns a call may come before its slot: (Burst-1)*interval
	epoch    time.Time
	tat      atomic.Int64 // theoretical arrival time of the next call, ns since epoch

	refusal atomic.Pointer[refusal] // the last one, reused while its Until holds
	stopErr *resilience.RejectedError
	life    // stopped, and the channel Stop closes

	counts counts // Allowed and Limited
}

// New returns a limiter, or a [*resilience.ConfigError] naming the first
// invalid field.
func New(cfg Config) (*Rate, error) {
	burst, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	ns := math.Round(1e9 / cfg.PerSecond)
	if ns > maxInterval {
		return nil, configError("PerSecond", "must be at least 1e9 / 2^50 (one permit every 13 days)")
	}
	interval := max(1, int64(ns))
	if int64(burst-1) > maxTolerance/interval {
		return nil, configError("Burst", "too large for this rate: Burst/PerSecond must be under 73 years")
	}
	return &Rate{
		name:     cfg.Name,
		interval: interval,
		tol:      int64(burst-1) * interval,
		epoch:    time.Now(),
		stopErr:  &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrStopped},
		life:     newLife(),
		counts:   newCounts(),
	}, nil
}

// validate checks cfg and returns the burst to use.
func validate(cfg Config) (int, error) {
	r := cfg.PerSecond
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return 0, configError("PerSecond", "must be a finite number")
	case r <= 0:
		return 0, configError("PerSecond", "must be more than 0")
	case r > 1e9:
		return 0, configError("PerSecond", "must be at most 1e9")
	case cfg.Burst < 0:
		return 0, configError("Burst", "must not be negative")
	case cfg.Smooth && cfg.Burst > 1:
		return 0, configError("Burst", "must be 0 or 1 with Smooth")
	case cfg.Smooth:
		return 1, nil
	case cfg.Burst > 0:
		return cfg.Burst, nil
	}
	return int(max(1, math.Ceil(r))), nil
}

func configError(field, reason string) error {
	return &resilience.ConfigError{Field: "limit.Config." + field, Reason: reason}
}
