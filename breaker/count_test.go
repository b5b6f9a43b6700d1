package breaker

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The counting tests run real goroutines on every processor and check that
// no increment is lost.

// hammer runs calls × workers calls of each of Run, Do and Allow on
// b at once, cycling through outcomes, and returns how many of each
// outcome it made.
func hammer(t *testing.T, b *Breaker, workers, calls int, outcomes []error) map[error]uint64 {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	made := map[error]uint64{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			mine := map[error]uint64{}
			for i := range calls {
				err := outcomes[(w+i)%len(outcomes)]
				fn := func(context.Context) error { return err }
				switch i % 3 {
				case 0:
					_ = b.Run(ctx, fn)
				case 1:
					_, _ = resilience.Do(ctx, b, func(ctx context.Context) (int, error) { return 0, fn(ctx) })
				default:
					if done, aerr := b.Allow(ctx); aerr == nil { // a refusal is counted by b
						done(err)
					}
				}
				mine[err]++
			}
			mu.Lock()
			for k, v := range mine {
				made[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return made
}

func TestCountsAreExactUnderContention(t *testing.T) {
	b := newTest(t, Config{FailureThreshold: 1 << 30})
	made := hammer(t, b, 4*runtime.GOMAXPROCS(0), 20_000, []error{nil, nil, errBoom, context.Canceled})
	m := b.Metrics()
	assert.Equal(t, made[nil], m.Successes)
	assert.Equal(t, made[errBoom], m.Failures)
	assert.Equal(t, made[context.Canceled], m.Ignored)
	assert.Equal(t, Closed, m.State)
}

func TestOpenRejectionsAreExactUnderContention(t *testing.T) {
	b := newTest(t, Config{})
	require.NoError(t, b.ForceOpen(context.Background()))
	workers, calls := 4*runtime.GOMAXPROCS(0), 20_000
	hammer(t, b, workers, calls, []error{nil})
	m := b.Metrics()
	assert.Equal(t, uint64(workers*calls), m.RejectedOpen)
	assert.Zero(t, m.Successes+m.Failures+m.Ignored+m.RejectedHalfOpen)
}

// TestCountsExactWhenGoroutinesOutnumberSlots covers slots shared by many
// goroutines: GOMAXPROCS raised after New, and Config.Shards set to one.
func TestCountsExactWhenGoroutinesOutnumberSlots(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	grown := newTest(t, Config{FailureThreshold: 1 << 30})
	runtime.GOMAXPROCS(max(4, prev))
	oneSlot := newTest(t, Config{FailureThreshold: 1 << 30, Shards: 1})

	for name, b := range map[string]*Breaker{"GOMAXPROCS grew": grown, "Shards: 1": oneSlot} {
		t.Run(name, func(t *testing.T) {
			made := hammer(t, b, 16, 20_000, []error{nil, errBoom, nil})
			m := b.Metrics()
			assert.Equal(t, made[nil], m.Successes)
			assert.Equal(t, made[errBoom], m.Failures)
		})
	}
}

func TestStripesStayInsideTheShards(t *testing.T) {
	for _, n := range []int{1, 2, 8, 256} {
		sh := newShards(n)
		require.Len(t, sh.s, n)
		var wg sync.WaitGroup
		for range 64 { // goroutines have distinct stacks, so pick distinct stripes
			wg.Go(func() { sh.add(cFailure) })
		}
		wg.Wait()
		assert.Equal(t, uint64(64), sh.load(cFailure))
	}
}
