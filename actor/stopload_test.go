package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience/actor"
)

// tally counts what callers were told.
type tally struct {
	calls    int64
	accepted int64 // Tell and Send calls that returned nil
	replies  int64 // Ask calls that returned a reply
	refused  int64 // calls that returned an error
}

// add adds o to t under mu.
func (t *tally) add(mu *sync.Mutex, o tally) {
	mu.Lock()
	defer mu.Unlock()
	t.calls += o.calls
	t.accepted += o.accepted
	t.replies += o.replies
	t.refused += o.refused
}

// call makes caller i's n-th call: Tell for most callers, Send or Ask for
// every fourth.
func call(ctx context.Context, a *actor.Actor[request], i, n int) error {
	switch i % 8 {
	case 3:
		return a.Send(ctx, request{n: n})
	case 7:
		v, err := actor.Ask(ctx, a, func(r actor.Reply[int]) request { return request{n, r} })
		if err == nil && v != 2*n {
			return errors.New("wrong reply")
		}
		return err
	}
	return a.Tell(request{n: n})
}

// hammer makes calls in a loop, never backing off, until quit is closed,
// and returns what it was told.
func hammer(t *testing.T, a *actor.Actor[request], i int, quit <-chan struct{}) (tl tally) {
	for n := 0; ; n++ {
		err := call(context.Background(), a, i, n)
		tl.calls++
		switch {
		case err == nil && i%8 == 7:
			tl.replies++
		case err == nil:
			tl.accepted++
		case errors.Is(err, actor.ErrStopped), errors.Is(err, actor.ErrMailboxFull):
			tl.refused++
		default:
			t.Errorf("caller %d: unexpected error %v", i, err)
			return tl
		}
		select {
		case <-quit:
			return tl
		default:
		}
	}
}

// countingDoubler replies to every request and counts handled and
// discarded ones, and discarded asks (their askers are told ErrStopped);
// both run on the actor's goroutine.
type countingDoubler struct{ handled, discarded, discardedAsks int }

func (c *countingDoubler) Receive(_ *actor.Self[request], r request) {
	c.handled++
	r.reply.Send(2 * r.n)
}

func (c *countingDoubler) Discard(r request, _ error) {
	c.discarded++
	if r.reply != (actor.Reply[int]{}) {
		c.discardedAsks++
	}
}

// checkAccounting checks that every call was answered and every accepted
// message was handled or counted, once the actor is done. Tell and Send
// accepted a message when they returned nil; Ask when it got a reply, or
// when its message was discarded.
func checkAccounting(t *testing.T, a *actor.Actor[request], b *countingDoubler, tl tally) {
	t.Helper()
	<-a.Done()
	undelivered, err := a.Stop(context.Background(), actor.Drain)
	require.NoError(t, err)
	assert.Equal(t, tl.calls, tl.accepted+tl.replies+tl.refused, "every call was answered")
	assert.Equal(t, tl.accepted+tl.replies+int64(b.discardedAsks), int64(b.handled+undelivered),
		"every accepted message is handled or counted as undelivered")
	assert.Equal(t, undelivered, b.discarded, "every undelivered message reaches Discard")
}

// TestStopBoundedUnderConcurrentCallers stops an actor while 64 callers
// keep calling Tell, Send and Ask and never back off; they are told to
// quit only once Stop has returned. Stop must return nil or its context's
// error however long the callers go on. The 10 s limit only detects a Stop
// that never returns; it is not a performance threshold.
func TestStopBoundedUnderConcurrentCallers(t *testing.T) {
	for _, mode := range []actor.StopMode{actor.Drain, actor.Discard} {
		b := &countingDoubler{}
		a := spawn[request](t, actor.Config{Mailbox: 16}, b)
		var tl tally
		var mu sync.Mutex
		quit := make(chan struct{})
		var wg, started sync.WaitGroup
		started.Add(64)
		for i := range 64 {
			wg.Go(func() {
				started.Done()
				tl.add(&mu, hammer(t, a, i, quit))
			})
		}
		started.Wait()

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := a.Stop(ctx, mode)
			stopped <- err
		}()
		select {
		case err := <-stopped:
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		case <-time.After(10 * time.Second):
			close(quit)
			wg.Wait()
			<-stopped
			t.Fatalf("mode %d: Stop returned only after the callers quit", mode)
		}
		close(quit)
		wg.Wait()
		checkAccounting(t, a, b, tl)
	}
}
