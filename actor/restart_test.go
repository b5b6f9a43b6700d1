package actor_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// TestStartRestartsInPlaceWithFreshBehavior fails an actor, starts it again
// and checks that the same handle now runs a new behaviour from the factory.
func TestStartRestartsInPlaceWithFreshBehavior(t *testing.T) {
	var made []*gated
	a, err := actor.Spawn(actor.Config{Mailbox: 4}, func() actor.Behavior[int] {
		g := &gated{}
		made = append(made, g)
		return actor.Func[int](func(self *actor.Self[int], n int) {
			if n < 0 {
				panic("negative")
			}
			g.Receive(self, n)
		})
	})
	require.NoError(t, err)
	require.NoError(t, a.Start(context.Background()), "Start on a running actor does nothing")
	require.Len(t, made, 1)

	require.NoError(t, a.Tell(1))
	require.NoError(t, a.Tell(-1))
	<-a.Done()
	var perr *resilience.PanicError
	require.ErrorAs(t, a.Err(), &perr)
	require.ErrorIs(t, a.Tell(2), resilience.ErrStopped)

	require.NoError(t, a.Start(context.Background()))
	require.Len(t, made, 2, "a restart builds a fresh behaviour")
	assertRunning(t, a)
	assert.NoError(t, a.Err(), "the new incarnation has not failed")
	require.NoError(t, a.Tell(3))
	require.NoError(t, a.Stop(context.Background()))
	assert.Equal(t, []int{1}, made[0].got)
	assert.Equal(t, []int{3}, made[1].got)
}

// TestStartWaitsForStopInProgress starts an actor whose stop is still
// draining: Start waits for the stop, bounded by its own ctx.
func TestStartWaitsForStopInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered
		go func() { _ = a.Stop(context.Background()) }()
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, a.Start(ctx), context.Canceled, "Start is bounded by its ctx")

		started := make(chan error, 1)
		go func() { started <- a.Start(context.Background()) }()
		synctest.Wait()
		select {
		case <-started:
			t.Fatal("Start returned while the stop was still running")
		default:
		}
		close(g.hold)
		require.NoError(t, <-started)
		assertRunning(t, a)
		stop(t, a)
	})
}

// TestConcurrentStartsMakeOneIncarnation races Start calls after a stop.
func TestConcurrentStartsMakeOneIncarnation(t *testing.T) {
	var mu sync.Mutex
	made := 0
	a, err := actor.Spawn(actor.Config{}, func() actor.Behavior[int] {
		mu.Lock()
		made++
		mu.Unlock()
		return &gated{}
	})
	require.NoError(t, err)
	stop(t, a)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, a.Start(context.Background())) })
	}
	wg.Wait()
	assert.Equal(t, 2, made, "one restart, however many callers")
	stop(t, a)
}

// TestStartReportsNilFromFactory checks that a factory returning nil on a
// restart is a configuration error and leaves the actor stopped.
func TestStartReportsNilFromFactory(t *testing.T) {
	first := true
	a, err := actor.Spawn(actor.Config{}, func() actor.Behavior[int] {
		if first {
			first = false
			return &gated{}
		}
		return nil
	})
	require.NoError(t, err)
	stop(t, a)
	var cerr *resilience.ConfigError
	require.ErrorAs(t, a.Start(context.Background()), &cerr)
	require.ErrorIs(t, a.Tell(1), resilience.ErrStopped)
}

// TestAskRefusesNilArguments checks that Ask reports a nil actor or a nil
// message builder as a configuration error instead of panicking.
func TestAskRefusesNilArguments(t *testing.T) {
	var cerr *resilience.ConfigError
	_, err := actor.Ask[int, int](context.Background(), nil, func(actor.Reply[int]) int { return 0 })
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, "a", cerr.Field)
	a := spawn(t, actor.Config{}, &gated{})
	_, err = actor.Ask[int, int](context.Background(), a, nil)
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, "mk", cerr.Field)
	stop(t, a)
}
