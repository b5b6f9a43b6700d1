package breaker

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The counting tests run real goroutines on every processor and check that
// no increment is lost. CI runs them both under -race (striped atomic
// counting, count_atomic.go) and without it (per-processor counting,
// count_pinned.go).

// hammer runs calls × workers calls of each of Call, Execute and Allow on
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
					_ = b.Call(ctx, fn)
				case 1:
					_, _ = Execute(ctx, b, func(ctx context.Context) (int, error) { return 0, fn(ctx) })
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

// TestCountsSpillWhenProcessorsOutnumberSlots covers processors without a
// slot of their own: GOMAXPROCS raised after New, and Config.Shards set
// below the number of processors. Their calls go to the shared spill slot
// with atomic adds, while the processors with slots keep adding plainly.
func TestCountsSpillWhenProcessorsOutnumberSlots(t *testing.T) {
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

func TestShardsHaveASpillSlot(t *testing.T) {
	for _, n := range []int{1, 2, 8, 256} {
		sh := newShards(n)
		require.Len(t, sh.s, n+1)
		sh.addShared(cFailure)
		sh.add(cFailure)
		var wg sync.WaitGroup
		for range 64 { // goroutines have distinct stacks, so pick distinct stripes
			wg.Go(func() { assert.NotSame(t, sh.spill(), sh.stripe(), "a stripe is never the spill slot") })
		}
		wg.Wait()
		assert.Equal(t, uint64(2), sh.load(cFailure))
	}
}
