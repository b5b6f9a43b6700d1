package hedge_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
)

// latency returns an fn whose first attempt takes d and whose hedges
// answer at once.
func latency(d time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		if resilience.Attempt(ctx) > 1 {
			return nil
		}
		return wait(ctx, d)
	}
}

func TestQuantileDelayFollowsTheLatencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: time.Second, Quantile: 0.9})
		ctx := t.Context()
		for i := range 19 {
			require.NoError(t, p.Run(ctx, latency(time.Duration(i+1)*time.Millisecond)))
		}
		assert.Equal(t, time.Second, p.Delay(), "Delay until 20 latencies were seen")
		require.NoError(t, p.Run(ctx, latency(20*time.Millisecond)))
		assert.Equal(t, 18*time.Millisecond, p.Delay(), "the 90th percentile of 1..20ms")

		for range 128 {
			require.NoError(t, p.Run(ctx, latency(200*time.Millisecond)))
		}
		// Every call above started a hedge at the old delay, which won at
		// once; the primaries ran 18ms and were cancelled. Those count with
		// the time they ran, so the delay does not fall below itself.
		assert.Equal(t, 18*time.Millisecond, p.Delay(), "cancelled primaries count with the time they ran")

		for range 128 {
			require.NoError(t, p.Run(ctx, latency(3*time.Millisecond)))
		}
		assert.Equal(t, 3*time.Millisecond, p.Delay(), "a faster dependency lowers the delay")

		begin := time.Now()
		require.NoError(t, p.Run(ctx, func(ctx context.Context) error {
			if resilience.Attempt(ctx) == 1 {
				return wait(ctx, time.Hour)
			}
			return nil
		}))
		assert.Equal(t, 3*time.Millisecond, time.Since(begin), "the hedge starts at the tracked delay")
	})
}

func TestFailedPrimariesAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: time.Second, Quantile: 0.5})
		for range 40 {
			_ = p.Run(t.Context(), func(ctx context.Context) error {
				_ = wait(ctx, time.Millisecond)
				return resilience.Permanent(context.DeadlineExceeded)
			})
		}
		assert.Equal(t, time.Second, p.Delay(), "failures say nothing about how long an answer takes")
	})
}

func TestCallsTheCallerCancelledAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: time.Millisecond, Quantile: 0.5})
		for range 40 {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(5*time.Millisecond, cancel)
			err := p.Run(ctx, func(ctx context.Context) error {
				<-ctx.Done()
				if resilience.Attempt(ctx) == 1 { // the primary is the last to return
					_ = wait(context.WithoutCancel(ctx), time.Millisecond)
				}
				return ctx.Err()
			})
			require.ErrorIs(t, err, context.Canceled)
		}
		assert.Equal(t, time.Millisecond, p.Delay(), "a primary cut short by its caller says nothing about latency")
	})
}
