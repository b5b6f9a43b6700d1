package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

func newSched(t *testing.T, cfg Config, sc SchedulerConfig) *Scheduler {
	t.Helper()
	s, err := NewScheduler(mustNew(t, cfg), sc)
	require.NoError(t, err)
	return s
}

func stop(t *testing.T, s *Scheduler) {
	t.Helper()
	require.NoError(t, s.Stop(context.Background()))
}

// flaky fails until attempt n, counting calls.
func flaky(n int, calls *atomic.Int32) func(context.Context) error {
	return func(ctx context.Context) error {
		attempt := resilience.Attempt(ctx)
		calls.Add(1)
		if attempt <= n {
			return errBoom
		}
		return nil
	}
}

func TestSchedulerRetriesOnVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{Jitter: NoJitter}, SchedulerConfig{Workers: 2})
		defer stop(t, s)
		var calls atomic.Int32
		start := time.Now()
		require.NoError(t, <-s.Submit(context.Background(), flaky(3, &calls)))
		assert.Equal(t, int32(4), calls.Load())
		assert.Equal(t, 700*ms, time.Since(start), "waits of 100, 200 and 400ms")

		err := <-s.Submit(context.Background(), flaky(99, &calls))
		re := asError(t, err)
		assert.Equal(t, 5, re.Attempts)
		assert.Same(t, resilience.ErrExhausted, re.Reason)
		assert.Equal(t, 1500*ms, re.Elapsed)
		assert.Zero(t, s.Pending())
	})
}

func TestSchedulerWaitingJobsHoldNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour}, SchedulerConfig{Workers: 4})
		synctest.Wait()
		base := runtime.NumGoroutine()
		var calls atomic.Int32
		outs := make([]<-chan error, 2000)
		for i := range outs {
			outs[i] = s.Submit(context.Background(), flaky(1, &calls))
		}
		synctest.Wait()
		assert.Equal(t, int32(2000), calls.Load(), "every first attempt ran")
		assert.Equal(t, 2000, s.Pending())
		assert.LessOrEqual(t, runtime.NumGoroutine(), base, "2000 waiting retries cost no goroutine")
		time.Sleep(time.Hour)
		for _, out := range outs {
			require.NoError(t, <-out)
		}
		stop(t, s)
	})
}

func TestSchedulerBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 3
		s := newSched(t, Config{Jitter: NoJitter, InitialDelay: ms}, SchedulerConfig{Workers: workers})
		defer stop(t, s)
		var running, peak atomic.Int32
		fn := func(ctx context.Context) error {
			attempt := resilience.Attempt(ctx)
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(10 * ms)
			running.Add(-1)
			if attempt < 2 {
				return errBoom
			}
			return nil
		}
		outs := make([]<-chan error, 50)
		for i := range outs {
			outs[i] = s.Submit(context.Background(), fn)
		}
		for _, out := range outs {
			require.NoError(t, <-out)
		}
		assert.Equal(t, int32(workers), peak.Load(), "attempts run on at most Workers goroutines, and all of them are used")
	})
}

func TestSchedulerCancelAnswersWaitingJobAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour}, SchedulerConfig{})
		defer stop(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		var calls atomic.Int32
		out := s.Submit(ctx, flaky(9, &calls))
		time.Sleep(time.Minute)
		start := time.Now()
		cancel()
		err := <-out
		assert.Zero(t, time.Since(start), "no wait for the hour-long timer")
		re := asError(t, err)
		assert.ErrorIs(t, re.Reason, context.Canceled)
		assert.Equal(t, 1, re.Attempts)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestSchedulerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{Jitter: NoJitter}, SchedulerConfig{})
		defer stop(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 250*ms)
		defer cancel()
		var calls atomic.Int32
		re := asError(t, <-s.Submit(ctx, flaky(9, &calls)))
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 2, re.Attempts)
	})
}

func TestSchedulerStopAnswersEveryJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour}, SchedulerConfig{Workers: 2})
		var calls atomic.Int32
		outs := make([]<-chan error, 500)
		for i := range outs {
			outs[i] = s.Submit(context.Background(), flaky(9, &calls))
		}
		stop(t, s)
		for _, out := range outs {
			err := <-out
			if err != nil { // a job not started yet or waiting is answered "stopped"
				assert.Same(t, resilience.ErrStopped, asError(t, err).Reason)
				assert.ErrorIs(t, err, resilience.ErrStopped)
			}
		}
		assert.Zero(t, s.Pending(), "nothing left unanswered, nothing answered twice")
		re := asError(t, <-s.Submit(context.Background(), flaky(0, &calls)))
		assert.Same(t, resilience.ErrStopped, re.Reason, "a stopped scheduler refuses with an answer")
		require.NoError(t, s.Stop(context.Background()), "Stop is idempotent")
	})
}

func TestSchedulerStopLetsRunningAttemptFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{}, SchedulerConfig{Workers: 1})
		started := make(chan struct{})
		out := s.Submit(context.Background(), func(context.Context) error {
			close(started)
			time.Sleep(time.Second)
			return nil
		})
		<-started
		stop(t, s)
		require.NoError(t, <-out, "an attempt that succeeds during the stop is answered as a success")
	})
}

func TestSchedulerPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{}, SchedulerConfig{})
		err := <-s.Submit(context.Background(), func(context.Context) error { panic("kaboom") })
		re := asError(t, err)
		assert.Equal(t, 1, re.Attempts, "a panicking job is not retried")
		var pe *resilience.PanicError
		require.ErrorAs(t, re.Last, &pe)
		assert.Equal(t, "kaboom", pe.Value)
		stop(t, s)

		s = newSched(t, Config{Classify: func(error) resilience.Outcome { panic("bad classifier") }}, SchedulerConfig{})
		var calls atomic.Int32
		err = <-s.Submit(context.Background(), flaky(1, &calls))
		require.ErrorAs(t, asError(t, err).Reason, &pe, "the job being decided is answered with the panic")
		assert.Equal(t, "bad classifier", pe.Value)
		require.NoError(t, s.Stop(context.Background()), "the actor did not fail")
	})
}

func TestSchedulerBadInput(t *testing.T) {
	_, err := NewScheduler(nil, SchedulerConfig{})
	assert.Error(t, err)
	_, err = NewScheduler(mustNew(t, Config{}), SchedulerConfig{Workers: -1})
	var ce *resilience.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "retry.SchedulerConfig.Workers", ce.Field)
	_, err = NewScheduler(mustNew(t, Config{}), SchedulerConfig{Mailbox: -1})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "retry.SchedulerConfig.Mailbox", ce.Field)

	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{}, SchedulerConfig{})
		defer stop(t, s)
		require.ErrorAs(t, <-s.Submit(context.Background(), nil), &ce)
		assert.Equal(t, "fn", ce.Field)
	})
}

// TestSchedulerLoad drives many submitters with random outcomes, delays
// and cancellations, stops the scheduler in the middle, and checks that
// every job got exactly one answer and the workers bound held.
func TestSchedulerLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers = 4
		s := newSched(t, Config{InitialDelay: ms, MaxDelay: 50 * ms, MaxAttempts: 6}, SchedulerConfig{Workers: workers, Mailbox: 16})
		var running, peak atomic.Int32
		var answered, submitted atomic.Int64
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for range 50 {
					ctx, cancel := context.WithCancel(context.Background())
					failUntil := rng.IntN(8)
					sleep := time.Duration(rng.IntN(5)) * ms
					out := s.Submit(ctx, func(ctx context.Context) error {
						attempt := resilience.Attempt(ctx)
						n := running.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						defer running.Add(-1)
						time.Sleep(sleep)
						if attempt <= failUntil {
							return errBoom
						}
						return nil
					})
					submitted.Add(1)
					if rng.IntN(4) == 0 {
						time.Sleep(time.Duration(rng.IntN(3)) * ms)
						cancel()
					}
					wg.Go(func() {
						defer cancel()
						if err := <-out; err != nil {
							var re *Error
							if !errors.As(err, &re) {
								t.Errorf("unexpected answer %v", err)
							}
						}
						answered.Add(1)
					})
				}
			})
		}
		time.Sleep(40 * ms)
		stop(t, s)
		wg.Wait()
		assert.Equal(t, submitted.Load(), answered.Load(), "every job answered")
		assert.Zero(t, s.Pending(), "and none twice")
		assert.LessOrEqual(t, peak.Load(), int32(workers))
	})
}

func TestSchedulerHintAndBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewBudget(1, 1)
		require.NoError(t, err)
		s := newSched(t, Config{Budget: b, MaxAttempts: 10}, SchedulerConfig{})
		defer stop(t, s)
		start := time.Now()
		err = <-s.Submit(context.Background(), func(context.Context) error { return resilience.RetryAfter(errBoom, 2*time.Second) })
		re := asError(t, err)
		assert.Same(t, errBudget, re.Reason, "one token: one retry, then the budget stops it")
		assert.Equal(t, 2, re.Attempts)
		assert.Equal(t, 2*time.Second, time.Since(start), "the retry waited the hinted delay")
		assert.Equal(t, 2*time.Second, re.Elapsed)
	})
}

func TestSchedulerIsAComponent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New(Config{MaxAttempts: 2})
		require.NoError(t, err)
		s, err := NewScheduler(r, SchedulerConfig{})
		require.NoError(t, err)
		require.NoError(t, s.Start(context.Background()), "a new scheduler is running")
		require.NoError(t, <-s.Submit(context.Background(), func(context.Context) error { return nil }))
		require.NoError(t, s.Stop(context.Background()))
		<-s.Done()
		require.NoError(t, s.Err())
		require.ErrorIs(t, s.Start(context.Background()), resilience.ErrStopped, "a stopped scheduler does not restart")
	})
}
