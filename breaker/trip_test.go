package breaker

import (
	"context"
	"testing"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/require"
)

// tripsBeforeReturning makes cfg's breaker reach its trip point with
// sequential failures (after warm successes) and requires the very next
// call to be rejected, loops times over, each on a fresh breaker.
func tripsBeforeReturning(t *testing.T, cfg Config, warm, failures, loops int) {
	ctx := context.Background()
	for i := range loops {
		b, err := New(cfg)
		require.NoError(t, err)
		for range warm {
			require.NoError(t, b.Run(ctx, succeed))
		}
		for range failures {
			require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		}
		err = b.Run(ctx, succeed)
		require.NoError(t, b.Stop(ctx))
		require.ErrorIs(t, err, resilience.ErrOpen, "loop %d: the call after the tripping failure passed", i)
	}
}

func TestTripRejectsTheNextSequentialCall(t *testing.T) {
	tripsBeforeReturning(t, Config{}, 0, defaultFailureThreshold, 2000)
}

func TestRateTripRejectsTheNextSequentialCall(t *testing.T) {
	cfg := Config{FailureRate: 0.5, WindowSize: 10, MinimumCalls: 10}
	tripsBeforeReturning(t, cfg, 5, 5, 2000)
}

func TestAllowDoneTripsBeforeReturning(t *testing.T) {
	ctx := context.Background()
	for i := range 2000 {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		done, err := b.Allow(ctx)
		require.NoError(t, err)
		done(errBoom)
		_, err = b.Allow(ctx)
		require.NoError(t, b.Stop(ctx))
		require.ErrorIs(t, err, resilience.ErrOpen, "loop %d", i)
	}
}
