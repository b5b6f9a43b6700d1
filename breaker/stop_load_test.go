package breaker

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
)

// TestBreakerStopBoundedUnderLoad stops a breaker while callers keep
// calling it through every path (closed, tripping, open, half-open
// probes): Stop returns by its deadline and every caller hears ErrStopped
// and returns.
func TestBreakerStopBoundedUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 3, OpenTimeout: time.Millisecond,
			HalfOpenMaxRequests: 2, SuccessThreshold: 1, Mailbox: 2})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var calls atomic.Int64
		for w := range 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					err := b.Call(ctx, func(context.Context) error {
						time.Sleep(time.Duration((w+i)%3) * 100 * time.Microsecond)
						if (w+i)%4 == 0 {
							return errBoom
						}
						return nil
					})
					cancel()
					calls.Add(1)
					if errors.Is(err, ErrStopped) {
						return
					}
					time.Sleep(50 * time.Microsecond) // virtual time moves only when every goroutine waits
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = b.Stop(ctx)
		assert.LessOrEqual(t, time.Since(start), 2*time.Millisecond, "Stop returns by its deadline")
		assert.True(t, err == nil || errors.Is(err, context.DeadlineExceeded), "Stop: %v", err)
		wg.Wait() // every caller was answered ErrStopped
		assert.Positive(t, calls.Load())
		require.NoError(t, b.Stop(context.Background()))
	})
}

// TestGuardStopBoundedUnderLoad stops a guard while callers keep
// submitting: Stop returns by its deadline although jobs still run, every
// job gets exactly one answer, and a later Stop waits for the rest.
func TestGuardStopBoundedUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 1 << 20})
		g, err := NewGuard[int](b, GuardConfig{MaxConcurrent: 3, MaxQueue: 4})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var sent, answered atomic.Int64
		job := func(context.Context) (int, error) { time.Sleep(10 * time.Millisecond); return 1, nil }
		for w := range 12 {
			wg.Go(func() {
				for i := 0; ; i++ {
					sent.Add(1)
					var err error
					if (w+i)%2 == 0 {
						_, err = g.Do(context.Background(), job)
					} else {
						ch := make(chan Result[int], 1)
						_ = g.Submit(context.Background(), job, ch)
						err = (<-ch).Err
					}
					answered.Add(1)
					if errors.Is(err, ErrGuardStopped) {
						return
					}
					time.Sleep(time.Millisecond) // after a full queue: virtual time moves only when every goroutine waits
				}
			})
		}
		time.Sleep(25 * time.Millisecond) // jobs are running and queued
		require.Positive(t, g.Metrics().Running)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, g.Stop(ctx), context.DeadlineExceeded, "running jobs outlast the deadline")
		assert.Equal(t, 2*time.Millisecond, time.Since(start), "Stop returns at its deadline")
		wg.Wait()
		assert.Equal(t, sent.Load(), answered.Load(), "every job is answered")
		require.NoError(t, g.Stop(context.Background()))
		m := g.Metrics()
		assert.Zero(t, m.Running+m.Queued)
		assert.Equal(t, m.Submitted, m.Completed+m.Cancelled+m.Exited+m.Rejected())
	})
}
