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
			require.NoError(t, f.Call(ctx, fmt.Sprint(i), succeed))
		}
		synctest.Wait()
		assert.Equal(t, g0, runtime.NumGoroutine(), "a key that only succeeds has no goroutine")

		boom := errors.New("boom")
		var actors []*Breaker
		for i := range 100 { // a failure starts the key's actor
			k := fmt.Sprint(i)
			require.ErrorIs(t, f.Call(ctx, k, func(context.Context) error { return boom }), boom)
			require.NoError(t, f.Call(ctx, k, succeed))
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
