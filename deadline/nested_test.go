package deadline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// When the outer limit elapses, the inner Run's own (longer) limit has not:
// the inner call must not report "inner elapsed after 1s". The scheduler
// gets this right; the runtime-timer path (nil *Scheduler, i.e. the
// package-level Run and Do, and the Middleware's default) does not.
func TestNestedRunReportsTheRightLimit(t *testing.T) {
	for _, tm := range timers {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				var innerErr error
				start := time.Now()
				_ = s.Run(context.Background(), Limit{Op: "outer", Timeout: 50 * time.Millisecond}, func(ctx context.Context) error {
					innerErr = s.Run(ctx, Limit{Op: "inner", Timeout: time.Second}, func(ctx context.Context) error {
						<-ctx.Done()
						return ctx.Err()
					})
					return innerErr
				})
				if time.Since(start) != 50*time.Millisecond {
					t.Fatalf("took %v", time.Since(start))
				}
				var ee *ElapsedError
				if errors.As(innerErr, &ee) && ee.Op == "inner" {
					t.Errorf("inner call reports its own 1s limit elapsed after 50ms: %v", innerErr)
				}
			})
		})
	}
}
