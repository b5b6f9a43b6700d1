package deadline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/timers"
)

// The default path allocates less than context.WithTimeout: one object per
// call against four.
func TestDefaultRunAllocatesLessThanContext(t *testing.T) {
	ctx := context.Background()
	p := &resilience.Pipeline{Name: "op", Timeout: time.Second}
	fn := func(ctx context.Context) error { return ctx.Err() }
	run := testing.AllocsPerRun(1000, func() { _ = p.Run(ctx, fn) })
	do := testing.AllocsPerRun(1000, func() {
		_, _ = resilience.Do(ctx, p, func(ctx context.Context) (int, error) { return 1, ctx.Err() })
	})
	bar := testing.AllocsPerRun(1000, func() {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = fn(ctx)
		cancel()
	})
	assert.Less(t, run, bar, "Run allocs/op")
	assert.Less(t, do, bar, "Do allocs/op")
	assert.Equal(t, 1.0, run)
}

// The watchdog's timer goes idle between bursts and is re-aimed by the
// next call: across many idle/busy cycles, with random limits, every call
// ends exactly at its own limit (virtual time, on a watchdog built inside
// the bubble).
func TestWatchdogIdleBusyCycles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{})
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(3, 4))
		for cycle := range 20 {
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(randomCall(t, s, r, 100, 120, 30, fmt.Sprintf("cycle %d call %d", cycle, i)))
			}
			wg.Wait()
			require.Zero(t, s.Metrics().Pending)
			time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond) // idle: the timer fires once more, then rests
		}
	})
}

// Real clock, race detector, many goroutines through the package-level
// Run: calls that wait for their deadline are all released (a missed
// re-aim of the shared timer would hang them), bursts alternate with idle
// gaps so the timer goes idle and is re-aimed many times, and no goroutine
// is left behind.
func TestDefaultConcurrentIdleBusy(t *testing.T) {
	for cycle := range 30 {
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() { callMix(t, nil, g+cycle, 40, 4, 3) })
		}
		wg.Wait()
		require.Zero(t, timers.Shared().Pending())
		if cycle%2 == 0 {
			// Let the timer fire and go idle before the next burst.
			_ = run(context.Background(), nil, limit{Timeout: 5 * time.Millisecond}, func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			})
		}
	}
	goleak.VerifyNone(t)
}

// Inside a synctest bubble the default path keeps to the bubble's clock:
// the shared watchdog, which runs on the real one, is not used.
func TestDefaultRunInBubbleUsesBubbleClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		began := time.Now()
		err := run(context.Background(), nil, limit{Timeout: time.Hour}, func(ctx context.Context) error {
			assert.Zero(t, timers.Shared().Pending(), "the shared watchdog must not time it")
			<-ctx.Done()
			return ctx.Err()
		})
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, time.Hour, time.Since(began))
	})
}
