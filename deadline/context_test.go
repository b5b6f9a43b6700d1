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
	"github.com/llm-research-lab/resilience/internal/timers"
)

type testKey struct{}

// The watchdog's context must behave like any context.Context for the
// code the function hands it to: derived contexts, AfterFunc, Cause.
func TestCallChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		var child, valued context.Context
		var after atomic.Bool
		err := run(context.Background(), s, limit{Timeout: time.Second}, func(ctx context.Context) error {
			var cancel context.CancelFunc
			child, cancel = context.WithCancel(ctx)
			defer cancel()
			valued = context.WithValue(ctx, testKey{}, 1)
			context.AfterFunc(ctx, func() { after.Store(true) })
			<-child.Done()
			return child.Err()
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.ErrorIs(t, child.Err(), context.DeadlineExceeded, "a derived context ends with the call")
		assert.ErrorIs(t, valued.Err(), context.DeadlineExceeded)
		assert.ErrorIs(t, context.Cause(valued), context.DeadlineExceeded)
		synctest.Wait()
		assert.True(t, after.Load(), "context.AfterFunc runs when the call ends")
	})
}

func TestCallAfterEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		var inner context.Context
		require.NoError(t, run(context.Background(), s, limit{Timeout: time.Second}, func(ctx context.Context) error {
			inner = ctx
			return nil
		}))
		<-inner.Done() // closed already, though nobody asked before
		child, cancel := context.WithCancel(inner)
		defer cancel()
		assert.ErrorIs(t, child.Err(), context.Canceled, "a child of an ended call starts ended")
		var ran atomic.Bool
		stop := inner.(*timers.Call).AfterFunc(func() { ran.Store(true) })
		assert.False(t, stop(), "too late to stop")
		synctest.Wait()
		assert.True(t, ran.Load())
	})
}

func TestCallParentPropagation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		parent, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(time.Millisecond, func() { cancel(errBoom) })
		err := run(parent, s, limit{Timeout: time.Second}, func(ctx context.Context) error {
			child, stop := context.WithTimeout(ctx, time.Hour)
			defer stop()
			<-child.Done()
			return child.Err()
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, resilience.ErrTimeout)
		assert.ErrorIs(t, context.Cause(parent), errBoom)
	})
}

// context.Cause of a call that elapsed under a live, cancellable parent
// (the middleware's case: the request's context) is the call's error, not
// the parent's nil cause.
func TestCallCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), testKey{}, "kept"))
		defer cancel()
		var inner, child context.Context
		err := run(parent, s, limit{Timeout: time.Second}, func(ctx context.Context) error {
			inner = ctx
			var stop context.CancelFunc
			child, stop = context.WithCancel(ctx)
			defer stop()
			assert.Equal(t, "kept", ctx.Value(testKey{}), "other values pass through")
			<-ctx.Done()
			assert.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)
			<-child.Done() // a child of a custom Context is cancelled asynchronously
			assert.ErrorIs(t, context.Cause(child), context.DeadlineExceeded)
			return ctx.Err()
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.ErrorIs(t, context.Cause(inner), context.DeadlineExceeded)
	})
}

func TestNestedRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWatchdog(t)
		start := time.Now()
		err := run(context.Background(), s, limit{Op: "outer", Timeout: 50 * time.Millisecond}, func(ctx context.Context) error {
			return run(ctx, s, limit{Op: "inner", Timeout: time.Second}, func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			})
		})
		assert.Equal(t, 50*time.Millisecond, time.Since(start))
		var ee *resilience.TimeoutError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, "outer", ee.Op, "the outer limit elapsed; the inner call saw its parent end")
	})
}

// Everything at once, with real time and the race detector: the deadline,
// the function's return and the parent's cancellation race, while other
// goroutines use the context. Whatever wins, the context contract holds:
// once Err is non-nil it stays so, Done is closed, and children end.
func TestCallRaces(t *testing.T) {
	s := newWatchdog(t)
	for i := range 500 {
		parent, cancelParent := context.WithCancel(context.Background())
		lim := limit{Timeout: time.Duration(i%50) * time.Microsecond}
		if lim.Timeout == 0 {
			lim.Timeout = time.Nanosecond
		}
		var users sync.WaitGroup
		var inner context.Context
		var children []context.Context
		err := run(parent, s, lim, func(ctx context.Context) error {
			inner = ctx
			for j := range 3 {
				child, cancel := context.WithCancel(ctx)
				children = append(children, child)
				users.Go(func() {
					defer cancel()
					switch j {
					case 0:
						<-child.Done()
					case 1:
						stop := context.AfterFunc(ctx, func() {})
						_ = ctx.Err()
						stop()
					case 2:
						if i%3 == 0 {
							cancelParent()
						}
					}
				})
			}
			if i%2 == 0 {
				<-ctx.Done()
			}
			return ctx.Err()
		})
		cancelParent()
		users.Wait()
		require.Error(t, inner.Err())
		select {
		case <-inner.Done():
		default:
			t.Fatal("Done must be closed once Run returned")
		}
		for _, c := range children {
			<-c.Done()
		}
		if err != nil && !errors.Is(err, resilience.ErrTimeout) {
			require.ErrorIs(t, err, context.Canceled, "only the limit or the parent end a call early")
		}
	}
	assert.Zero(t, s.Metrics().Pending)
}
