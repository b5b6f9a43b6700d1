package limit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

func asRejected(err error, re **resilience.RejectedError) bool { return errors.As(err, re) }

// 100,000 keys, each used once and idle since, cost a few dozen bytes each
// and no goroutine.
func TestIdleKeyBytes(t *testing.T) {
	const keys = 100_000
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%06d", i)
	}
	g0 := runtime.NumGoroutine()
	h0 := liveHeap()
	// A permit every 1000 s: no bucket refills, so none is evicted.
	k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e-3}, MaxKeys: keys})
	for _, name := range names {
		require.NoError(t, k.Allow(context.Background(), name))
	}
	perKey := float64(liveHeap()-h0) / keys
	require.Equal(t, keys, k.Metrics().Keys)
	assert.LessOrEqual(t, runtime.NumGoroutine(), g0, "a key costs no goroutine")
	t.Logf("%.0f bytes per idle key", perKey)
	assert.LessOrEqual(t, perKey, 128.0)
	runtime.KeepAlive(k)
}

// Keys unused for IdleTimeout are swept out by new ones once their shard
// has doubled since its last sweep: the table holds about the keys in
// use, not every key ever seen. Keys used more recently stay,
// though their buckets are full, so a returning client finds its key.
func TestIdleKeysAreSweptOutByNewOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := mustKeyed(t, limit.KeyedConfig{Rate: limit.Config{PerSecond: 10, Burst: 5}, IdleTimeout: time.Minute})
		ctx := context.Background()
		add := func(prefix string, n int) {
			for i := range n {
				require.NoError(t, k.Allow(ctx, fmt.Sprint(prefix, i)))
			}
		}
		add("old-", 10_000)
		time.Sleep(time.Second) // every bucket is full again, but not idle
		add("recent-", 10_000)
		assert.Zero(t, k.Metrics().Evicted)
		time.Sleep(time.Minute)
		add("new-", 20_000)
		m := k.Metrics()
		t.Logf("%d keys held, %d evicted", m.Keys, m.Evicted)
		assert.Equal(t, uint64(10_000), m.Evicted, "the keys idle for IdleTimeout were swept out, the others kept")
		assert.Equal(t, uint64(40_000), uint64(m.Keys)+m.Evicted)
	})
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
