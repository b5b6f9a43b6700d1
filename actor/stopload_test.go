package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
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

// kind is the kind of call a caller makes.
type kind int

const (
	tellCall kind = iota
	sendCall
	askCall
)

// call makes a call of kind k with payload n.
func call(ctx context.Context, a *actor.Actor[request], k kind, n int) error {
	switch k {
	case sendCall:
		return a.Send(ctx, request{n: n})
	case askCall:
		v, err := actor.Ask(ctx, a, func(r actor.Reply[int]) request { return request{n, r} })
		if err == nil && v != 2*n {
			return errors.New("wrong reply")
		}
		return err
	}
	return a.Tell(request{n: n})
}

// count records the answer err to a call of kind k; false means err was
// not one the call may give.
func (t *tally) count(k kind, err error) bool {
	t.calls++
	switch {
	case err == nil && k == askCall:
		t.replies++
	case err == nil:
		t.accepted++
	case errors.Is(err, resilience.ErrStopped), errors.Is(err, resilience.ErrFull),
		errors.Is(err, context.DeadlineExceeded):
		t.refused++
	default:
		return false
	}
	return true
}

// hammer makes calls in a loop, never backing off, until quit is closed,
// and returns what it was told. Most callers Tell; every fourth sends or
// asks.
func hammer(t *testing.T, a *actor.Actor[request], i int, quit <-chan struct{}) (tl tally) {
	k := [8]kind{3: sendCall, 7: askCall}[i%8]
	for n := 0; ; n++ {
		if err := call(context.Background(), a, k, n); !tl.count(k, err) {
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

// counts returns c; it lets embedding behaviours share checkAccounting.
func (c *countingDoubler) counts() *countingDoubler { return c }

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
	err := a.Stop(context.Background())
	undelivered := a.Undelivered()
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
	for _, discard := range []bool{false, true} {
		b := &countingDoubler{}
		a := spawn[request](t, actor.Config{Mailbox: 16, DiscardOnStop: discard}, b)
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
			err := a.Stop(ctx)
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
			t.Fatalf("DiscardOnStop %v: Stop returned only after the callers quit", discard)
		}
		close(quit)
		wg.Wait()
		checkAccounting(t, a, b, tl)
	}
}

// slowDoubler is a countingDoubler that takes 1 ms (of virtual time) per
// message.
type slowDoubler struct{ countingDoubler }

func (s *slowDoubler) Receive(self *actor.Self[request], r request) {
	time.Sleep(time.Millisecond)
	s.countingDoubler.Receive(self, r)
}

// pacedCaller calls until the actor refuses with ErrStopped, and returns
// what it was told. After a refusal it waits pause (of virtual time), and
// a Send waits at most pause for room and backs off longer, so that blocked
// senders do not take every free slot. An Ask waits for its answer, which a stop guarantees.
func pacedCaller(t *testing.T, a *actor.Actor[request], k kind, pause time.Duration) (tl tally) {
	for n := 0; ; n++ {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if k == sendCall {
			ctx, cancel = context.WithTimeout(ctx, pause)
		}
		err := call(ctx, a, k, n)
		cancel()
		if !tl.count(k, err) {
			t.Errorf("unexpected error %v", err)
			return tl
		}
		if errors.Is(err, resilience.ErrStopped) {
			return tl
		}
		if err != nil && k == sendCall {
			time.Sleep(5 * time.Millisecond) // a blocked Send takes any free slot first
		} else if err != nil {
			time.Sleep(pause)
		}
	}
}

// TestStopUnderLoadKeepsItsDeadline stops an actor whose mailbox is kept
// full by callers of Tell, Send and Ask. A drain that cannot finish in
// time returns its context's error exactly at the deadline; a discard stop
// returns once the message being handled is done. Either way every caller
// is answered and the accepted messages add up.
func TestStopUnderLoadKeepsItsDeadline(t *testing.T) {
	for _, tc := range []struct {
		discard bool
		wantErr error
		within  time.Duration
	}{
		{false, context.DeadlineExceeded, 5 * time.Millisecond},
		{true, nil, time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			b := &slowDoubler{}
			a := spawn[request](t, actor.Config{Mailbox: 16, DiscardOnStop: tc.discard}, b)
			var tl tally
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range 32 {
				pause := time.Duration(i%7+1) * 100 * time.Microsecond
				k := [16]kind{0: askCall, 1: sendCall, 3: askCall, 6: askCall, 9: askCall, 12: askCall, 15: askCall}[i%16]
				wg.Go(func() { tl.add(&mu, pacedCaller(t, a, k, pause)) })
			}
			time.Sleep(200 * time.Millisecond)
			// At 1 ms a message, 8 queued take longer than the 5 ms deadline.
			require.GreaterOrEqual(t, a.Len(), a.Cap()/2, "the callers keep the mailbox filled")

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := a.Stop(ctx)
			elapsed := time.Since(start)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, tc.within, elapsed, "Stop returns at its deadline")
			} else {
				require.NoError(t, err)
				assert.LessOrEqual(t, elapsed, tc.within, "a discard stop waits for one message at most")
			}
			wg.Wait()
			checkAccounting(t, a, b.counts(), tl)
			assert.Positive(t, b.discarded, "the stop discarded what it could not handle")
			assert.Positive(t, tl.replies, "asks were answered before the stop")
			assert.Positive(t, b.discardedAsks, "asks were among the discarded messages")
		})
	}
}
