package retry

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// backoff is the built-in policy: a Backoff kind, a Jitter strategy and
// their bounds, taken from a validated Config.
type backoff struct {
	kind    Backoff
	jitter  Jitter
	initial time.Duration
	max     time.Duration
	mult    float64
	factor  float64     // JitterFactor, for ProportionalJitter
	rand    rand.Source // nil means the runtime's source
}

// delay is the wait after attempt n failed, for the previous wait prev.
func (b *backoff) delay(n int, prev time.Duration) time.Duration {
	var u uint64
	if b.jitter != NoJitter && b.kind != Immediate {
		if b.rand != nil {
			u = b.rand.Uint64()
		} else {
			u = rand.Uint64()
		}
	}
	return b.compute(n, prev, u)
}

// compute is delay with the random word u given: a pure function, so tests
// can tabulate it. The result is in [0, max] for every input.
func (b *backoff) compute(n int, prev time.Duration, u uint64) time.Duration {
	if b.kind == Immediate {
		return 0
	}
	switch b.jitter {
	case NoJitter:
		return b.base(n)
	case EqualJitter:
		d := b.base(n)
		half := d / 2
		return half + uniform(u, 0, d-half)
	case DecorrelatedJitter:
		return b.decorrelated(prev, u)
	case ProportionalJitter:
		return b.proportional(b.base(n), u)
	default:
		return uniform(u, 0, b.base(n))
	}
}

// base is the delay before jitter, in [0, max].
func (b *backoff) base(n int) time.Duration {
	n = max(n, 1)
	switch b.kind {
	case Immediate:
		return 0
	case Constant:
		return min(b.initial, b.max)
	case Linear:
		if b.initial <= 0 {
			return 0
		}
		if n > int(b.max/b.initial) {
			return b.max
		}
		return b.initial * time.Duration(n)
	default:
		return b.exponential(n)
	}
}

// exponential is initial·mult^(n-1) in [initial, max] for n ≥ 1: exact
// at n = 1 (and whenever mult is 1), otherwise computed in float64, which
// is exact up to 2^53 ns (104 days) and within rounding beyond.
func (b *backoff) exponential(n int) time.Duration {
	if n == 1 || b.mult == 1 || b.initial == 0 {
		return min(b.initial, b.max)
	}
	f := float64(b.initial) * math.Pow(b.mult, float64(n-1))
	if !(f < float64(b.max)) { // also catches NaN and +Inf
		return b.max
	}
	// f < float64(max) ≤ 2^63, so the conversion cannot overflow; rounding
	// of a huge initial may land below it or above max.
	return min(max(time.Duration(f), b.initial), b.max)
}

// decorrelated is min(max, U(initial, 3·prev)), prev taken as at least
// initial so the first retry waits about initial.
func (b *backoff) decorrelated(prev time.Duration, u uint64) time.Duration {
	lo := min(b.initial, b.max)
	p := max(prev, lo)
	hi := b.max
	if p <= b.max/3 {
		hi = 3 * p
	}
	return min(uniform(u, lo, hi), b.max)
}

// proportional is U(d·(1−f), d·(1+f)) capped at max. The bounds are
// computed in float64 and compared with max before conversion, so a huge
// d cannot overflow.
func (b *backoff) proportional(d time.Duration, u uint64) time.Duration {
	spread := float64(d) * b.factor
	hi := b.max
	if f := float64(d) + spread; f < float64(b.max) {
		hi = time.Duration(f)
	}
	lo := min(d-time.Duration(spread), hi)
	return uniform(u, max(lo, 0), hi)
}

// uniform maps the random word u to [lo, hi] (lo ≤ hi, both ≥ 0) by
// multiply-high, without division or overflow.
func uniform(u uint64, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	span := uint64(hi-lo) + 1 // hi-lo ≤ MaxInt64, so no overflow
	off, _ := bits.Mul64(u, span)
	return lo + time.Duration(off)
}

// clamp bounds a Delay function's or a server's delay to [0, max].
func clamp(d, maxDelay time.Duration) time.Duration {
	return min(max(d, 0), maxDelay)
}
