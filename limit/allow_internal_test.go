package limit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is a call at a virtual time (ms since New) and whether it is admitted.
type step struct {
	at   int64
	want bool
	next int64 // when refused: ms at which the next permit comes
}

func TestAllowArithmetic(t *testing.T) {
	const ms = int64(1e6)
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"burst then refill", Config{PerSecond: 10, Burst: 3}, []step{
			{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, false, 100},
			{99, false, 100}, {100, true, 0}, {100, false, 200}, {250, true, 0}, {250, false, 300},
		}},
		{"idle refills up to burst only", Config{PerSecond: 10, Burst: 2}, []step{
			{0, true, 0}, {0, true, 0}, {10_000, true, 0}, {10_000, true, 0}, {10_000, false, 10_100},
		}},
		{"default burst is one second", Config{PerSecond: 2}, []step{
			{0, true, 0}, {0, true, 0}, {0, false, 500}, {500, true, 0},
		}},
		{"smooth spaces calls", Config{PerSecond: 4, Smooth: true}, []step{
			{0, true, 0}, {1, false, 250}, {250, true, 0}, {400, false, 500}, {1000, true, 0}, {1000, false, 1250},
		}},
		{"fractional rate has burst one", Config{PerSecond: 0.5}, []step{
			{0, true, 0}, {1000, false, 2000}, {2000, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.cfg)
			require.NoError(t, err)
			for i, s := range tt.steps {
				next, ok := r.allowAt(s.at * ms)
				require.Equal(t, s.want, ok, "step %d at %dms", i, s.at)
				if !ok {
					assert.Equal(t, s.next*ms, next, "step %d: next permit", i)
				}
			}
		})
	}
}

func TestOneNanosecondIntervalAtMaximumRate(t *testing.T) {
	r, err := New(Config{PerSecond: 1e9, Burst: 1})
	require.NoError(t, err)
	for now := range int64(100) {
		_, ok := r.allowAt(now)
		require.True(t, ok)
	}
	_, ok := r.allowAt(99)
	assert.False(t, ok)
}

// A caller holding a cell that a sweep evicts meanwhile takes no permit
// from it and looks the key up again.
func TestEvictedCellIsNotTaken(t *testing.T) {
	k, err := NewKeyed[string](KeyedConfig{Rate: Config{PerSecond: 1, Burst: 1}})
	require.NoError(t, err)
	s := &k.shards[0]
	c, err := k.insert(s, "a", 0)
	require.NoError(t, err)
	_, ok, evicted := k.take(c, 0)
	require.True(t, ok)
	require.False(t, evicted)
	s.mu.Lock()
	k.sweep(s, int64(2e9)) // the bucket is full by then
	s.mu.Unlock()
	assert.Nil(t, s.load("a"))
	_, ok, evicted = k.take(c, int64(2e9))
	assert.False(t, ok)
	assert.True(t, evicted)
	assert.Equal(t, uint64(1), k.Metrics().Evicted)
	assert.Zero(t, k.Metrics().Keys)
}
