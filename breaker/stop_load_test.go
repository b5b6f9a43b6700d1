package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBreakerStopBoundedUnderLoad stops a breaker while callers keep
// calling it through every path (closed, tripping, open, half-open
// probes): Stop returns by its deadline and every caller hears resilience.ErrStopped
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
					err := b.Run(ctx, func(context.Context) error {
						time.Sleep(time.Duration((w+i)%3) * 100 * time.Microsecond)
						if (w+i)%4 == 0 {
							return errBoom
						}
						return nil
					})
					cancel()
					calls.Add(1)
					if errors.Is(err, resilience.ErrStopped) {
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
		wg.Wait() // every caller was answered resilience.ErrStopped
		assert.Positive(t, calls.Load())
		require.NoError(t, b.Stop(context.Background()))
	})
}
