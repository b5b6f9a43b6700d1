package actor_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// exitingHooks is a behaviour whose Discard or Stopped hook calls
// runtime.Goexit, as t.FailNow does inside a test.
type exitingHooks struct {
	hold                            chan struct{}
	inReceive, inDiscard, inStopped bool
	discards, stoppedCalls          int
}

func (e *exitingHooks) Receive(*actor.Self[request], request) {
	<-e.hold
	if e.inReceive {
		runtimeGoexit()
	}
}

func (e *exitingHooks) Discard(request, error) {
	e.discards++
	if e.inDiscard {
		runtimeGoexit()
	}
}

func (e *exitingHooks) Stopped(error) {
	e.stoppedCalls++
	if e.inStopped {
		runtimeGoexit()
	}
}

// TestHookGoexitStillAnswersEveryone makes a shutdown hook exit the
// actor's goroutine with asks queued: the actor still fails cleanly, every
// ask is answered, Stop returns and Done closes; an exited hook is not
// called again. The last case exits from the handler and then again from
// Discard, while the actor is already ending after the first exit.
func TestHookGoexitStillAnswersEveryone(t *testing.T) {
	for _, tc := range []exitingHooks{{inDiscard: true}, {inStopped: true}, {inReceive: true, inDiscard: true}} {
		synctest.Test(t, func(t *testing.T) {
			b := &tc
			b.hold = make(chan struct{})
			a := spawn[request](t, actor.Config{Mailbox: 4, DiscardOnStop: true}, b)
			require.NoError(t, a.Tell(request{}))
			synctest.Wait() // the handler holds the first message
			asked := make(chan error, 3)
			for range 3 {
				go func() {
					_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{1, r} })
					asked <- err
				}()
			}
			synctest.Wait()
			stopped := make(chan error, 1)
			go func() {
				err := a.Stop(context.Background())
				n := a.Undelivered()
				assert.Equal(t, 3, n, "the queued asks are undelivered")
				stopped <- err
			}()
			synctest.Wait()
			close(b.hold)

			var perr *resilience.PanicError
			require.ErrorAs(t, <-stopped, &perr, "a hook that exits the goroutine fails the actor")
			for range 3 {
				require.ErrorIs(t, <-asked, resilience.ErrStopped)
			}
			<-a.Done()
			assertStopped(t, a, true)
			if tc.inDiscard {
				assert.Equal(t, 1, b.discards, "an exited Discard hook is not called again")
				assert.Zero(t, b.stoppedCalls)
			} else {
				assert.Equal(t, 3, b.discards)
				assert.Equal(t, 1, b.stoppedCalls)
			}
		})
	}
}
