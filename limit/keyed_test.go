package limit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

func mustKeyed(t *testing.T, cfg limit.KeyedConfig) *limit.Keyed[string] {
	t.Helper()
	k, err := limit.NewKeyed[string](cfg)
	require.NoError(t, err)
	return k
}

func TestKeyedConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   limit.KeyedConfig
		field string
	}{
		{"no rate", limit.KeyedConfig{}, "limit.KeyedConfig.Rate.PerSecond"},
		{"negative rate", limit.KeyedConfig{Rate: limit.Config{PerSecond: -2}}, "limit.KeyedConfig.Rate.PerSecond"},
		{"burst with smooth", limit.KeyedConfig{Rate: limit.Config{PerSecond: 1, Burst: 3, Smooth: true}}, "limit.KeyedConfig.Rate.Burst"},
		{"negative max keys", limit.KeyedConfig{Rate: limit.Config{PerSecond: 1}, MaxKeys: -1}, "limit.KeyedConfig.MaxKeys"},
		{"negative idle timeout", limit.KeyedConfig{Rate: limit.Config{PerSecond: 1}, IdleTimeout: -1}, "limit.KeyedConfig.IdleTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := limit.NewKeyed[int](tt.cfg)
			assert.Nil(t, k)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestKeysHaveTheirOwnBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{Name: "api", PerSecond: 2, Burst: 2}})
		ctx := context.Background()
		require.NoError(t, k.Allow(ctx, "alice"))
		require.NoError(t, k.Allow(ctx, "alice"))
		err := k.Allow(ctx, "alice")
		var re *resilience.RejectedError
		require.ErrorAs(t, err, &re)
		assert.ErrorIs(t, err, limit.ErrLimited)
		assert.Equal(t, "api", re.Name)
		assert.Equal(t, 500*time.Millisecond, re.RetryAfter())
		require.NoError(t, k.Allow(ctx, "bob"), "bob's bucket is his own")
		time.Sleep(re.RetryAfter())
		require.NoError(t, k.Allow(ctx, "alice"))
		m := k.Metrics()
		assert.Equal(t, 2, m.Keys)
		assert.Equal(t, uint64(4), m.Allowed)
		assert.Equal(t, uint64(1), m.Limited)
		assert.Equal(t, 2, m.Burst)
	})
}

// A table at MaxKeys refuses a new key while every bucket is in use, and
// admits it once some bucket has refilled, evicting that key.
func TestFullTableRefusesNewKeysUntilABucketIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1, Burst: 1}, MaxKeys: 3})
		ctx := context.Background()
		for _, key := range []string{"a", "b", "c"} {
			require.NoError(t, k.Allow(ctx, key))
		}
		err := k.Allow(ctx, "d")
		assert.ErrorIs(t, err, resilience.ErrFull)
		assert.ErrorIs(t, err, resilience.ErrRejected)
		time.Sleep(time.Second) // every bucket has refilled
		require.NoError(t, k.Allow(ctx, "d"))
		m := k.Metrics()
		assert.LessOrEqual(t, m.Keys, 3)
		assert.Equal(t, uint64(1), m.Full)
		assert.GreaterOrEqual(t, m.Evicted, uint64(1))
	})
}

// Evicting a full bucket loses nothing: under random calls over many keys
// and a small MaxKeys, every key is admitted or refused exactly as a
// limiter of its own would, unless the table was full.
func TestEvictionNeverChangesADecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := limit.Config{PerSecond: 20, Burst: 3}
		k := mustKeyed(t, limit.KeyedConfig{Rate: cfg, MaxKeys: 16})
		own := map[int]*limit.Rate{}
		rng := rand.New(rand.NewPCG(1, 2))
		ctx := context.Background()
		full := 0
		for range 20_000 {
			key := rng.IntN(40)
			if own[key] == nil {
				own[key] = mustNew(t, cfg)
			}
			err := k.Allow(ctx, fmt.Sprint(key))
			if err != nil && errorsIsFull(err) {
				full++
				continue
			}
			_, want := own[key].Allow(ctx)
			require.Equal(t, want == nil, err == nil, "key %d", key)
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		}
		m := k.Metrics()
		assert.Positive(t, m.Evicted, "keys were evicted")
		assert.Positive(t, full, "the table was full at times")
		assert.Equal(t, uint64(full), m.Full)
	})
}

func errorsIsFull(err error) bool {
	var re *resilience.RejectedError
	return asRejected(err, &re) && re.Reason == resilience.ErrFull
}

// Concurrent callers of one key share exactly its burst, while other
// goroutines fill the table with new keys and force sweeps.
func TestConcurrentCallersOfAKeyShareExactlyItsBurst(t *testing.T) {
	const burst = 500
	k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e-3, Burst: burst}, MaxKeys: 1000})
	var got atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				if k.Allow(context.Background(), "hot") == nil {
					got.Add(1)
				}
				_ = k.Allow(context.Background(), fmt.Sprintf("cold-%d-%d", g, i))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(burst), got.Load())
	assert.LessOrEqual(t, k.Metrics().Keys, 1000)
}

func TestKeyGateFillsTheLimiterSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1, Burst: 1}})
		ctx := context.Background()
		ok := func(context.Context) error { return nil }
		tenantA := &resilience.Pipeline{Limiter: k.For("a")}
		require.NoError(t, tenantA.Run(ctx, ok))
		assert.ErrorIs(t, tenantA.Run(ctx, ok), limit.ErrLimited)
		assert.NoError(t, (&resilience.Pipeline{Limiter: k.For("b")}).Run(ctx, ok))
		assert.ErrorIs(t, k.For("a").Run(ctx, ok), limit.ErrLimited)
		var ce *resilience.ConfigError
		assert.ErrorAs(t, k.For("c").Run(ctx, nil), &ce)
	})
}

func TestKeyedStopRefusesAndStartResumes(t *testing.T) {
	k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e-3, Burst: 1}})
	ctx := context.Background()
	require.NoError(t, k.Allow(ctx, "a"))
	require.NoError(t, k.Stop(ctx))
	require.NoError(t, k.Stop(ctx))
	<-k.Done()
	assert.ErrorIs(t, k.Allow(ctx, "b"), resilience.ErrStopped)
	assert.NoError(t, k.Err())
	require.NoError(t, k.Start(ctx))
	assert.ErrorIs(t, k.Allow(ctx, "a"), limit.ErrLimited, "the bucket was kept across the stop")
	assert.NoError(t, k.Allow(ctx, "b"))
}

func TestKeyedCallsOfAHeldKeyDoNotAllocate(t *testing.T) {
	k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e9}})
	ctx := context.Background()
	require.NoError(t, k.Allow(ctx, "k"))
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = k.Allow(ctx, "k") }))
	slow := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e-3}})
	_ = slow.Allow(ctx, "k")
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = slow.Allow(ctx, "k") }))
}
