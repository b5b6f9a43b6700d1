package bulkhead_test

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
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

var errFlaky = errors.New("flaky")

// hourly is a retry policy that waits an hour between attempts.
func hourly(t *testing.T, attempts int) *retry.Policy {
	t.Helper()
	r, err := retry.New(retry.Config{Jitter: retry.NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour, MaxAttempts: attempts})
	require.NoError(t, err)
	return r
}

// failFirst fails attempt 1 and returns its attempt number after that.
func failFirst(ctx context.Context) (int, error) {
	if n := resilience.Attempt(ctx); n > 1 {
		return n, nil
	}
	return 1, errFlaky
}

// Jobs waiting for their retry hold no goroutine and no slot: with one
// slot, 1000 of them wait at once as timers, and all retry an hour later.
func TestWaitingRetriesHoldNoGoroutineAndNoSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const jobs = 1000
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: jobs})
		p := &resilience.Pipeline{Retry: hourly(t, 2), Bulkhead: b}
		base := runtime.NumGoroutine()
		out := make(chan resilience.Result[int], jobs)
		for range jobs {
			require.NoError(t, resilience.Submit(context.Background(), p, failFirst, out))
		}
		synctest.Wait()
		m := b.Metrics()
		assert.Equal(t, 0, m.InFlight, "no slot held while waiting")
		assert.Equal(t, jobs, m.Delayed)
		assert.LessOrEqual(t, runtime.NumGoroutine()-base, 2, "no goroutine per waiting retry")
		start := time.Now()
		for range jobs {
			r := <-out
			require.NoError(t, r.Err)
			require.Equal(t, 2, r.Value, "the second attempt's value")
		}
		assert.Equal(t, time.Hour, time.Since(start))
		require.NoError(t, b.Stop(context.Background()))
	})
}

// Cancelling the context shared by 50 000 waiting retries answers them all
// at once (no virtual time passes) with a bounded number of goroutines,
// not one per job.
func TestCancelManyWaitingRetriesCostsNoGoroutinePerJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const jobs = 50_000
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 10, MaxQueue: jobs})
		p := &resilience.Pipeline{Retry: hourly(t, 3), Bulkhead: b}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan resilience.Result[int], jobs)
		for range jobs {
			require.NoError(t, resilience.Submit(ctx, p, func(context.Context) (int, error) { return 0, errFlaky }, out))
		}
		synctest.Wait()
		require.Equal(t, jobs, b.Metrics().Delayed, "every job waits for its retry")
		base := runtime.NumGoroutine()
		peak, done, sampled := base, make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				peak = max(peak, runtime.NumGoroutine())
				select {
				case <-done:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
		start := time.Now()
		cancel()
		for range jobs {
			if r := <-out; !errors.Is(r.Err, context.Canceled) {
				t.Fatalf("answer %v, want a context stop", r.Err)
			}
		}
		close(done)
		<-sampled
		assert.Zero(t, time.Since(start), "answered without waiting for the timers")
		t.Logf("goroutine peak over baseline: %d", peak-base)
		assert.Less(t, peak-base, 100, "goroutines over the baseline while cancelling %d jobs", jobs)
		m := b.Metrics()
		assert.Zero(t, m.Delayed)
		assert.Equal(t, uint64(jobs), m.Cancelled)
		require.NoError(t, b.Stop(context.Background()))
	})
}

const ms = time.Millisecond

// Stop with a short context while 16 goroutines keep submitting and
// cancelling, and jobs are running, waiting for a retry and queued: Stop
// returns by its deadline, every job accepted before, during and after it
// is answered exactly once, jobs submitted after it are refused with
// ErrStopped, and every goroutine exits.
func TestStopUnderLoadAnswersEveryRetryingJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(retry.Config{InitialDelay: ms, MaxDelay: 20 * ms, MaxAttempts: 5})
		require.NoError(t, err)
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 8, MaxQueue: 64})
		p := &resilience.Pipeline{Retry: r, Bulkhead: b}
		stopped := make(chan struct{}) // closed when the first Stop returned
		var accepted, answered, full, stopAnswers atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var all []chan resilience.Result[int]
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 11))
				var outs []chan resilience.Result[int]
				after := 0 // submissions once Stop has returned
				for after < 3 {
					select {
					case <-stopped:
						after++
					default:
					}
					work, failUntil := time.Duration(rng.IntN(8))*ms, rng.IntN(3)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					out := make(chan resilience.Result[int], 2)
					err := resilience.Submit(ctx, p, func(ctx context.Context) (int, error) {
						n := resilience.Attempt(ctx)
						time.Sleep(work)
						if n <= failUntil {
							return n, errFlaky
						}
						return n, nil
					}, out)
					switch {
					case after > 0:
						assert.ErrorIs(t, err, resilience.ErrStopped, "submitted after Stop")
					case errors.Is(err, resilience.ErrFull), errors.Is(err, resilience.ErrStopped):
						full.Add(1)
					case err != nil:
						t.Errorf("Submit: %v", err)
					default:
						accepted.Add(1)
						outs = append(outs, out)
					}
					time.Sleep(time.Duration(1+rng.IntN(10)) * ms)
					if rng.IntN(4) == 0 {
						cancel()
					}
				}
				for _, out := range outs {
					r := <-out
					answered.Add(1)
					if errors.Is(r.Err, resilience.ErrStopped) {
						stopAnswers.Add(1)
					}
				}
				mu.Lock()
				all = append(all, outs...)
				mu.Unlock()
			})
		}
		time.Sleep(60 * ms)
		ctx, cancel := context.WithTimeout(context.Background(), 5*ms)
		defer cancel()
		start := time.Now()
		err = b.Stop(ctx)
		took := time.Since(start)
		close(stopped)
		assert.LessOrEqual(t, took, 5*ms, "Stop returned by its deadline")
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		wg.Wait()
		require.NoError(t, b.Stop(context.Background()), "the second Stop waits for the workers")
		assert.Equal(t, accepted.Load(), answered.Load(), "every job answered")
		synctest.Wait()
		for _, out := range all {
			assert.Empty(t, out, "answered once")
		}
		m := b.Metrics()
		assert.Zero(t, m.Delayed+m.Queued+m.InFlight)
		t.Logf("%d jobs, %d refused at once, %d answered stopped, Stop took %v (%v)",
			accepted.Load(), full.Load(), stopAnswers.Load(), took, err)
	})
}

var errTrigger = errors.New("makes the callback panic")

// panickySource panics on its first draw, then behaves.
type panickySource struct{ drawn bool }

func (p *panickySource) Uint64() uint64 {
	if !p.drawn {
		p.drawn = true
		panic("Rand")
	}
	return 1
}

// A panic in the retry policy's callbacks or in fn, run on a worker, is
// that job's answer, as a *PanicError with the value and the stack; the
// bulkhead keeps serving other jobs and stops cleanly.
func TestPanicInRetryCallbackOrFnIsTheJobsAnswer(t *testing.T) {
	var delayPanicked atomic.Bool
	cases := map[string]retry.Config{
		"Classify": {Classify: func(err error) resilience.Outcome {
			if errors.Is(err, errTrigger) {
				panic("Classify")
			}
			return resilience.Failure
		}},
		"Delay": {Delay: func(int, error, time.Duration) time.Duration {
			if !delayPanicked.Swap(true) {
				panic("Delay")
			}
			return ms
		}},
		"Rand":   {Rand: rand.Source(&panickySource{})},
		"fn":     {},
		"Goexit": {},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := retry.New(cfg)
				require.NoError(t, err)
				b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 4})
				p := &resilience.Pipeline{Retry: r, Bulkhead: b}
				out := make(chan resilience.Result[int], 1)
				require.NoError(t, resilience.Submit(context.Background(), p, func(context.Context) (int, error) {
					switch name {
					case "fn":
						panic("fn")
					case "Goexit":
						runtime.Goexit()
					}
					return 7, errTrigger
				}, out))
				res := <-out
				var pe *resilience.PanicError
				require.ErrorAs(t, res.Err, &pe)
				if name == "Goexit" {
					assert.Equal(t, "runtime.Goexit called", pe.Value)
				} else {
					assert.Equal(t, name, pe.Value)
				}
				assert.Contains(t, string(pe.Stack), "panic", "the stack of the panic")

				for range 3 {
					require.NoError(t, resilience.Submit(context.Background(), p, failFirst, out))
					res := <-out
					require.NoError(t, res.Err, "the bulkhead keeps retrying other jobs")
					assert.Equal(t, 2, res.Value)
				}
				require.NoError(t, b.Stop(context.Background()))
				assert.Zero(t, b.Metrics().InFlight)
			})
		})
	}
}

// A delayed job holds a queue place, no slot; Stop answers it at once with
// ErrStopped and stops its timer, and its context's end answers it at once.
func TestDelayedJobsCountTowardTheBoundAndAreAnsweredAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		answers := make(chan error, 3)
		job := func(_ context.Context, err error) { answers <- err }
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, b.Go(ctx, time.Hour, job))
		require.NoError(t, b.Go(context.Background(), time.Hour, job))
		require.ErrorIs(t, b.Go(context.Background(), time.Hour, job), resilience.ErrFull,
			"a bulkhead holds MaxConcurrent + MaxQueue jobs in all, waiting ones included")
		require.ErrorIs(t, b.Go(context.Background(), 0, job), resilience.ErrFull, "a new job is refused too")
		m := b.Metrics()
		assert.Equal(t, 2, m.Delayed)
		assert.Zero(t, m.InFlight)

		start := time.Now()
		cancel()
		assert.ErrorIs(t, <-answers, context.Canceled)
		require.NoError(t, b.Stop(context.Background()))
		assert.ErrorIs(t, <-answers, resilience.ErrStopped)
		assert.Zero(t, time.Since(start), "answered without waiting for the timers")
		synctest.Wait()
		assert.Empty(t, answers, "each job answered once")
		assert.Zero(t, b.Metrics().Delayed)
	})
}

// A delayed job runs on a worker once its delay is over.
func TestDelayedJobRunsAfterItsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 1})
		ran := make(chan time.Duration, 1)
		start := time.Now()
		require.NoError(t, b.Go(context.Background(), time.Minute, func(_ context.Context, err error) {
			assert.NoError(t, err)
			ran <- time.Since(start)
		}))
		assert.Equal(t, time.Minute, <-ran)
		require.NoError(t, b.Stop(context.Background()))
	})
}

// The pipeline's Timeout bounds the whole job, waits included: a wait that
// would end past it is not started, and the job ends as Pipeline.Run
// would: with the retry error, whose Reason is context.DeadlineExceeded.
func TestSubmitTimeoutBoundsTheRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxQueue: 1})
		p := &resilience.Pipeline{Name: "dep", Timeout: 90 * time.Minute, Retry: hourly(t, 5), Bulkhead: b}
		out := make(chan resilience.Result[int], 1)
		start := time.Now()
		require.NoError(t, resilience.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			return resilience.Attempt(ctx), errFlaky
		}, out))
		res := <-out
		assert.Equal(t, time.Hour, time.Since(start), "the second wait would pass the Timeout")
		assert.Equal(t, 2, res.Value)
		var re *retry.Error
		require.ErrorAs(t, res.Err, &re)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.ErrorIs(t, res.Err, errFlaky)
		require.NoError(t, b.Stop(context.Background()))
	})
}

// Delayed jobs run in the order their delays end, whatever the order they
// came in, and withdrawing the earliest keeps the others on time.
func TestDelayedJobsRunWhenTheirDelaysEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1, MaxQueue: 8})
		start := time.Now()
		ran := make(chan time.Duration, 8)
		job := func(_ context.Context, err error) {
			if err == nil {
				ran <- time.Since(start)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, b.Go(ctx, 30*time.Minute, func(context.Context, error) {}))
		for _, h := range []time.Duration{3, 1, 5, 2, 4} {
			require.NoError(t, b.Go(context.Background(), h*time.Hour, job))
		}
		cancel()
		for h := 1; h <= 5; h++ {
			assert.Equal(t, time.Duration(h)*time.Hour, <-ran)
		}
		require.NoError(t, b.Stop(context.Background()))
	})
}

// A bulkhead that queues nothing (the default) still lets a job retry: the
// attempt gives its slot back as its retry goes to wait, and meanwhile a
// new job is refused, so the bound holds.
func TestARetryIsNeverRefusedForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, bulkhead.Config{MaxConcurrent: 1})
		rp, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Second, Jitter: retry.NoJitter})
		require.NoError(t, err)
		p := &resilience.Pipeline{Retry: rp, Bulkhead: b}
		out := make(chan resilience.Result[int], 2)
		require.NoError(t, resilience.Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			if n := resilience.Attempt(ctx); n < 3 {
				return n, errFlaky
			}
			return 3, nil
		}, out))
		synctest.Wait() // the first attempt failed; its retry waits
		assert.Equal(t, 1, b.Metrics().Delayed)
		err = resilience.Submit(context.Background(), p, func(context.Context) (int, error) { return 0, nil }, out)
		require.ErrorIs(t, err, resilience.ErrFull, "the waiting retry keeps its place")
		r := <-out
		require.NoError(t, r.Err)
		assert.Equal(t, 3, r.Value)
		require.NoError(t, b.Stop(context.Background()))
	})
}
