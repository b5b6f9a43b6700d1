package breaker

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newGuard(t *testing.T, b *Breaker, cfg GuardConfig) *Guard[int] {
	t.Helper()
	g, err := NewGuard[int](b, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, g.Stop(context.Background())) })
	return g
}

// blocker returns a job function that runs until release is closed.
func blocker(release <-chan struct{}, v int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		<-release
		return v, nil
	}
}

func TestGuardConfigErrorsNameTheField(t *testing.T) {
	b := newTest(t, Config{})
	cases := []struct {
		name  string
		b     *Breaker
		cfg   GuardConfig
		field string
	}{
		{"nil breaker", nil, GuardConfig{}, "b"},
		{"negative concurrency", b, GuardConfig{MaxConcurrent: -1}, "MaxConcurrent"},
		{"negative queue", b, GuardConfig{MaxQueue: -1}, "MaxQueue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewGuard[int](c.b, c.cfg)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
		})
	}
}

func TestGuardRefusesJobsItCannotAnswer(t *testing.T) {
	g := newGuard(t, newTest(t, Config{}), GuardConfig{})
	ctx := context.Background()
	var ce *ConfigError
	require.ErrorAs(t, g.Submit(ctx, nil, make(chan Result[int], 1)), &ce)
	assert.Equal(t, "fn", ce.Field)
	require.ErrorAs(t, g.Submit(ctx, func(context.Context) (int, error) { return 1, nil }, make(chan Result[int])), &ce)
	assert.Equal(t, "result", ce.Field, "an unbuffered channel could block the answer")
	_, err := g.Do(ctx, nil)
	assert.ErrorAs(t, err, &ce)
	assert.Zero(t, g.Metrics().Submitted)
}

func TestGuardRunsJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		g := newGuard(t, b, GuardConfig{})
		v, err := g.Do(context.Background(), func(context.Context) (int, error) { return 42, nil })
		require.NoError(t, err)
		assert.Equal(t, 42, v)
		_, err = g.Do(context.Background(), func(context.Context) (int, error) { return 0, errBoom })
		assert.ErrorIs(t, err, errBoom, "the job's own error, unchanged")
		synctest.Wait()
		assert.Equal(t, GuardMetrics{Submitted: 2, Completed: 2}, g.Metrics(), "no worker is left once idle")
		assert.Equal(t, uint64(1), b.Metrics().Failures)
	})
}

func TestGuardQueueFullIsAnImmediateRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGuard(t, newTest(t, Config{}), GuardConfig{MaxConcurrent: 1, MaxQueue: 1})
		ctx := context.Background()
		release := make(chan struct{})
		running, queued, full := make(chan Result[int], 1), make(chan Result[int], 1), make(chan Result[int], 1)
		require.NoError(t, g.Submit(ctx, blocker(release, 1), running))
		require.NoError(t, g.Submit(ctx, blocker(release, 2), queued))
		synctest.Wait()
		assert.Equal(t, 1, g.Metrics().Running)
		assert.Equal(t, 1, g.Metrics().Queued)

		err := g.Submit(ctx, blocker(release, 3), full)
		require.ErrorIs(t, err, ErrQueueFull)
		assert.Equal(t, Result[int]{Err: ErrQueueFull}, <-full, "the rejection is also the job's answer")

		close(release)
		assert.Equal(t, Result[int]{Value: 1}, <-running)
		assert.Equal(t, Result[int]{Value: 2}, <-queued)
		assert.Equal(t, uint64(1), g.Metrics().RejectedFull)
	})
}

func TestGuardOpenBreakerRejectsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1, OpenTimeout: time.Minute})
		g := newGuard(t, b, GuardConfig{})
		ctx := context.Background()
		_, err := g.Do(ctx, func(context.Context) (int, error) { return 0, errBoom })
		require.ErrorIs(t, err, errBoom)
		synctest.Wait()
		ran := false
		ch := make(chan Result[int], 1)
		err = g.Submit(ctx, func(context.Context) (int, error) { ran = true; return 1, nil }, ch)
		var open *OpenError
		require.ErrorAs(t, err, &open)
		assert.Equal(t, time.Minute+ProbeMargin, open.RetryAfter())
		assert.ErrorIs(t, (<-ch).Err, ErrOpen)
		assert.False(t, ran)
		assert.Equal(t, uint64(1), g.Metrics().RejectedOpen)
		assert.Equal(t, uint64(1), b.Metrics().RejectedOpen, "the breaker counts it too")
	})
}

func TestGuardHalfOpenAdmitsProbesWhenJobsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1, HalfOpenMaxRequests: 1, OpenTimeout: time.Minute})
		g := newGuard(t, b, GuardConfig{MaxConcurrent: 2})
		ctx := context.Background()
		_, _ = g.Do(ctx, func(context.Context) (int, error) { return 0, errBoom })
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State())

		release := make(chan struct{})
		probe, second := make(chan Result[int], 1), make(chan Result[int], 1)
		require.NoError(t, g.Submit(ctx, blocker(release, 1), probe))
		synctest.Wait()
		require.NoError(t, g.Submit(ctx, blocker(release, 2), second), "admission happens when the job runs")
		assert.ErrorIs(t, (<-second).Err, ErrRejected)
		close(release)
		assert.Equal(t, Result[int]{Value: 1}, <-probe)
		assert.Equal(t, uint64(1), g.Metrics().RejectedHalfOpen)
	})
}

func TestGuardCancelledWhileQueuedNeverRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGuard(t, newTest(t, Config{}), GuardConfig{MaxConcurrent: 1})
		release := make(chan struct{})
		running := make(chan Result[int], 1)
		require.NoError(t, g.Submit(context.Background(), blocker(release, 1), running))

		ctx, cancel := context.WithCancel(context.Background())
		queued := make(chan Result[int], 1)
		ran := atomic.Bool{}
		require.NoError(t, g.Submit(ctx, func(context.Context) (int, error) { ran.Store(true); return 2, nil }, queued))
		cancel()
		assert.ErrorIs(t, (<-queued).Err, context.Canceled, "answered while the worker is still busy")
		assert.Zero(t, g.Metrics().Queued)

		_, err := g.Do(ctx, func(context.Context) (int, error) { return 3, nil })
		assert.ErrorIs(t, err, context.Canceled, "a job whose context is already done is answered at once")
		close(release)
		<-running
		synctest.Wait()
		assert.False(t, ran.Load())
		assert.Equal(t, uint64(2), g.Metrics().Cancelled)
	})
}

func TestGuardStopAnswersQueuedJobsAndWaitsForRunningOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := NewGuard[int](newTest(t, Config{}), GuardConfig{MaxConcurrent: 1})
		require.NoError(t, err)
		ctx := context.Background()
		release := make(chan struct{})
		running, queued := make(chan Result[int], 1), make(chan Result[int], 1)
		require.NoError(t, g.Submit(ctx, blocker(release, 1), running))
		require.NoError(t, g.Submit(ctx, blocker(release, 2), queued))
		synctest.Wait()

		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		assert.ErrorIs(t, g.Stop(short), context.DeadlineExceeded, "the running job outlasts ctx")
		assert.Equal(t, Result[int]{Err: ErrGuardStopped}, <-queued, "queued jobs are answered, not run")
		assert.ErrorIs(t, g.Submit(ctx, blocker(release, 3), make(chan Result[int], 1)), ErrGuardStopped)

		close(release)
		require.NoError(t, g.Stop(ctx), "a second Stop waits again")
		assert.Equal(t, Result[int]{Value: 1}, <-running, "a running job finishes and is answered")
		m := g.Metrics()
		assert.Equal(t, uint64(2), m.RejectedStopped)
		assert.Equal(t, m.Submitted, m.Completed+m.Rejected())
	})
}

func TestGuardDoRaisesAPanicInTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		g := newGuard(t, b, GuardConfig{})
		assert.PanicsWithValue(t, errBoom, func() {
			_, _ = g.Do(context.Background(), func(context.Context) (int, error) { panic(errBoom) })
		})
		assert.Equal(t, uint64(1), b.Metrics().Failures)
		v, err := g.Do(context.Background(), func(context.Context) (int, error) { return 5, nil })
		assert.NoError(t, err, "the guard keeps working")
		assert.Equal(t, 5, v)
		assert.Equal(t, 0, g.Metrics().Running)
	})
}

func TestGuardDoRaisesAWorkersPanicInTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{})
		g := newGuard(t, b, GuardConfig{MaxConcurrent: 1})
		ctx := context.Background()
		release, first := make(chan struct{}), make(chan Result[int], 1)
		require.NoError(t, g.Submit(ctx, func(context.Context) (int, error) { <-release; return 1, nil }, first))
		raised := make(chan any, 1)
		go func() {
			defer func() { raised <- recover() }()
			_, _ = g.Do(ctx, func(context.Context) (int, error) { panic(errBoom) })
		}()
		synctest.Wait() // Do's job is queued behind the first
		close(release)
		pe, ok := (<-raised).(*JobPanicError)
		require.True(t, ok, "Do raises the worker's panic as a *JobPanicError")
		assert.ErrorIs(t, pe, errBoom)
		assert.NotEmpty(t, pe.Stack)
		assert.Equal(t, uint64(1), b.Metrics().Failures)
	})
}

func TestGuardSubmitPanicIsAnAnswerAndAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Classify: func(error) Outcome { return Ignore }})
		g := newGuard(t, b, GuardConfig{})
		ch := make(chan Result[int], 1)
		require.NoError(t, g.Submit(context.Background(), func(context.Context) (int, error) { panic(errBoom) }, ch))
		var pe *JobPanicError
		require.ErrorAs(t, (<-ch).Err, &pe)
		assert.ErrorIs(t, pe, errBoom)
		assert.NotEmpty(t, pe.Stack)
		synctest.Wait()
		assert.Equal(t, uint64(1), b.Metrics().Failures, "a panic is a failure whatever the classifier")
	})
}

func TestGuardClassifierPanicOnAWorkerIsAnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{Classify: func(error) Outcome { panic("classifier") }})
		g := newGuard(t, b, GuardConfig{})
		ch := make(chan Result[int], 1)
		require.NoError(t, g.Submit(context.Background(), func(context.Context) (int, error) { return 0, errBoom }, ch))
		var pe *JobPanicError
		require.ErrorAs(t, (<-ch).Err, &pe)
		assert.Equal(t, "classifier", pe.Value)
		synctest.Wait()
		assert.Equal(t, uint64(1), b.Metrics().Failures)
		assert.Equal(t, 0, g.Metrics().Running)
	})
}

func TestGuardGoexitIsAnsweredAndTheQueueGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGuard(t, newTest(t, Config{}), GuardConfig{MaxConcurrent: 1})
		ctx := context.Background()
		release := make(chan struct{})
		first, second := make(chan Result[int], 1), make(chan Result[int], 1)
		require.NoError(t, g.Submit(ctx, func(context.Context) (int, error) { <-release; runtime.Goexit(); return 0, nil }, first))
		require.NoError(t, g.Submit(ctx, func(context.Context) (int, error) { return 2, nil }, second))
		close(release)
		assert.ErrorIs(t, (<-first).Err, ErrJobExited)
		assert.Equal(t, Result[int]{Value: 2}, <-second)
		synctest.Wait()
		assert.Equal(t, 0, g.Metrics().Running)
		assert.Equal(t, uint64(1), g.Metrics().Exited)
	})
}

// TestGuardLoad runs many submitters with random outcomes, durations and
// cancellations through a guard whose breaker trips and recovers, stops
// the guard in the middle, and checks that every job got exactly one
// answer and that no more than MaxConcurrent jobs ever ran at once.
func TestGuardLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const submitters, jobs, maxConc = 16, 150, 4
		b := newTest(t, Config{FailureThreshold: 3, OpenTimeout: 20 * time.Millisecond, HalfOpenMaxRequests: 2})
		g, err := NewGuard[int](b, GuardConfig{MaxConcurrent: maxConc, MaxQueue: 8})
		require.NoError(t, err)

		var now, peak atomic.Int64
		work := func(fail bool, d time.Duration) func(context.Context) (int, error) {
			return func(ctx context.Context) (int, error) {
				n := now.Add(1)
				defer now.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				if fail {
					return 0, errBoom
				}
				return 1, nil
			}
		}

		answers := make([][]chan Result[int], submitters)
		var wg sync.WaitGroup
		for s := range submitters {
			answers[s] = make([]chan Result[int], jobs)
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(s), 7))
				for i := range jobs {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(30))*time.Millisecond)
					ch := make(chan Result[int], 1)
					answers[s][i] = ch
					fn := work(r.IntN(4) == 0, time.Duration(r.IntN(10))*time.Millisecond)
					if r.IntN(5) == 0 { // Do may run fn on this goroutine: still within the bound
						v, err := g.Do(ctx, fn)
						ch <- Result[int]{Value: v, Err: err}
					} else {
						_ = g.Submit(ctx, fn, ch)
					}
					time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
					defer cancel()
				}
			})
		}
		time.Sleep(80 * time.Millisecond) // submitters are about half way
		require.NoError(t, g.Stop(context.Background()))
		wg.Wait()
		synctest.Wait()

		m := g.Metrics()
		for s := range answers {
			for _, ch := range answers[s] {
				require.Len(t, ch, 1, "every job has exactly one answer waiting")
			}
		}
		assert.LessOrEqual(t, peak.Load(), int64(maxConc))
		assert.Equal(t, uint64(submitters*jobs), m.Submitted)
		assert.Equal(t, m.Submitted, m.Completed+m.Cancelled+m.Exited+m.Rejected())
		assert.Zero(t, m.Running)
		t.Logf("%+v", m)
		assert.NotZero(t, m.Completed)
		assert.NotZero(t, m.Cancelled)
		assert.NotZero(t, m.RejectedFull)
		assert.NotZero(t, m.RejectedStopped)
	})
}
