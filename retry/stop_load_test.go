package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Stop with a short context while 16 goroutines keep submitting and
// cancelling, and jobs are running, waiting and queued: Stop returns by its deadline, every job
// submitted before, during and after it is answered exactly once (a
// result, or Reason ErrStopped), and every goroutine exits.
func TestStopUnderLoadIsBoundedAndAnswersEveryJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, Config{InitialDelay: ms, MaxDelay: 20 * ms, MaxAttempts: 5}, SchedulerConfig{Workers: 8, Mailbox: 8})
		stopped := make(chan struct{}) // closed when the first Stop returned
		var submitted, answered, refused atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 11))
				var outs []<-chan error
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
					outs = append(outs, s.Submit(ctx, func(ctx context.Context) error {
						n := resilience.Attempt(ctx)
						time.Sleep(work)
						if n <= failUntil {
							return errBoom
						}
						return nil
					}))
					submitted.Add(1)
					time.Sleep(time.Duration(1+rng.IntN(10)) * ms)
					if rng.IntN(4) == 0 {
						cancel()
					}
				}
				for i, out := range outs {
					err := <-out
					answered.Add(1)
					var re *Error
					if err != nil && !errors.As(err, &re) {
						t.Errorf("answer %v is not an *Error", err)
					}
					if i >= len(outs)-after && (re == nil || re.Reason != resilience.ErrStopped || !errors.Is(err, resilience.ErrStopped)) {
						t.Errorf("submitted after Stop: answer %v, want Reason ErrStopped", err)
					}
					if re != nil && re.Reason == resilience.ErrStopped {
						refused.Add(1)
					}
				}
			})
		}
		time.Sleep(60 * ms)
		ctx, cancel := context.WithTimeout(context.Background(), 5*ms)
		defer cancel()
		start := time.Now()
		err := s.Stop(ctx)
		took := time.Since(start)
		close(stopped)
		assert.LessOrEqual(t, took, 5*ms, "Stop returned by its deadline")
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		wg.Wait()
		require.NoError(t, s.Stop(context.Background()), "the second Stop waits for the workers")
		assert.Equal(t, submitted.Load(), answered.Load(), "every job answered")
		assert.Zero(t, s.Pending(), "and none twice")
		t.Logf("%d jobs, %d answered stopped, Stop took %v (%v)", submitted.Load(), refused.Load(), took, err)
	})
}
