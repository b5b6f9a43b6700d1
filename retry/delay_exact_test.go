package retry

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// NoDelay is a zero wait for every backoff and jitter; a hinted wait is
// still honoured; NoDelay with an InitialDelay is refused.
func TestNoDelay(t *testing.T) {
	for _, kind := range []Backoff{Exponential, Constant, Linear} {
		for _, j := range []Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter} {
			r := mustNew(t, Config{NoDelay: true, Backoff: kind, Jitter: j, Multiplier: 3})
			prev := time.Duration(0)
			for _, n := range []int{1, 2, 10, 64, math.MaxInt} {
				d, ok := r.Delay(n, prev)
				require.True(t, ok)
				require.Zero(t, d, "%v/%v attempt %d", kind, j, n)
				prev = d
			}
		}
	}
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{NoDelay: true, MaxAttempts: 4})
		start := time.Now()
		calls := 0
		err := r.Do(context.Background(), func(context.Context, int) error { calls++; return errBoom })
		assert.Equal(t, 4, calls)
		assert.Equal(t, 4, asError(t, err).Attempts)
		assert.Zero(t, time.Since(start), "no wait between attempts")

		err = r.Do(context.Background(), func(_ context.Context, n int) error {
			if n == 1 {
				return After(errBoom, time.Second)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "the server-directed wait is honoured")
	})
	cfg := mustNew(t, Config{NoDelay: true}).Config()
	assert.Zero(t, cfg.InitialDelay)
	assert.Equal(t, DefaultMaxDelay, cfg.MaxDelay)
	_, err := New(cfg)
	require.NoError(t, err, "a Retrier's Config builds the same Retrier")

	_, err = New(Config{NoDelay: true, InitialDelay: time.Second})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "InitialDelay", ce.Field)
	assert.Equal(t, DefaultInitialDelay, mustNew(t, Config{}).Config().InitialDelay, "zero still means the default")
}
