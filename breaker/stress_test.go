package breaker

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentStress runs real goroutines against one breaker (under
// -race in CI) with every kind of outcome, manual commands and a moving
// virtual clock, then checks that every call was counted exactly once and
// that no half-open generation ever had more than HalfOpenMaxRequests
// probes running at once.
func TestConcurrentStress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTest(t, Config{FailureThreshold: 3, HalfOpenMaxRequests: 2, OpenTimeout: 10 * time.Millisecond, Mailbox: 4})
		ctx := context.Background()
		var calls, maxProbes atomic.Int64
		var mu sync.Mutex
		probes := map[uint64]int64{} // in flight, by half-open generation
		probe := func(gen uint64, d int64) {
			mu.Lock()
			defer mu.Unlock()
			probes[gen] += d
			if n := probes[gen]; n > maxProbes.Load() {
				maxProbes.Store(n)
			}
		}
		outcomes := []error{nil, nil, nil, errBoom, errBoom, context.Canceled}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for i := range 500 {
					calls.Add(1)
					p, err := b.acquire(b.snap.Load()) // what Allow and Run do
					if err != nil {
						time.Sleep(time.Millisecond) // back off, and let the clock move
						continue
					}
					if p.probe {
						probe(p.s.gen, 1)
					}
					if i%7 == 0 {
						time.Sleep(time.Millisecond)
					}
					if p.probe {
						probe(p.s.gen, -1)
					}
					b.finish(context.Background(), p, outcomes[r.IntN(len(outcomes))])
				}
			})
		}
		wg.Go(func() {
			for range 5 {
				time.Sleep(20 * time.Millisecond)
				_ = b.ForceOpen(ctx)
				time.Sleep(time.Millisecond)
				_ = b.Reset(ctx)
			}
		})
		wg.Wait()
		synctest.Wait()
		m := b.Metrics()
		assert.Equal(t, uint64(calls.Load()), m.Successes+m.Failures+m.Ignored+m.Rejected())
		assert.LessOrEqual(t, maxProbes.Load(), int64(2))
		assert.Positive(t, maxProbes.Load(), "the run must reach half-open")
		assert.NotZero(t, m.Opened)
	})
}

// FuzzConfig checks that no configuration makes New panic or hang: it
// either builds a breaker or names a field.
func FuzzConfig(f *testing.F) {
	f.Add(5, 2, int64(time.Minute), 3, 0.0, 0, int64(0), 0, 0.0, 0.0, 0)
	f.Add(-1, 0, int64(-1), 0, 1.5, 10, int64(5), 11, 0.5, 1.0, 1000)
	f.Add(0, 0, int64(0), 0, math.NaN(), 0, int64(0), 0, math.Inf(1), math.NaN(), 0)
	f.Fuzz(func(t *testing.T, ft, st int, open int64, hm int, rate float64, ws int, wd int64, mc int, backoff, jitter float64, shards int) {
		b, err := New(Config{
			FailureThreshold: ft, SuccessThreshold: st, OpenTimeout: time.Duration(open),
			HalfOpenMaxRequests: hm, FailureRate: rate, WindowSize: ws,
			WindowDuration: time.Duration(wd), MinimumCalls: mc, OpenBackoff: backoff,
			OpenJitter: jitter, Shards: shards,
		})
		if err != nil {
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			require.NotEmpty(t, ce.Field)
			return
		}
		require.NoError(t, b.Stop(context.Background()))
		require.GreaterOrEqual(t, openTimeout(*b.cfg, 1000, 0.999), time.Duration(0))
	})
}
