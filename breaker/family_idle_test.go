package breaker

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
)

// Keys with a time window cost no goroutine while they only succeed, and
// once idle no timer either: advancing virtual time handles no message for
// any of them, including those whose actor a failure started.
func TestIdleTimeWindowKeysCostNoGoroutineOrTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f := newFamily(t, FamilyConfig{
			IdleTimeout: time.Hour,
			Breaker:     Config{FailureRate: 0.5, WindowDuration: time.Second, MinimumCalls: 10},
		})
		synctest.Wait()
		g0 := runtime.NumGoroutine()
		const keys = 1000
		for i := range keys {
			require.NoError(t, keyRun(ctx, f, fmt.Sprint(i), succeed))
		}
		synctest.Wait()
		// Other tests' goroutines may still be exiting: allow for a few.
		assert.Less(t, runtime.NumGoroutine()-g0, 10, "a key that only succeeds has no goroutine")
		f.idx.each(func(e *entry[string]) {
			assert.Nil(t, e.b.act.Load(), "a key that only succeeds has no actor")
		})

		boom := errors.New("boom")
		var actors []*Breaker
		for i := range 100 { // a failure starts the key's actor
			k := fmt.Sprint(i)
			require.ErrorIs(t, keyRun(ctx, f, k, func(context.Context) error { return boom }), boom)
			require.NoError(t, keyRun(ctx, f, k, succeed))
			b, err := f.For(k)
			require.NoError(t, err)
			actors = append(actors, b)
		}
		time.Sleep(3 * time.Second) // the keys go idle
		synctest.Wait()
		before := handled(actors)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, before, handled(actors), "idle keys' actors handled timer messages")
	})
}

// handled sums the messages the breakers' actors handled.
func handled(bs []*Breaker) (n uint64) {
	for _, b := range bs {
		if a := b.act.Load(); a != nil {
			n += a.Handled()
		}
	}
	return n
}

// An idle key costs at most 512 bytes of heap, whatever its window: the
// breaker, its closed snapshot, its counters, its entry and its share of
// the index (key strings are the caller's and are made beforehand).
func TestIdleKeyBytes(t *testing.T) {
	const keys = 20_000
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%06d", i)
	}
	for _, w := range []struct {
		name string
		cfg  Config
	}{
		{"consecutive", Config{}},
		{"count window", Config{FailureRate: 0.5}},
		{"time window", Config{FailureRate: 0.5, WindowDuration: 10 * time.Second}},
	} {
		t.Run(w.name, func(t *testing.T) {
			h0 := liveHeap()
			f, err := NewFamily[string](FamilyConfig{MaxKeys: keys, IdleTimeout: time.Hour, Breaker: w.cfg})
			require.NoError(t, err)
			for _, k := range names {
				require.NoError(t, keyRun(context.Background(), f, k, succeed))
			}
			perKey := float64(liveHeap()-h0) / keys
			require.Equal(t, keys, f.Len())
			require.NoError(t, f.Stop(context.Background()))
			t.Logf("%.0f bytes per idle key", perKey)
			assert.LessOrEqual(t, perKey, 512.0)
		})
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
