package bulkhead_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
)

func TestSubmittedJobsRunOnWorkersAndAnswerOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 2, MaxQueue: 2})
		release := make(chan struct{})
		out := make(chan resilience.Result[int], 4)
		for i := range 4 {
			err := resilience.Submit(context.Background(), b, func(context.Context) (int, error) {
				<-release
				return i, nil
			}, out)
			require.NoError(t, err, "job %d fits in the slots and the queue", i)
		}
		err := resilience.Submit(context.Background(), b, func(context.Context) (int, error) { return 0, nil }, out)
		require.ErrorIs(t, err, resilience.ErrFull, "a fifth job is refused at once")

		synctest.Wait()
		m := b.Metrics()
		assert.Equal(t, 2, m.InFlight)
		assert.Equal(t, 2, m.Queued)
		close(release)
		got := map[int]bool{}
		for range 4 {
			r := <-out
			require.NoError(t, r.Err)
			got[r.Value] = true
		}
		assert.Len(t, got, 4, "every job answered once")
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestAQueuedJobIsAnsweredWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		release := make(chan struct{})
		out := make(chan resilience.Result[string], 2)
		require.NoError(t, resilience.Submit(context.Background(), b, func(context.Context) (string, error) {
			<-release
			return "first", nil
		}, out))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		require.NoError(t, resilience.Submit(ctx, b, func(context.Context) (string, error) {
			t.Error("a cancelled job must not run")
			return "", nil
		}, out))

		start := time.Now()
		r := <-out
		require.ErrorIs(t, r.Err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "answered when its context ended, not when a slot freed")
		close(release)
		assert.Equal(t, "first", (<-out).Value)
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestStopAnswersQueuedJobsAndWaitsForRunningOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 3})
		release := make(chan struct{})
		out := make(chan resilience.Result[int], 4)
		for i := range 4 {
			require.NoError(t, resilience.Submit(context.Background(), b, func(context.Context) (int, error) {
				<-release
				return i, nil
			}, out))
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, b.Stop(ctx), context.DeadlineExceeded, "one job still runs")
		for range 3 {
			assert.ErrorIs(t, (<-out).Err, resilience.ErrStopped)
		}
		err := resilience.Submit(context.Background(), b, func(context.Context) (int, error) { return 0, nil }, out)
		require.ErrorIs(t, err, resilience.ErrStopped)
		close(release)
		r := <-out
		require.NoError(t, r.Err)
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestAJobThatPanicsOrExitsIsAnsweredWithAPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1})
		out := make(chan resilience.Result[int], 2)
		require.NoError(t, resilience.Submit(context.Background(), b, func(context.Context) (int, error) { panic("boom") }, out))
		var pe *resilience.PanicError
		r := <-out
		require.ErrorAs(t, r.Err, &pe)
		assert.Equal(t, "boom", pe.Value)
		assert.Contains(t, string(pe.Stack), "jobs_test.go", "the stack shows where the panic began")

		require.NoError(t, resilience.Submit(context.Background(), b, func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		}, out))
		require.ErrorAs(t, (<-out).Err, &pe)
		synctest.Wait()
		assert.Zero(t, b.Metrics().InFlight, "both slots were freed")
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestSubmitRunsThePipelinesOtherPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1})
		p := &resilience.Pipeline{Name: "reports", Bulkhead: b, AttemptTimeout: time.Second}
		out := make(chan resilience.Result[int], 1)
		require.NoError(t, resilience.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 7, ctx.Err()
		}, out))
		r := <-out
		var te *resilience.TimeoutError
		require.ErrorAs(t, r.Err, &te)
		assert.Equal(t, "reports", te.Op)
		assert.Equal(t, 7, r.Value, "the value comes with the error")
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestSubmitRefusesWhatCannotRunJobs(t *testing.T) {
	out := make(chan resilience.Result[int], 1)
	fn := func(context.Context) (int, error) { return 0, nil }
	var ce *resilience.ConfigError
	require.ErrorAs(t, resilience.Submit(context.Background(), &resilience.Pipeline{}, fn, out), &ce)
	assert.Equal(t, "Pipeline.Bulkhead", ce.Field)
	require.ErrorAs(t, resilience.Submit(context.Background(), nil, fn, out), &ce)
	b := mustNew(t, bulkhead.Config{})
	require.ErrorAs(t, resilience.Submit(context.Background(), b, fn, nil), &ce)
	require.ErrorAs(t, resilience.Submit[int](context.Background(), b, nil, out), &ce)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, resilience.Submit(ctx, b, fn, out), context.Canceled)
}

func TestManyCancelledJobsCostNoGoroutineEach(t *testing.T) {
	const jobs = 20000
	b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: jobs})
	release := make(chan struct{})
	out := make(chan resilience.Result[int], jobs+1)
	require.NoError(t, resilience.Submit(context.Background(), b, func(context.Context) (int, error) { <-release; return 0, nil }, out))
	ctx, cancel := context.WithCancel(context.Background())
	for range jobs {
		require.NoError(t, resilience.Submit(ctx, b, func(context.Context) (int, error) { return 0, nil }, out))
	}
	base := runtime.NumGoroutine()
	cancel()
	peak := 0
	for i := range jobs {
		if i%1000 == 0 {
			peak = max(peak, runtime.NumGoroutine())
		}
		assert.True(t, errors.Is((<-out).Err, context.Canceled))
	}
	assert.Less(t, peak-base, 1000, "answers are sent without blocking, so cancellation callbacks do not pile up")
	close(release)
	<-out
	require.NoError(t, b.Stop(context.Background()))
}

func TestEveryJobIsAnsweredExactlyOnceUnderChurn(t *testing.T) {
	b := mustNew(t, bulkhead.Config{MaxConcurrent: 3, MaxQueue: 50})
	out := make(chan resilience.Result[int], 10000)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				id := g*1000 + i
				ctx, cancel := context.WithCancel(context.Background())
				err := resilience.Submit(ctx, b, func(ctx context.Context) (int, error) {
					if id%7 == 0 {
						panic("boom")
					}
					return id, nil
				}, out)
				if err == nil {
					accepted.Add(1)
				}
				if i%3 == 0 {
					cancel()
				}
				if g == 0 && i == 300 {
					_ = b.Stop(context.Background())
				}
				defer cancel()
			}
		})
	}
	wg.Wait()
	require.NoError(t, b.Stop(context.Background()))
	n := int(accepted.Load())
	require.Len(t, out, n, "one answer per accepted job, no more, no fewer")
	m := b.Metrics()
	assert.Zero(t, m.InFlight)
	assert.Zero(t, m.Queued)
}
