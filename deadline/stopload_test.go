package deadline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Watchdog.Stop with a short ctx while many goroutines call through a
// Pipeline timed by it and RunOrAbandon, some of whose functions ignore
// their ctx: Stop returns by its ctx saying what is still running, every
// caller is answered (its function's result, a TimeoutError or
// ErrStopped), calls in flight keep their limits, and once the stragglers
// return a second Stop finds nothing left and Done closes (synctest: no
// goroutine outlives the test).
func TestWatchdogStopBoundedUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{Shards: 4})
		require.NoError(t, err)
		release := make(chan struct{}) // lets the functions that ignore ctx return
		var callers sync.WaitGroup
		var answered, stopped atomic.Int64
		check := func(err error) bool {
			answered.Add(1)
			if errors.Is(err, resilience.ErrStopped) {
				stopped.Add(1)
				return false
			}
			if err != nil {
				assert.ErrorIs(t, err, resilience.ErrTimeout)
			}
			return true
		}
		for g := range 24 {
			callers.Go(func() {
				for i := 0; ; i++ {
					lim := limit{Op: "op", Timeout: time.Duration(1+(g+i)%20) * time.Millisecond}
					var err error
					switch (g + i) % 4 {
					case 0: // ignores its ctx until released
						err = s.RunOrAbandon(context.Background(), lim.Op, lim.Timeout, func(context.Context) error {
							<-release
							return nil
						})
					case 1: // waits for its deadline
						err = run(context.Background(), s, lim, func(ctx context.Context) error {
							<-ctx.Done()
							return ctx.Err()
						})
					default: // fast
						err = run(context.Background(), s, lim, func(ctx context.Context) error {
							time.Sleep(time.Millisecond)
							return nil
						})
					}
					if !check(err) {
						return
					}
				}
			})
		}
		time.Sleep(50 * time.Millisecond)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err = s.Stop(ctx)
		assert.LessOrEqual(t, time.Since(begin), 10*time.Millisecond)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "abandoned functions are still running")
		assert.Contains(t, err.Error(), "abandoned calls still running")
		callers.Wait() // every caller answered: each loop ended on ErrStopped
		assert.Equal(t, int64(24), stopped.Load())
		assert.Greater(t, answered.Load(), int64(24))

		close(release)
		require.NoError(t, s.Stop(context.Background()))
		<-s.Done()
		assert.Zero(t, s.Metrics().Abandoned)
	})
}
