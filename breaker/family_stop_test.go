package breaker

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An evicted breaker slow to stop holds up no other key: the family stops
// it after releasing its lock, so lookups, new keys and metrics go on.
func TestSlowEvictedStopDoesNotBlockOtherKeys(t *testing.T) {
	ctx := context.Background()
	f := newFamily(t, FamilyConfig{MaxKeys: 1})
	slow, err := f.For("slow")
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	f.halt = func(b *Breaker) {
		if b == slow {
			close(entered)
			<-release // a stop that takes as long as the test wants
		}
		signalStop(b)
	}
	evicted := make(chan error)
	go func() { _, err := f.For("next"); evicted <- err }() // evicts "slow" at the cap
	<-entered
	require.True(t, f.mu.TryLock(), "the family's lock is held while an evicted breaker stops")
	f.mu.Unlock()
	assert.Equal(t, 1, f.Metrics().Keys)
	require.NoError(t, f.Call(ctx, "other", succeed), "a new key waits for another key's stop")
	require.NoError(t, f.Call(ctx, "other", succeed))
	unblock()
	require.NoError(t, <-evicted)
	assert.ErrorIs(t, slow.Call(ctx, succeed), ErrStopped, "the evicted breaker is stopped")
}
