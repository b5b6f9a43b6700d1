package breaker

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/actor"
)

// heldEngine runs b's real engine on an actor whose handler can be held:
// while hold is set, the next message it takes waits for release.
type heldEngine struct {
	eng     *engine
	hold    atomic.Bool
	release chan struct{}
}

func (h *heldEngine) Receive(self *actor.Self[msg], x msg) {
	if h.hold.Load() {
		<-h.release
	}
	h.eng.Receive(self, x)
}

func (h *heldEngine) Stopped(err error) { h.eng.Stopped(err) }

// holdable starts b's actor as a heldEngine with a one-message mailbox.
func holdable(t *testing.T, b *Breaker) (*heldEngine, *actor.Actor[msg]) {
	h := &heldEngine{release: make(chan struct{}),
		eng: &engine{b: b, m: newMachine(b.cfg), cur: b.snap.Load(), win: newWindow(*b.cfg)}}
	a, err := actor.Spawn(actor.Config{Mailbox: 1}, func() actor.Behavior[msg] { return h })
	require.NoError(t, err)
	b.act.Store(a)
	return h, a
}

// stall makes the actor take one message and wait on it; full also fills
// the mailbox behind it.
func (h *heldEngine) stall(a *actor.Actor[msg], full bool) {
	h.hold.Store(true)
	_ = a.Tell(msg{kind: kWake})
	synctest.Wait()
	if full {
		_ = a.Tell(msg{kind: kWake})
	}
}

func (h *heldEngine) unstall() {
	h.hold.Store(false)
	close(h.release)
	synctest.Wait()
}

// halfOpen trips b with one failure and lets its open timeout pass.
func halfOpen(t *testing.T, b *Breaker) {
	require.ErrorIs(t, b.Run(context.Background(), fail), errBoom)
	time.Sleep(2 * time.Second)
	synctest.Wait()
	require.Equal(t, HalfOpen, b.State())
}

func TestHalfOpenAdmissionBoundedByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenMaxRequests: 2})
		require.NoError(t, err)
		h, a := holdable(t, b)
		halfOpen(t, b)
		h.stall(a, false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err = b.Allow(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "the wait ends with the caller's context")
		h.unstall()
		for range 2 { // the abandoned request was not granted a slot
			done, err := b.Allow(context.Background())
			require.NoError(t, err)
			defer done(context.Canceled)
		}
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestProbeReportBoundedByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second})
		require.NoError(t, err)
		h, a := holdable(t, b)
		halfOpen(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err = b.Run(ctx, func(context.Context) error {
			h.stall(a, true) // the probe's report finds the mailbox full
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "the report waits only as long as the caller's context")
		h.unstall()
		assert.Equal(t, Closed, b.State(), "the probe's success, kept aside, closed the breaker")
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestTrippingFailureWaitBoundedByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		h, a := holdable(t, b)
		h.stall(a, true)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		assert.Equal(t, time.Second, time.Since(start))
		h.unstall()
		assert.Equal(t, Open, b.State(), "the trip recorded while the actor was busy is applied")
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestTrippingFailureWaitEndsWithStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		h, a := holdable(t, b)
		h.stall(a, true)
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			done, err := b.Allow(context.Background()) // done has no context: Stop bounds it
			if assert.NoError(t, err) {
				done(errBoom)
			}
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		stopped := make(chan error, 1)
		go func() { stopped <- b.Stop(ctx) }()
		synctest.Wait()
		<-returned
		h.unstall()
		require.NoError(t, <-stopped)
	})
}
