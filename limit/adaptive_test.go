package limit_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

func mustAdaptive(t *testing.T, cfg limit.AdaptiveConfig) *limit.Adaptive {
	t.Helper()
	a, err := limit.NewAdaptive(cfg)
	require.NoError(t, err)
	return a
}

func TestAdaptiveConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   limit.AdaptiveConfig
		field string
	}{
		{"negative min", limit.AdaptiveConfig{MinLimit: -1}, "MinLimit"},
		{"negative max", limit.AdaptiveConfig{MaxLimit: -1}, "MaxLimit"},
		{"max below min", limit.AdaptiveConfig{MinLimit: 10, MaxLimit: 5}, "MaxLimit"},
		{"negative initial", limit.AdaptiveConfig{InitialLimit: -1}, "InitialLimit"},
		{"initial above max", limit.AdaptiveConfig{MaxLimit: 5, InitialLimit: 6}, "InitialLimit"},
		{"initial below min", limit.AdaptiveConfig{MinLimit: 5, InitialLimit: 4}, "InitialLimit"},
		{"negative queue", limit.AdaptiveConfig{MaxQueue: -1}, "MaxQueue"},
		{"negative window", limit.AdaptiveConfig{Window: -time.Second}, "Window"},
		{"backoff above 1", limit.AdaptiveConfig{Backoff: 1.5}, "Backoff"},
		{"negative backoff", limit.AdaptiveConfig{Backoff: -0.5}, "Backoff"},
		{"NaN backoff", limit.AdaptiveConfig{Backoff: math.NaN()}, "Backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := limit.NewAdaptive(tt.cfg)
			assert.Nil(t, a)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "limit.AdaptiveConfig."+tt.field, ce.Field)
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestAdaptiveDefaults(t *testing.T) {
	assert.Equal(t, 20, mustAdaptive(t, limit.AdaptiveConfig{}).Limit())
	assert.Equal(t, 50, mustAdaptive(t, limit.AdaptiveConfig{MinLimit: 50}).Limit())
	assert.Equal(t, 5, mustAdaptive(t, limit.AdaptiveConfig{MaxLimit: 5}).Limit())
	assert.Equal(t, 2000, mustAdaptive(t, limit.AdaptiveConfig{MinLimit: 2000, MaxLimit: 2000}).Limit())
}

// hold admits n calls and returns their done functions.
func hold(t *testing.T, a *limit.Adaptive, n int) []func(error) {
	t.Helper()
	var dones []func(error)
	for range n {
		done, err := a.Allow(context.Background())
		require.NoError(t, err)
		dones = append(dones, done)
	}
	return dones
}

func TestAdaptiveQueuesUpToMaxQueueThenRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{Name: "db", InitialLimit: 2, MaxQueue: 1})
		dones := hold(t, a, 2)
		admitted := make(chan func(error), 1)
		go func() {
			done, err := a.Allow(context.Background())
			assert.NoError(t, err)
			admitted <- done
		}()
		synctest.Wait()
		m := a.Metrics()
		assert.Equal(t, 2, m.InFlight)
		assert.Equal(t, 1, m.Queued)

		_, err := a.Allow(context.Background())
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, resilience.ErrFull)
		assert.Equal(t, "db", re.Name)

		dones[0](nil)
		(<-admitted)(nil)
		dones[1](nil)
		m = a.Metrics()
		assert.Equal(t, limit.AdaptiveMetrics{Limit: 2, Admitted: 3, Rejected: 1}, m)
	})
}

func TestAdaptiveRefusalSaysWhenToComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{MaxLimit: 1, Window: time.Second})
		for range 10 { // one window of 100 ms calls
			done, err := a.Allow(context.Background())
			require.NoError(t, err)
			time.Sleep(100 * time.Millisecond)
			done(nil)
		}
		assert.Equal(t, 100*time.Millisecond, a.Metrics().Unloaded)
		done, err := a.Allow(context.Background())
		require.NoError(t, err)
		defer done(nil)
		_, err = a.Allow(context.Background())
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 100*time.Millisecond, re.RetryAfter(), "a mean latency from now")
	})
}

// A caller whose deadline comes before its likely turn is refused at once
// rather than queued to time out.
func TestAdaptiveShedsCallsThatWouldMissTheirDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{MaxLimit: 1, MaxQueue: 5, Window: time.Second})
		for range 10 {
			done, err := a.Allow(context.Background())
			require.NoError(t, err)
			time.Sleep(100 * time.Millisecond)
			done(nil)
		}
		dones := hold(t, a, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := a.Allow(ctx)
		assert.Zero(t, time.Since(start), "refused without waiting")
		assert.ErrorIs(t, err, resilience.ErrFull)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 0, a.Metrics().Queued)
		dones[0](nil)
	})
}

func TestAdaptiveWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 1, MaxQueue: 2})
		dones := hold(t, a, 1)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := a.Allow(ctx)
			errc <- err
		}()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled)
		assert.Equal(t, 0, a.Metrics().Queued)
		dones[0](nil)
		assert.Equal(t, 0, a.Metrics().InFlight)
		_ = hold(t, a, 1)
	})
}

func TestAdaptiveStopEndsWaitersAndRefusesLaterCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 1, MaxQueue: 4})
		dones := hold(t, a, 1)
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := a.Allow(context.Background())
				errs <- err
			}()
		}
		synctest.Wait()
		require.NoError(t, a.Stop(context.Background()))
		for range 3 {
			assert.ErrorIs(t, <-errs, resilience.ErrStopped)
		}
		<-a.Done()
		_, err := a.Allow(context.Background())
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, a.Run(context.Background(), func(context.Context) error { return nil }), resilience.ErrStopped)
		dones[0](nil) // a call in flight still frees its slot
		assert.Equal(t, 0, a.Metrics().InFlight)
		require.NoError(t, a.Stop(context.Background()))
		assert.NoError(t, a.Err())
		require.NoError(t, a.Start(context.Background()))
		_ = hold(t, a, 1)
	})
}

// Latency that grows with the calls in flight brings the limit down to
// about the knee past which it grows; a higher knee lets the limit rise.
// Latency that does not fall when fewer calls are in flight is not taken
// for load: the limit stays.
func TestAdaptiveLimitFollowsLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 40, Window: 100 * time.Millisecond})
		// round holds the limit's worth of calls for a latency that grows
		// with their number beyond knee.
		round := func(knee int, base time.Duration) {
			n := a.Limit()
			dones := hold(t, a, n)
			time.Sleep(base * time.Duration(max(n, knee)) / time.Duration(knee))
			for _, d := range dones {
				d(nil)
			}
		}
		for range 100 {
			round(10, 10*time.Millisecond)
		}
		low := a.Limit()
		assert.GreaterOrEqual(t, low, 10, "no lower than the knee")
		assert.LessOrEqual(t, low, 15, "near the knee")
		for range 300 {
			round(30, 10*time.Millisecond)
		}
		high := a.Limit()
		assert.GreaterOrEqual(t, high, 30, "the limit rose to the higher knee")
		for range 100 { // a slower dependency, whatever the calls in flight
			round(1000, 30*time.Millisecond)
		}
		assert.GreaterOrEqual(t, a.Limit(), high, "latency that does not depend on load keeps the limit")
		assert.Equal(t, 30*time.Millisecond, a.Metrics().Unloaded, "and becomes the unloaded latency")
	})
}

func TestAdaptiveFillsTheBulkheadSlot(t *testing.T) {
	a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 1})
	p := &resilience.Pipeline{Bulkhead: a}
	boom := errors.New("boom")
	inside := make(chan struct{})
	release, finished := make(chan struct{}), make(chan error)
	go func() {
		finished <- p.Run(context.Background(), func(context.Context) error { close(inside); <-release; return boom })
	}()
	<-inside
	err := p.Run(context.Background(), func(context.Context) error { return nil })
	assert.ErrorIs(t, err, resilience.ErrFull)
	close(release)
	assert.ErrorIs(t, <-finished, boom)
	assert.Zero(t, a.Metrics().InFlight)
	assert.ErrorIs(t, p.Run(context.Background(), func(context.Context) error { return boom }), boom)
	var ce *resilience.ConfigError
	assert.ErrorAs(t, a.Run(context.Background(), nil), &ce)
}

// Many callers admitting, cancelling and finishing at random never have
// more calls in flight than the limit allowed, and leave nothing behind.
func TestAdaptiveUnderConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 8, MaxLimit: 8, MaxQueue: 16, Window: 10 * time.Millisecond})
		var running, peak atomic.Int64
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 3))
				for range 200 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(20))*time.Millisecond)
					done, err := a.Allow(ctx)
					if err == nil {
						n := running.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
						running.Add(-1)
						done(nil)
					}
					cancel()
				}
			})
		}
		wg.Wait()
		m := a.Metrics()
		assert.LessOrEqual(t, peak.Load(), int64(8))
		assert.Zero(t, m.InFlight)
		assert.Zero(t, m.Queued)
		assert.Positive(t, m.Admitted)
	})
}

// Stop while callers keep calling: waiting callers end with ErrStopped,
// later calls are refused at once, calls in flight still free their
// slots, and nothing is left waiting.
func TestAdaptiveStopUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := mustAdaptive(t, limit.AdaptiveConfig{InitialLimit: 4, MaxLimit: 4, MaxQueue: 8, Window: 10 * time.Millisecond})
		stopAt := time.Now().Add(50 * time.Millisecond)
		var afterStop, stoppedRefusals atomic.Int64
		var isStopped atomic.Bool // set once Stop has returned
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 9))
				for time.Since(stopAt) < 50*time.Millisecond {
					stopped := isStopped.Load()
					done, err := a.Allow(context.Background())
					switch {
					case err == nil:
						time.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond)
						done(nil)
					case errors.Is(err, resilience.ErrStopped):
						stoppedRefusals.Add(1)
						time.Sleep(time.Millisecond)
					default: // the line is full
						time.Sleep(time.Millisecond)
					}
					if stopped {
						afterStop.Add(1)
						assert.ErrorIs(t, err, resilience.ErrStopped, "a call after Stop is refused")
					}
				}
			})
		}
		time.Sleep(time.Until(stopAt))
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		require.NoError(t, a.Stop(ctx))
		isStopped.Store(true)
		wg.Wait()
		m := a.Metrics()
		assert.Positive(t, afterStop.Load())
		assert.Positive(t, stoppedRefusals.Load())
		assert.Zero(t, m.InFlight, "calls in flight at Stop freed their slots")
		assert.Zero(t, m.Queued)
	})
}
