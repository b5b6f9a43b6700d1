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

// An evicted breaker slow to stop holds up no other key: the family stops
// it after releasing its lock, so lookups, new keys and metrics go on.
func TestSlowEvictedStopDoesNotBlockOtherKeys(t *testing.T) {
	ctx := context.Background()
	f := newFamily(t, FamilyConfig{MaxKeys: 1})
	slow, err := f.For("slow")
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	f.halt = func(b *Breaker) {
		if b == slow {
			close(entered)
			<-release // a stop that takes as long as the test wants
		}
		signalStop(b)
	}
	evicted := make(chan error)
	go func() { _, err := f.For("next"); evicted <- err }() // evicts "slow" at the cap
	<-entered
	require.True(t, f.mu.TryLock(), "the family's lock is held while an evicted breaker stops")
	f.mu.Unlock()
	assert.Equal(t, 1, f.Metrics().Keys)
	require.NoError(t, keyRun(ctx, f, "other", succeed), "a new key waits for another key's stop")
	require.NoError(t, keyRun(ctx, f, "other", succeed))
	unblock()
	require.NoError(t, <-evicted)
	assert.True(t, slow.snap.Load().stopped, "the evicted breaker is stopped")
	require.NoError(t, slow.Run(ctx, succeed), "its handle goes on with a fresh breaker for its key")
}

// Family.Stop under load: callers on many keys (some tripping, some
// probing half-open) keep calling while a short stop context runs out.
// Stop returns by its deadline, every call returns (a result or
// resilience.ErrStopped), and a second Stop finds every goroutine gone.
func TestFamilyStopUnderConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := NewFamily[int](FamilyConfig{MaxKeys: 64, Breaker: Config{
			FailureThreshold: 2, OpenTimeout: 3 * time.Millisecond, Mailbox: 2,
		}})
		require.NoError(t, err)
		boom := errors.New("boom")
		var wg sync.WaitGroup
		var calls, stopped, other atomic.Int64
		for c := range 32 {
			wg.Go(func() {
				for i := 0; ; i++ {
					key := (c*7 + i) % 100 // more keys than the cap: evictions too
					err := keyRun(context.Background(), f, key, func(context.Context) error {
						time.Sleep(time.Duration(i%3) * time.Millisecond)
						if (c+i)%3 == 0 {
							return boom
						}
						return nil
					})
					calls.Add(1)
					switch {
					case errors.Is(err, resilience.ErrStopped):
						stopped.Add(1)
						return
					case err != nil && !errors.Is(err, boom) && !errors.Is(err, resilience.ErrOpen) &&
						!errors.Is(err, resilience.ErrRejected) && !errors.Is(err, resilience.ErrFull):
						other.Add(1)
					}
					if i%4 == 3 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		start := time.Now()
		err = f.Stop(ctx)
		assert.LessOrEqual(t, time.Since(start), time.Millisecond, "Stop ran past its context")
		if err != nil {
			assert.ErrorIs(t, err, context.DeadlineExceeded)
		}
		wg.Wait() // every caller got an answer, then resilience.ErrStopped
		assert.Equal(t, int64(32), stopped.Load())
		assert.Zero(t, other.Load(), "unexpected errors")
		assert.Greater(t, calls.Load(), int64(300), "the callers kept calling")
		require.NoError(t, f.Stop(context.Background()), "a second Stop waits for the rest")
	})
}
