package deadline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// When the outer limit elapses, the inner call's own (longer) limit has
// not: the inner call must not report "inner timed out after 1s", on the
// watchdog and on the shared timer (in a bubble, its runtime-timer
// fallback) alike.
func TestNestedRunReportsTheRightLimit(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				var innerErr error
				start := time.Now()
				_ = run(context.Background(), s, limit{Op: "outer", Timeout: 50 * time.Millisecond}, func(ctx context.Context) error {
					innerErr = run(ctx, s, limit{Op: "inner", Timeout: time.Second}, func(ctx context.Context) error {
						<-ctx.Done()
						return ctx.Err()
					})
					return innerErr
				})
				if time.Since(start) != 50*time.Millisecond {
					t.Fatalf("took %v", time.Since(start))
				}
				var ee *resilience.TimeoutError
				if errors.As(innerErr, &ee) && ee.Op == "inner" {
					t.Errorf("inner call reports its own 1s limit elapsed after 50ms: %v", innerErr)
				}
			})
		})
	}
}

// A call whose own limit fired first is a timeout even if the caller's
// context ends before the function returns: which came first decides.
func TestOwnLimitFirstThenParentIsATimeout(t *testing.T) {
	for _, tm := range timerCases {
		t.Run(tm.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tm.new(t)
				parent, cancel := context.WithCancel(context.Background())
				err := run(parent, s, limit{Op: "op", Timeout: time.Second}, func(ctx context.Context) error {
					<-ctx.Done()
					cancel() // the caller gives up too, after the limit
					return ctx.Err()
				})
				var te *resilience.TimeoutError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, "op", te.Op)
			})
		})
	}
}
