package breaker

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for bugs found in the breaker's edge cases.

// A time window counts only its own duration, even when the breaker ran a
// long time before its first failure.
func TestTimeWindowIgnoresHistoryBeforeItsDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureRate: 0.5, WindowDuration: 10 * time.Second, MinimumCalls: 10})
		require.NoError(t, err)
		defer func() { _ = b.Stop(context.Background()) }()
		ctx := context.Background()
		for range 1000 {
			_ = b.Run(ctx, func(context.Context) error { return nil })
		}
		time.Sleep(time.Hour) // virtual: the successes leave the window
		boom := errors.New("boom")
		for range 90 {
			_ = b.Run(ctx, func(context.Context) error { return boom })
			time.Sleep(100 * time.Millisecond)
			if b.State() != Closed {
				return
			}
		}
		t.Fatalf("still %v after 9s of failures in a 10s window at rate 0.5", b.State())
	})
}

// Totals read before the window's last observation must not underflow into
// a huge failure count.
func TestTimeWindowStaleTotalsDoNotUnderflow(t *testing.T) {
	w := newTimeWindow(10 * time.Second)
	for i := uint64(1); i <= windowBuckets; i++ {
		w.observe(totals{calls: 100 * i, failures: i}, time.Duration(i)*time.Second)
	}
	calls, failures := w.observe(totals{calls: 50}, 11*time.Second) // read before the first
	assert.False(t, shouldTrip(Config{FailureRate: 0.5, MinimumCalls: 10}, calls, failures),
		"stale totals gave calls %d, failures %d", calls, failures)
}

// Manual control waits for room in a busy mailbox instead of failing.
func TestForceOpenWaitsForABusyMailbox(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b, err := New(Config{FailureRate: 1, WindowSize: 100, MinimumCalls: 100, Mailbox: 1})
	require.NoError(t, err)
	defer func() { _ = b.Stop(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.Reset(ctx)) // starts the actor
	boom := errors.New("boom")
	for range 3 { // each failure tells the actor (rate window)
		_ = b.Run(ctx, func(context.Context) error { return boom })
	}
	require.NoError(t, b.ForceOpen(ctx), "an operator's ForceOpen must not fail because the mailbox is busy")
	assert.Equal(t, Open, b.State())
}

// Probe results reach the actor in the order they were reported, so a
// failure reported before a success always reopens, even with a mailbox
// of one.
func TestProbeFailureIsNeverOvertaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1, SuccessThreshold: 2, HalfOpenMaxRequests: 3,
			OpenTimeout: time.Second, Mailbox: 1})
		require.NoError(t, err)
		defer func() { _ = b.Stop(context.Background()) }()
		ctx := context.Background()
		_ = b.Run(ctx, func(context.Context) error { return errors.New("trip") })
		time.Sleep(2 * time.Second) // virtual: the open timeout passes
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State())
		doneA, err := b.Allow(ctx)
		require.NoError(t, err)
		doneB, err := b.Allow(ctx)
		require.NoError(t, err)
		doneC, err := b.Allow(ctx)
		require.NoError(t, err)
		doneB(nil)
		doneA(errors.New("probe A"))
		doneC(nil)
		synctest.Wait()
		assert.Zero(t, b.Metrics().Closed, "a failed probe reported before the second success must reopen the breaker")
	})
}

// A key evicted while a caller holding its breaker was being admitted as
// a half-open probe: the admission says errEvicted, and the call goes on
// with the key's current breaker before fn runs.
func TestEvictionDuringHalfOpenAdmissionIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := NewFamily[string](FamilyConfig{MaxKeys: 1,
			Breaker: Config{FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second}})
		require.NoError(t, err)
		defer func() { _ = f.Stop(context.Background()) }()
		ctx := context.Background()
		_ = keyRun(ctx, f, "a", func(context.Context) error { return errors.New("boom") })
		synctest.Wait()
		time.Sleep(2 * time.Second) // virtual: open -> half-open
		synctest.Wait()

		b, err := f.For("a") // caller 1: the lookup
		require.NoError(t, err)
		s := b.snap.Load()
		require.Equal(t, HalfOpen, s.state)
		// Caller 2's probe closes "a"; caller 3's new key evicts it at the cap.
		require.NoError(t, keyRun(ctx, f, "a", func(context.Context) error { return nil }))
		synctest.Wait()
		_, err = f.For("b")
		require.NoError(t, err)

		_, err = b.acquire(s) // caller 1: the admission, from the state it saw
		require.ErrorIs(t, err, errEvicted)

		ran := false
		v, err := resilience.Do(ctx, b, func(context.Context) (int, error) { ran = true; return 1, nil })
		require.NoError(t, err, "the handle goes on with the key's current breaker")
		assert.True(t, ran)
		assert.Equal(t, 1, v)
	})
}
