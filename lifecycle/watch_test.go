package lifecycle

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/actor"
)

// TestSupervisedActorsShareWatchers supervises 300 actors given as
// Components (which cannot report their exit themselves) and checks that
// watching them costs a few goroutines in all, not one each, and that an
// exit in any watch group is still seen and restarted.
func TestSupervisedActorsShareWatchers(t *testing.T) {
	synctest.Test(t, supervisedActorsShareWatchers)
}

func supervisedActorsShareWatchers(t *testing.T) {
	const n = 300
	var starts atomic.Int32
	actors := make([]*actor.Actor[string], n)
	specs := make([]Spec, n)
	for i := range specs {
		a, err := actor.Spawn(actor.Config{Mailbox: 1}, crasher(&starts))
		require.NoError(t, err)
		actors[i], specs[i] = a, Spec{Name: fmt.Sprint("a", i), Component: a}
	}
	synctest.Wait()
	before := runtime.NumGoroutine()
	s, err := New(Config{Name: "app", Backoff: -1}, specs...)
	require.NoError(t, err)
	require.NoError(t, s.Start(t.Context()))
	synctest.Wait()
	added := runtime.NumGoroutine() - before
	assert.LessOrEqual(t, added, 1+(n+groupSize-1)/groupSize, "one supervisor actor and one watcher per %d children", groupSize)

	for _, i := range []int{0, 200, n - 1} {
		done := actors[i].Done()
		require.NoError(t, actors[i].Tell("crash"))
		<-done
	}
	synctest.Wait()
	assert.Equal(t, int32(n+3), starts.Load(), "every crashed actor is restarted, whatever its watch group")
	require.NoError(t, s.Stop(t.Context()))
}
