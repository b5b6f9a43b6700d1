package breaker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

func newTest(t *testing.T, cfg Config) *Breaker {
	t.Helper()
	b, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	return b
}

func succeed(context.Context) error { return nil }
func fail(context.Context) error    { return errBoom }

// failN makes n failing calls, each returning errBoom unchanged.
func failN(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		require.ErrorIs(t, b.Run(context.Background(), fail), errBoom)
	}
}

// trip opens b (default thresholds) and waits for the actor.
func trip(t *testing.T, b *Breaker) {
	t.Helper()
	failN(t, b, b.cfg.FailureThreshold)
	synctest.Wait()
	require.Equal(t, Open, b.State())
}

func TestSeedLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		ctx := context.Background()
		failN(t, b, 4)
		require.Equal(t, Closed, b.State(), "four failures are below the threshold")
		failN(t, b, 1)
		synctest.Wait()
		require.Equal(t, Open, b.State())

		err := b.Run(ctx, succeed)
		require.ErrorIs(t, err, resilience.ErrOpen)
		var oe *resilience.RejectedError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, 60*time.Second+probeMargin, oe.RetryAfter(), "the whole timeout is left, plus the margin")

		time.Sleep(59 * time.Second)
		synctest.Wait()
		assert.Equal(t, Open, b.State())
		assert.Equal(t, time.Second+probeMargin, oe.RetryAfter())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State(), "60s of virtual time opens the probe window")
		assert.Equal(t, probeMargin, oe.RetryAfter(), "a late caller still waits the margin, never spins")

		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		assert.Equal(t, HalfOpen, b.State(), "one success is below SuccessThreshold")
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		assert.Equal(t, Closed, b.State())

		m := b.Metrics()
		assert.Equal(t, Metrics{State: Closed, Successes: 2, Failures: 5, RejectedOpen: 1, Opened: 1, Closed: 1}, m)
	})
}

func TestSuccessResetsStreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		failN(t, b, 4)
		require.NoError(t, b.Run(context.Background(), succeed))
		failN(t, b, 4)
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Open, b.State())
	})
}

func TestCancellationIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		for range 10 {
			err := b.Run(context.Background(), func(context.Context) error { return context.Canceled })
			require.ErrorIs(t, err, context.Canceled)
		}
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
		assert.Equal(t, uint64(10), b.Metrics().Ignored)
	})
}

func TestClassifier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notFound := errors.New("not found")
		b := newTest(t, Config{FailureThreshold: 2, Classify: func(err error) resilience.Outcome {
			if err == notFound {
				return resilience.Success
			}
			return resilience.Classify(err)
		}})
		ctx := context.Background()
		failN(t, b, 1)
		require.ErrorIs(t, b.Run(ctx, func(context.Context) error { return notFound }), notFound)
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Closed, b.State(), "a classified success resets the streak")
	})
}

func TestPanicCountsAsFailureAndPropagates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 2})
		for range 2 {
			require.PanicsWithValue(t, "kaboom", func() {
				_, _ = resilience.Do(context.Background(), b, func(context.Context) (int, error) { panic("kaboom") })
			})
		}
		synctest.Wait()
		assert.Equal(t, Open, b.State())
		assert.Equal(t, uint64(2), b.Metrics().Failures)
	})
}

func TestDoReturnsValue(t *testing.T) {
	b := newTest(t, Config{})
	v, err := resilience.Do(context.Background(), b, func(context.Context) (string, error) { return "hi", nil })
	require.NoError(t, err)
	assert.Equal(t, "hi", v)
}

// probes starts n blocked probes through b and returns a function that
// releases them all with err, and the errors the calls returned.
func probes(b *Breaker, n int, err error) (release func(), results *[]error) {
	gate := make(chan struct{})
	var mu sync.Mutex
	out := &[]error{}
	for range n {
		go func() {
			e := b.Run(context.Background(), func(context.Context) error {
				<-gate
				return err
			})
			mu.Lock()
			*out = append(*out, e)
			mu.Unlock()
		}()
	}
	return func() { close(gate) }, out
}

func TestHalfOpenConcurrencyIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{HalfOpenMaxRequests: 3, SuccessThreshold: 5})
		trip(t, b)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State())

		release, results := probes(b, 3, nil)
		synctest.Wait() // all three hold their slots
		for range 5 {
			require.ErrorIs(t, b.Run(context.Background(), succeed), resilience.ErrRejected)
		}
		release()
		synctest.Wait()
		assert.Len(t, *results, 3)
		assert.Equal(t, uint64(5), b.Metrics().RejectedHalfOpen)
		assert.Equal(t, HalfOpen, b.State(), "three of five successes")
		require.NoError(t, b.Run(context.Background(), succeed))
		require.NoError(t, b.Run(context.Background(), succeed))
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
	})
}

func TestLateProbeResultIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{SuccessThreshold: 1})
		trip(t, b)
		time.Sleep(time.Minute)
		synctest.Wait()
		slowRelease, _ := probes(b, 1, errBoom) // will fail, late
		synctest.Wait()
		require.NoError(t, b.Run(context.Background(), succeed))
		synctest.Wait()
		require.Equal(t, Closed, b.State(), "the fast probe closed it")
		slowRelease()
		synctest.Wait()
		assert.Equal(t, Closed, b.State(), "a failure from the old half-open must not reopen")
		assert.Equal(t, uint64(1+b.cfg.FailureThreshold), b.Metrics().Failures, "but it is still counted")
	})
}

func TestLateClosedFailureIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1, SuccessThreshold: 1, HalfOpenMaxRequests: 1})
		release, _ := probes(b, 1, errBoom) // admitted while closed
		synctest.Wait()
		trip(t, b)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NoError(t, b.Run(context.Background(), succeed))
		synctest.Wait()
		require.Equal(t, Closed, b.State())
		release()
		synctest.Wait()
		assert.Equal(t, Closed, b.State(), "a failure from an older closed generation must not trip the new one")
	})
}

func TestOpenBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{OpenTimeout: time.Second, OpenBackoff: 3, MaxOpenTimeout: 5 * time.Second, SuccessThreshold: 1})
		trip(t, b)
		for _, wait := range []time.Duration{time.Second, 3 * time.Second, 5 * time.Second} {
			time.Sleep(wait - time.Millisecond)
			synctest.Wait()
			require.Equal(t, Open, b.State(), "still open just before %v", wait)
			time.Sleep(time.Millisecond)
			synctest.Wait()
			require.Equal(t, HalfOpen, b.State(), "half-open after %v", wait)
			failN(t, b, 1)
			synctest.Wait()
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.NoError(t, b.Run(context.Background(), succeed))
		synctest.Wait()
		require.Equal(t, Closed, b.State())
		trip(t, b)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, HalfOpen, b.State(), "closing reset the backoff")
	})
}

func TestManualControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1})
		ctx := context.Background()
		require.NoError(t, b.ForceOpen(ctx))
		err := b.Run(ctx, succeed)
		require.ErrorIs(t, err, resilience.ErrOpen)
		var oe *resilience.RejectedError
		require.ErrorAs(t, err, &oe)
		assert.Zero(t, oe.RetryAfter(), "no probe is scheduled while forced open")
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, Open, b.State(), "forced open stays open")

		require.NoError(t, b.ForceClose(ctx))
		failN(t, b, 10)
		synctest.Wait()
		assert.Equal(t, Closed, b.State(), "forced closed ignores failures")

		require.NoError(t, b.Reset(ctx))
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Open, b.State())
		m := b.Metrics()
		assert.Equal(t, uint64(2), m.Opened)
		assert.Equal(t, uint64(1), m.Closed)
	})
}

func TestAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 2, HalfOpenMaxRequests: 1, SuccessThreshold: 1})
		ctx := context.Background()
		for range 2 {
			done, err := b.Allow(ctx)
			require.NoError(t, err)
			done(errBoom)
		}
		synctest.Wait()
		_, err := b.Allow(ctx)
		require.ErrorIs(t, err, resilience.ErrOpen)
		time.Sleep(time.Minute)
		synctest.Wait()
		done, err := b.Allow(ctx)
		require.NoError(t, err)
		_, err = b.Allow(ctx)
		require.ErrorIs(t, err, resilience.ErrRejected)
		done(nil)
		synctest.Wait()
		assert.Equal(t, Closed, b.State())
	})
}

func TestCountWindowTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureRate: 0.5, WindowSize: 10, MinimumCalls: 10})
		ctx := context.Background()
		for i := range 9 { // 4 of 9 failed: below minimum calls anyway
			if i%2 == 0 {
				require.NoError(t, b.Run(ctx, succeed))
			} else {
				failN(t, b, 1)
			}
		}
		synctest.Wait()
		require.Equal(t, Closed, b.State())
		failN(t, b, 1) // 5 of 10
		synctest.Wait()
		assert.Equal(t, Open, b.State())
	})
}

func TestCountWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureRate: 0.5, WindowSize: 10})
		ctx := context.Background()
		failN(t, b, 4)
		for range 20 {
			require.NoError(t, b.Run(ctx, succeed))
		}
		failN(t, b, 4) // 4 of the last 10, the first four slid out
		synctest.Wait()
		require.Equal(t, Closed, b.State())
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Open, b.State())
	})
}

func TestTimeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureRate: 0.5, WindowDuration: 10 * time.Second, MinimumCalls: 4})
		ctx := context.Background()
		failN(t, b, 3)
		for range 4 {
			require.NoError(t, b.Run(ctx, succeed))
		}
		time.Sleep(12 * time.Second) // the failures slide out
		synctest.Wait()
		require.NoError(t, b.Run(ctx, succeed))
		failN(t, b, 2)
		synctest.Wait()
		require.Equal(t, Closed, b.State(), "2 of 3 recent calls, below minimum")
		failN(t, b, 1)
		synctest.Wait()
		assert.Equal(t, Open, b.State(), "3 of 4 recent calls")
	})
}

func TestSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{SlowCallDuration: time.Second, SlowCallIsFailure: true, FailureThreshold: 2})
		ctx := context.Background()
		slow := func(context.Context) error { time.Sleep(2 * time.Second); return nil }
		require.NoError(t, b.Run(ctx, slow))
		require.NoError(t, b.Run(ctx, succeed))
		done, err := b.Allow(ctx)
		require.NoError(t, err)
		time.Sleep(2 * time.Second)
		done(nil)
		require.NoError(t, b.Run(ctx, slow))
		synctest.Wait()
		assert.Equal(t, Open, b.State())
		m := b.Metrics()
		assert.Equal(t, uint64(3), m.SlowCalls)
		assert.Equal(t, uint64(3), m.Failures)
		assert.Equal(t, uint64(1), m.Successes)
	})
}

func TestStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		idle, err := New(Config{})
		require.NoError(t, err)
		require.NoError(t, idle.Stop(ctx), "a breaker that never needed its actor stops at once")
		require.ErrorIs(t, idle.Run(ctx, succeed), resilience.ErrStopped)
		require.ErrorIs(t, idle.ForceOpen(ctx), resilience.ErrStopped)

		<-idle.Done()
		require.NoError(t, idle.Err())

		b, err := New(Config{})
		require.NoError(t, err)
		require.NoError(t, b.Start(ctx))
		require.NoError(t, b.Start(ctx), "Start is idempotent")
		require.NoError(t, b.ForceClose(ctx)) // starts the actor
		require.NoError(t, b.Reset(ctx))
		done := b.Done()
		select {
		case <-done:
			t.Fatal("Done is closed before Stop")
		default:
		}
		require.NoError(t, b.Stop(ctx))
		require.NoError(t, b.Stop(ctx), "Stop is idempotent")
		<-done
		require.NoError(t, b.Err(), "a clean stop")
		require.ErrorIs(t, b.Start(ctx), resilience.ErrStopped)
		require.ErrorIs(t, b.Run(ctx, succeed), resilience.ErrStopped)
		_, err = b.Allow(ctx)
		require.ErrorIs(t, err, resilience.ErrStopped)
		require.ErrorIs(t, b.Reset(ctx), resilience.ErrStopped)
	})
}
