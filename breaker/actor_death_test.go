package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/actor"
)

// errCrash is what crashing's handler panics with.
var errCrash = errors.New("engine crashed")

// crashing runs b's real engine, but its handler panics on a kWake
// carrying gen 99: the actor dies as it would on a bug in the engine.
type crashing struct{ eng *engine }

func (c *crashing) Receive(self *actor.Self[msg], x msg) {
	if x.kind == kWake && x.gen == 99 {
		panic(errCrash)
	}
	c.eng.Receive(self, x)
}

func (c *crashing) Stopped(err error) { c.eng.Stopped(err) }

// crash starts b's actor as crashing and kills it.
func crash(t *testing.T, b *Breaker) {
	c := &crashing{eng: &engine{b: b, m: newMachine(b.cfg), cur: b.snap.Load(), win: newWindow(*b.cfg)}}
	a, err := actor.Spawn(actor.Config{}, func() actor.Behavior[msg] { return c })
	require.NoError(t, err)
	b.act.Store(a)
	require.NoError(t, a.Tell(msg{kind: kWake, gen: 99}))
	<-a.Done()
}

func TestDeadActorRefusesEveryCallAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		crash(t, b)
		ctx := context.Background()
		ran := false
		err = b.Run(ctx, func(context.Context) error { ran = true; return nil })
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, err, errCrash, "the error says why the breaker stopped")
		assert.False(t, ran, "no call passes unprotected")
		_, err = resilience.Do(ctx, b, func(context.Context) (int, error) { return 1, nil })
		assert.ErrorIs(t, err, resilience.ErrStopped)
		_, err = b.Allow(ctx)
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, b.ForceOpen(ctx), resilience.ErrStopped)
		assert.ErrorIs(t, b.Start(ctx), resilience.ErrStopped)
		<-b.Done()
		var pe *resilience.PanicError
		assert.ErrorAs(t, b.Err(), &pe, "Err reports the actor's failure")
		assert.ErrorAs(t, b.Stop(ctx), &pe, "Stop reports the actor's failure")
	})
}

func TestActorDeathAnswersWaitingCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		h, a := holdable(t, b)
		h.stall(a, false)
		errs := make(chan error, 1)
		go func() { errs <- b.Run(context.Background(), fail) }() // waits for the trip
		synctest.Wait()
		h.eng.cur = nil // the engine's next message dereferences nil: the actor dies
		h.unstall()
		assert.ErrorIs(t, <-errs, errBoom)
		ran := false
		err = b.Run(context.Background(), func(context.Context) error { ran = true; return nil })
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.False(t, ran, "a breaker whose actor died lets no call through")
		assert.Error(t, b.Stop(context.Background()))
	})
}
