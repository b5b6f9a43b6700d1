package retry

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Cancelling the context shared by 50 000 waiting jobs answers them all at
// once (no virtual time passes) with a bounded number of goroutines, not
// one per job.
func TestCancelManyWaitingJobsCostsNoGoroutinePerJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const jobs = 50_000
		s := newSched(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour}, SchedulerConfig{})
		defer stop(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		outs := make([]<-chan error, jobs)
		for i := range outs {
			outs[i] = s.Submit(ctx, func(context.Context) error { return errBoom })
		}
		synctest.Wait()
		require.Equal(t, jobs, s.Pending(), "every job waits for its retry")
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
		for _, out := range outs {
			re := asError(t, <-out)
			if !errors.Is(re.Reason, context.Canceled) {
				t.Fatalf("answer %v, want a context stop", re)
			}
		}
		close(done)
		<-sampled
		assert.Zero(t, time.Since(start), "answered without waiting for the timers")
		t.Logf("goroutine peak over baseline: %d", peak-base)
		assert.Less(t, peak-base, 100, "goroutines over the baseline while cancelling %d jobs", jobs)
		assert.Zero(t, s.Pending())
	})
}

// While the actor is stuck in a user callback and its mailbox is full,
// cancelling jobs costs no blocked goroutine, Submit gives up with its
// context, and Stop returns by its context's deadline; once the callback
// returns, every job is answered.
func TestStuckActorCancelSubmitAndStopStayBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBlock := errors.New("blocks the actor")
		release := make(chan struct{})
		cfg := Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour, Classify: func(err error) resilience.Outcome {
			if errors.Is(err, errBlock) {
				<-release
			}
			return resilience.Failure
		}}
		const mailbox, waiting = 4, 50
		s := newSched(t, cfg, SchedulerConfig{Workers: 1, Mailbox: mailbox})
		var outs []<-chan error
		cancels := make([]context.CancelFunc, waiting)
		for i := range cancels {
			ctx, cancel := context.WithCancel(context.Background())
			cancels[i] = cancel
			outs = append(outs, s.Submit(ctx, func(context.Context) error { return errBoom }))
		}
		synctest.Wait()
		outs = append(outs, s.Submit(context.Background(), func(context.Context) error { return errBlock }))
		synctest.Wait() // the actor is now stuck in Classify
		for range mailbox {
			outs = append(outs, s.Submit(context.Background(), func(context.Context) error { return nil }))
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		start := time.Now()
		late := s.Submit(ctx, func(context.Context) error { return nil })
		assert.Equal(t, time.Second, time.Since(start), "Submit waited for room until its context ended")
		assert.ErrorIs(t, <-late, context.DeadlineExceeded)
		cancel()

		synctest.Wait()
		base := runtime.NumGoroutine()
		for _, c := range cancels {
			c()
		}
		synctest.Wait()
		assert.LessOrEqual(t, runtime.NumGoroutine(), base+5, "no goroutine waits to deliver one of %d cancellations", waiting)

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		start = time.Now()
		assert.ErrorIs(t, s.Stop(ctx), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "Stop returned at its deadline")
		cancel()

		close(release)
		require.NoError(t, s.Stop(context.Background()))
		for i, out := range outs {
			select {
			case <-out:
			default:
				t.Errorf("job %d never answered", i)
			}
		}
		assert.Zero(t, s.Pending())
	})
}
