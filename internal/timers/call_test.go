package timers

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Children derived from a call and cancelled before it ends unregister
// from it, so a long call that derives many children does not grow.
func TestCallChildStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(4)
		c := s.Arm(context.Background(), time.Second)
		for range 100 {
			child, cancel := context.WithCancel(c)
			cancel()
			require.ErrorIs(t, child.Err(), context.Canceled)
		}
		c.mu.Lock()
		assert.Empty(t, c.afters, "cancelled children unregister from the call")
		c.mu.Unlock()
		assert.False(t, c.Release())
		assert.ErrorIs(t, c.Err(), context.Canceled)
	})
}

// A call is one allocation of at most 96 bytes: its size is what a timed
// call costs the garbage collector.
func TestCallSize(t *testing.T) {
	s := New(1)
	arm := func() { s.Arm(context.Background(), time.Hour).Release() }
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, arm))
	const n = 10_000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		arm()
	}
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, (after.TotalAlloc-before.TotalAlloc)/n, uint64(96), "bytes per call")
}

// The hot path: a stream of calls with the same limit that finish at once
// aims the timer once, not once per call; with no deadline left the timer
// fires once more and rests: no ticking.
func TestQuietHotPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(4)
		for range 1000 {
			c := s.Arm(context.Background(), time.Second)
			require.NoError(t, c.Err())
			require.False(t, c.Release())
		}
		assert.Equal(t, uint64(1), s.aims.Load(), "one aim for the whole stream")
		time.Sleep(10 * time.Second)
		assert.Equal(t, uint64(1), s.aims.Load(), "then idle: no re-aim")
		assert.Zero(t, s.Pending())
		assert.Zero(t, s.Fired())
	})
}

// Calls armed one after another by one goroutine land on the shard its P
// used last, not on a random one: parallel callers on different Ps keep
// to their own shards' locks and heaps instead of sharing them all.
func TestArmKeepsToThePsShard(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop values at random")
	}
	s := New(64)
	used := map[*shard]bool{}
	calls := make([]*Call, 0, 200)
	for range 200 {
		c := s.Arm(context.Background(), time.Hour)
		used[c.shard] = true
		calls = append(calls, c)
	}
	for _, c := range calls {
		c.Release()
	}
	// A random pick would use about 61 of the 64; a goroutine may move
	// to another P now and then, and a GC empties the pool.
	assert.LessOrEqual(t, len(used), 4, "shards used by one goroutine")
	assert.Zero(t, s.Pending())
}
