package timers

import (
	"context"
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
