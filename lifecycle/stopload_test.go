package lifecycle

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Supervisor.Stop with a short ctx while many goroutines query it, a child
// keeps crashing and other Stop calls race: every Stop returns by its own
// ctx, every caller is answered, and (synctest) no goroutine is left.
func TestSupervisorStopBoundedUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["slow"] = func(p *probe) { p.stopDelay = time.Minute } // honours ctx
		slow := ps.spec("slow", RestartAlways)
		slow.StopTimeout = 2 * time.Minute
		s, err := New(Config{Name: "app", MaxRestarts: 1000, Backoff: -1}, slow, ps.spec("crashy", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, s.Start(t.Context()))

		var callers sync.WaitGroup
		var answered atomic.Int64
		for range 16 {
			callers.Go(func() {
				for {
					_, err := s.Children(t.Context())
					answered.Add(1)
					if err != nil {
						assert.ErrorIs(t, err, resilience.ErrStopped)
						return
					}
					time.Sleep(time.Millisecond) // lets virtual time advance
				}
			})
		}
		callers.Go(func() { // crashes until the supervisor is done
			for {
				select {
				case <-s.Done():
					return
				default:
				}
				if p := ps.get("crashy"); p != nil {
					p.exit(errBoom)
				}
				time.Sleep(time.Millisecond)
			}
		})
		time.Sleep(10 * time.Millisecond)

		for _, d := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, time.Hour} {
			callers.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), d)
				defer cancel()
				begin := time.Now()
				_ = s.Stop(ctx)
				assert.LessOrEqual(t, time.Since(begin), min(d, 2*time.Minute), "Stop(%v)", d)
			})
		}
		callers.Wait()
		<-s.Done()
		assert.NotZero(t, answered.Load())
	})
}

// Shutdown with a short ctx while many goroutines acquire and release
// guards, some hold theirs until shutdown is done, hooks are registered
// and Shutdown is called again: Shutdown returns by its ctx, every caller
// gets an answer, and no goroutine is left.
func TestShutdownBoundedUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := newProbes()
		ps.tune["a"] = func(p *probe) { p.stopDelay = time.Minute }
		tree, err := New(Config{Name: "app"}, ps.spec("a", RestartAlways))
		require.NoError(t, err)
		require.NoError(t, tree.Start(t.Context()))
		c, err := NewCoordinator(ShutdownConfig{Tree: tree, GracePeriod: time.Hour, TreeTimeout: time.Hour})
		require.NoError(t, err)
		var hookRan atomic.Int64
		require.NoError(t, c.Hook("slow", time.Hour, func(ctx context.Context) error {
			hookRan.Add(1)
			<-ctx.Done()
			return ctx.Err()
		}))

		var callers sync.WaitGroup
		for i := range 32 {
			callers.Go(func() {
				for {
					g, err := c.Acquire()
					if err != nil {
						assert.ErrorIs(t, err, resilience.ErrStopped)
						return
					}
					if i%8 == 0 { // holds its guard past the grace the ctx allows
						<-c.Done()
					}
					g()
					g() // idempotent
					time.Sleep(time.Microsecond)
				}
			})
			callers.Go(func() {
				for {
					err := c.Hook("late", 0, func(context.Context) error { return nil })
					if err != nil {
						assert.ErrorIs(t, err, resilience.ErrStopped)
						return
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		time.Sleep(10 * time.Millisecond)

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		callers.Go(func() {
			time.Sleep(50 * time.Millisecond)
			assert.ErrorIs(t, c.Stop(t.Context()), resilience.ErrStopped)
		})
		begin := time.Now()
		err = c.Stop(ctx)
		assert.Equal(t, 100*time.Millisecond, time.Since(begin))
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.NotZero(t, activeLeft(err), "held guards are reported")
		callers.Wait()
		assert.Zero(t, c.ActiveConnections())
		<-tree.Done()
		synctest.Wait() // the abandoned hook ends with its ctx
		assert.Equal(t, int64(1), hookRan.Load())
	})
}
