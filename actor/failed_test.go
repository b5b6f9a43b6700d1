package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// TestFailedActorAnswersEveryCallerAtOnce lets a handler panic with a Send
// blocked on the full mailbox and an Ask waiting, then calls Tell, Send and
// Ask on the failed actor. Nobody hangs (synctest reports a deadlock as a
// failure) and every error matches ErrStopped and carries the PanicError.
func TestFailedActorAnswersEveryCallerAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		hold := make(chan struct{})
		b := actor.Func[request](func(_ *actor.Self[request], r request) {
			<-hold
			panic(boom)
		})
		a := spawn(t, actor.Config{Name: "dying", Mailbox: 1}, b)
		require.NoError(t, a.Tell(request{}))
		synctest.Wait() // the handler holds the first message
		asked := make(chan error, 1)
		go func() {
			_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{1, r} })
			asked <- err
		}()
		synctest.Wait() // the Ask fills the mailbox
		sent := make(chan error, 1)
		go func() { sent <- a.Send(context.Background(), request{n: 2}) }()
		synctest.Wait() // the Send waits for room
		close(hold)
		<-a.Done()

		require.ErrorIs(t, <-sent, resilience.ErrStopped, "a Send blocked on the mailbox wakes when the actor fails")
		requireFailure(t, <-asked, boom)
		requireFailure(t, a.Tell(request{}), boom)
		requireFailure(t, a.Send(context.Background(), request{}), boom)
		_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{3, r} })
		requireFailure(t, err, boom)
	})
}

// requireFailure checks err says the actor stopped, and why.
func requireFailure(t *testing.T, err, cause error) {
	t.Helper()
	require.ErrorIs(t, err, resilience.ErrStopped)
	var perr *resilience.PanicError
	require.ErrorAs(t, err, &perr, "the error says why the actor stopped")
	assert.ErrorIs(t, err, cause)
}
