package breaker

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicky is a classifier that panics while on is set.
func panicky(on *atomic.Bool) func(error) resilience.Outcome {
	return func(err error) resilience.Outcome {
		if on.Load() {
			panic("classifier")
		}
		return resilience.Classify(err)
	}
}

func TestClassifierPanicInProbesGivesSlotsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var on atomic.Bool
		b, err := New(Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second,
			HalfOpenMaxRequests: 2, Classify: panicky(&on)})
		require.NoError(t, err)
		defer func() { require.NoError(t, b.Stop(context.Background())) }()
		ctx := context.Background()
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		for range 3 { // each round: half-open, then every probe's classifier panics
			time.Sleep(2 * time.Second)
			synctest.Wait()
			require.Equal(t, HalfOpen, b.State())
			on.Store(true)
			assert.PanicsWithValue(t, "classifier", func() { _ = b.Run(ctx, fail) })
			done, err := b.Allow(ctx)
			if err == nil {
				assert.PanicsWithValue(t, "classifier", func() { done(errBoom) })
			}
			on.Store(false)
			synctest.Wait()
			assert.Equal(t, Open, b.State(), "a probe whose classifier panicked failed")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, b.Run(ctx, succeed), "later calls can still probe")
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
		assert.Equal(t, uint64(4), b.Metrics().Failures, "the trip, then one failure per round")
	})
}

func TestClassifierPanicWhenClosedCountsAFailure(t *testing.T) {
	var on atomic.Bool
	b := newTest(t, Config{FailureThreshold: 2, Classify: panicky(&on)})
	ctx := context.Background()
	on.Store(true)
	assert.PanicsWithValue(t, "classifier", func() { _ = b.Run(ctx, fail) })
	done, err := b.Allow(ctx)
	require.NoError(t, err)
	assert.PanicsWithValue(t, "classifier", func() { done(errBoom) })
	assert.Equal(t, Open, b.State(), "two panicking classifications are two consecutive failures")
	assert.Equal(t, uint64(2), b.Metrics().Failures)
}
