package retry

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// The first delay is InitialDelay to the nanosecond, for every backoff and
// every size, and no attempt goes below it (the growth factor is at least
// 1), above MaxDelay or negative.
func TestDelayFirstIsExactlyInitial(t *testing.T) {
	initials := []time.Duration{1, 100 * ms, 1<<53 + 1, math.MaxInt64 / 3, math.MaxInt64/2 - 1, math.MaxInt64 / 2,
		math.MaxInt64/2 + 1, 1<<62 + 100, math.MaxInt64 - 1, math.MaxInt64}
	mults := []float64{1, 1 + 1e-12, 1.5, 2, 1e300}
	for _, kind := range []Backoff{Exponential, Constant, Linear} {
		for _, initial := range initials {
			for _, mult := range mults {
				b := mustBackoff(t, Config{Backoff: kind, Jitter: NoJitter, InitialDelay: initial, MaxDelay: math.MaxInt64, Multiplier: mult})
				require.Equal(t, initial, b.compute(1, 0, 0), "%v initial=%d mult=%v: first delay", kind, initial, mult)
				for _, n := range []int{2, 3, 63, 64, 1 << 20, math.MaxInt} {
					d := b.compute(n, 0, 0)
					require.True(t, d >= initial && d > 0, "%v initial=%d mult=%v n=%d: %d", kind, initial, mult, n, d)
				}
			}
		}
	}
}

// A Delay function that returns 0 retries at once, with every Backoff and
// Jitter; a hinted wait is still honoured.
func TestZeroDelay(t *testing.T) {
	for _, kind := range []Backoff{Exponential, Constant, Linear} {
		for _, j := range []Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter} {
			r := mustNew(t, Config{Delay: zeroDelay, Backoff: kind, Jitter: j, Multiplier: 3})
			prev := time.Duration(0)
			for _, n := range []int{1, 2, 10, 64, math.MaxInt} {
				d := r.Delay(n, nil, prev)
				require.Zero(t, d, "%v/%v attempt %d", kind, j, n)
				prev = d
			}
		}
	}
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{Delay: zeroDelay, MaxAttempts: 4})
		start := time.Now()
		calls := 0
		err := r.Run(context.Background(), func(context.Context) error { calls++; return errBoom })
		assert.Equal(t, 4, calls)
		assert.Equal(t, 4, asError(t, err).Attempts)
		assert.Zero(t, time.Since(start), "no wait between attempts")

		err = r.Run(context.Background(), func(ctx context.Context) error {
			if resilience.Attempt(ctx) == 1 {
				return resilience.RetryAfter(errBoom, time.Second)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "the server-directed wait is honoured")
	})
	assert.Equal(t, defaultInitialDelay, mustNew(t, Config{}).cfg.InitialDelay, "zero InitialDelay means the default")
}
