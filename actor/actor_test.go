package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gated is a behaviour that records messages and can be held inside Receive.
type gated struct {
	got     []int
	hold    chan struct{} // if non-nil, Receive waits on it for every message
	entered chan int      // if it has room, Receive reports the message on entry
}

func (g *gated) Receive(_ *actor.Self[int], msg int) {
	select {
	case g.entered <- msg: // nil or full: nobody is watching
	default:
	}
	if g.hold != nil {
		<-g.hold
	}
	g.got = append(g.got, msg)
}

// same returns a factory that always returns b.
func same[M any](b actor.Behavior[M]) func() actor.Behavior[M] {
	return func() actor.Behavior[M] { return b }
}

func spawn[M any](t *testing.T, cfg actor.Config, b actor.Behavior[M]) *actor.Actor[M] {
	t.Helper()
	a, err := actor.Spawn(cfg, same(b))
	require.NoError(t, err)
	return a
}

func stop[M any](t *testing.T, a *actor.Actor[M]) int {
	t.Helper()
	err := a.Stop(context.Background())
	require.NoError(t, err, "a clean stop returns no error")
	return a.Undelivered()
}

// assertStopped checks that a's goroutine has exited, failed or not.
func assertStopped[M any](t *testing.T, a *actor.Actor[M], failed bool) {
	t.Helper()
	select {
	case <-a.Done():
	default:
		t.Fatal("Done is not closed")
	}
	if failed {
		assert.Error(t, a.Err())
	} else {
		assert.NoError(t, a.Err())
	}
}

// assertRunning checks that a's goroutine has not exited.
func assertRunning[M any](t *testing.T, a *actor.Actor[M]) {
	t.Helper()
	select {
	case <-a.Done():
		t.Fatal("Done is closed")
	default:
	}
}

func TestSpawnRejectsBadInput(t *testing.T) {
	var cerr *resilience.ConfigError
	_, err := actor.Spawn[int](actor.Config{}, nil)
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, "newBehavior", cerr.Field)

	_, err = actor.Spawn(actor.Config{}, same[int](nil))
	require.ErrorAs(t, err, &cerr)

	_, err = actor.Spawn(actor.Config{}, same[int](actor.Func[int](nil)))
	require.ErrorAs(t, err, &cerr)

	_, err = actor.Spawn(actor.Config{Mailbox: -1}, same[int](actor.Func[int](func(*actor.Self[int], int) {})))
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, "actor.Config.Mailbox", cerr.Field)
	assert.Contains(t, err.Error(), "Mailbox")
}

func TestZeroConfigUsesDefaults(t *testing.T) {
	a := spawn(t, actor.Config{}, &gated{})
	assert.Equal(t, 64, a.Cap())
	assert.Equal(t, "actor", a.Name())
	stop(t, a)
}

func TestTellHandlesInOrder(t *testing.T) {
	g := &gated{}
	a := spawn(t, actor.Config{Name: "order", Mailbox: 8}, g)
	for i := range 8 {
		require.NoError(t, a.Tell(i))
	}
	assert.Equal(t, 0, stop(t, a), "drain handles every queued message")
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, g.got, "messages are handled in the order they were told")
	assert.EqualValues(t, 8, a.Handled())
	assertStopped(t, a, false)
}

func TestTellFullMailboxRejects(t *testing.T) {
	g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
	a := spawn(t, actor.Config{Mailbox: 2}, g)
	require.NoError(t, a.Tell(0))
	<-g.entered // the actor is now inside Receive(0), so the mailbox is empty
	require.NoError(t, a.Tell(1))
	require.NoError(t, a.Tell(2))
	assert.Equal(t, 2, a.Len())
	require.ErrorIs(t, a.Tell(3), resilience.ErrFull, "a full mailbox must reject, not block")

	close(g.hold)
	assert.Equal(t, 0, stop(t, a))
	assert.Equal(t, []int{0, 1, 2}, g.got)
}

func TestTellAfterStop(t *testing.T) {
	a := spawn(t, actor.Config{}, &gated{})
	stop(t, a)
	require.ErrorIs(t, a.Tell(1), resilience.ErrStopped)
	require.ErrorIs(t, a.Send(context.Background(), 1), resilience.ErrStopped)
	_, err := actor.Ask(context.Background(), a, func(actor.Reply[int]) int { return 1 })
	require.ErrorIs(t, err, resilience.ErrStopped)
}

func TestStopIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{Mailbox: 4, DiscardOnStop: true}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered
		require.NoError(t, a.Tell(1))
		require.NoError(t, a.Tell(2))

		results := make(chan int, 3)
		for range 3 {
			go func() {
				_ = a.Stop(context.Background())
				n := a.Undelivered()
				results <- n
			}()
		}
		synctest.Wait() // every Stop is now waiting
		close(g.hold)
		for range 3 {
			assert.Equal(t, 2, <-results, "every Stop call reports the same undelivered count")
		}
		err := a.Stop(context.Background())
		n := a.Undelivered()
		require.NoError(t, err)
		assert.Equal(t, 2, n, "a later Stop does not change the outcome of the first")
		assert.Equal(t, []int{0}, g.got)
	})
}

func TestStopOvertakesQueuedMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{Mailbox: 16, DiscardOnStop: true}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered
		for i := 1; i <= 16; i++ {
			require.NoError(t, a.Tell(i))
		}
		stopped := make(chan int, 1)
		go func() {
			_ = a.Stop(context.Background())
			n := a.Undelivered()
			stopped <- n
		}()
		synctest.Wait()
		assertRunning(t, a)
		close(g.hold)
		assert.Equal(t, 16, <-stopped, "a discard stop skips every queued message")
		assert.Equal(t, []int{0}, g.got, "stop is handled before the queued user messages")
	})
}

// discarding records what the actor accepted but never handled.
type discarding struct {
	gated
	discarded []int
	causes    []error
	stopped   []error
}

func (d *discarding) Discard(msg int, cause error) {
	d.discarded = append(d.discarded, msg)
	d.causes = append(d.causes, cause)
}

func (d *discarding) Stopped(cause error) { d.stopped = append(d.stopped, cause) }

func TestDiscardHookSeesEveryUndeliveredMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &discarding{gated: gated{hold: make(chan struct{}), entered: make(chan int, 1)}}
		a := spawn(t, actor.Config{Mailbox: 4, DiscardOnStop: true}, d)
		require.NoError(t, a.Tell(0))
		<-d.entered
		require.NoError(t, a.Tell(1))
		require.NoError(t, a.Tell(2))
		stopped := make(chan int, 1)
		go func() {
			_ = a.Stop(context.Background())
			n := a.Undelivered()
			stopped <- n
		}()
		synctest.Wait()
		close(d.hold)
		assert.Equal(t, 2, <-stopped)
		assert.Equal(t, []int{1, 2}, d.discarded)
		for _, c := range d.causes {
			assert.ErrorIs(t, c, resilience.ErrStopped)
		}
		assert.Equal(t, []error{nil}, d.stopped, "Stopped runs once, with a nil cause after a clean stop")
	})
}

func TestStopContextEndsWhileHandlerHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := a.Stop(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded, "Stop honours its context's deadline")
		assertRunning(t, a)

		close(g.hold)
		<-a.Done()
		assertStopped(t, a, false)
	})
}

func TestDrainStopsAtContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := actor.Func[int](func(*actor.Self[int], int) { time.Sleep(time.Second) })
		d := &discarding{}
		b := struct {
			actor.Func[int]
			*discarding
		}{slow, d}
		a := spawn[int](t, actor.Config{Mailbox: 10}, b)
		for i := range 10 {
			require.NoError(t, a.Tell(i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
		defer cancel()
		done := make(chan int)
		go func() {
			_ = a.Stop(ctx)
			n := a.Undelivered()
			done <- n
		}()
		<-a.Done()
		handled := a.Handled()
		assert.Less(t, handled, uint64(10), "the drain stopped at the deadline")
		assert.Len(t, d.discarded, 10-int(handled), "every message not handled is discarded")
		<-done
	})
}

func TestSendWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{Mailbox: 1}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered
		require.NoError(t, a.Tell(1))

		sent := make(chan error, 1)
		go func() { sent <- a.Send(context.Background(), 2) }()
		synctest.Wait()
		assert.Empty(t, sent, "Send blocks while the mailbox is full")
		g.hold <- struct{}{} // finish message 0; 1 is taken, making room for 2
		require.NoError(t, <-sent)
		close(g.hold)
		stop(t, a)
		assert.Equal(t, []int{0, 1, 2}, g.got)
	})
}

func TestSendHonoursContextAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gated{hold: make(chan struct{}), entered: make(chan int, 1)}
		a := spawn(t, actor.Config{Mailbox: 1, DiscardOnStop: true}, g)
		require.NoError(t, a.Tell(0))
		<-g.entered
		require.NoError(t, a.Tell(1))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		require.ErrorIs(t, a.Send(ctx, 2), context.DeadlineExceeded)

		sent := make(chan error, 1)
		go func() { sent <- a.Send(context.Background(), 3) }()
		synctest.Wait()
		stopped := make(chan int, 1)
		go func() {
			_ = a.Stop(context.Background())
			n := a.Undelivered()
			stopped <- n
		}()
		require.ErrorIs(t, <-sent, resilience.ErrStopped, "a blocked Send wakes when the actor stops")
		close(g.hold)
		assert.Equal(t, 1, <-stopped)
	})
}

type request struct {
	n     int
	reply actor.Reply[int]
}

func doubler() actor.Func[request] {
	return func(_ *actor.Self[request], r request) { r.reply.Send(2 * r.n) }
}

func TestAskReplies(t *testing.T) {
	a := spawn(t, actor.Config{}, doubler())
	for i := range 5 {
		v, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{i, r} })
		require.NoError(t, err)
		assert.Equal(t, 2*i, v)
	}
	stop(t, a)
}

func TestAskContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		silent := actor.Func[request](func(*actor.Self[request], request) {})
		a := spawn(t, actor.Config{}, silent)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := actor.Ask(ctx, a, func(r actor.Reply[int]) request { return request{1, r} })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		stop(t, a)
	})
}

func TestAskReturnsWhenActorStopsWithoutReplying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{})
		entered := make(chan struct{}, 1)
		b := actor.Func[request](func(_ *actor.Self[request], r request) {
			entered <- struct{}{}
			<-hold
		})
		a := spawn(t, actor.Config{DiscardOnStop: true}, b)
		require.NoError(t, a.Tell(request{}))
		<-entered
		asked := make(chan error, 1)
		go func() {
			_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{1, r} })
			asked <- err
		}()
		synctest.Wait()
		go func() { _ = a.Stop(context.Background()) }()
		close(hold)
		require.ErrorIs(t, <-asked, resilience.ErrStopped, "a waiting Ask must not hang when the actor stops")
	})
}

func TestPanicFailsActorAndIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		d := &discarding{}
		b := struct {
			actor.Func[int]
			*discarding
		}{func(_ *actor.Self[int], n int) {
			if n == 1 {
				panic(boom)
			}
			d.got = append(d.got, n)
		}, d}
		a := spawn[int](t, actor.Config{Name: "fragile", Mailbox: 8}, b)

		hold := make(chan struct{})
		// Queue 0 and 1 behind nothing; 2 and an Ask sit behind the panic.
		require.NoError(t, a.Tell(0))
		require.NoError(t, a.Tell(1))
		require.NoError(t, a.Tell(2))
		<-a.Done()
		close(hold)

		var perr *resilience.PanicError
		require.ErrorAs(t, a.Err(), &perr)
		assert.ErrorIs(t, a.Err(), boom, "the panic value is reachable with errors.Is")
		assert.Contains(t, string(perr.Stack), "actor_test", "the failure carries the stack")
		assertStopped(t, a, true)
		assert.Equal(t, []int{0}, d.got)
		assert.Equal(t, []int{2}, d.discarded, "messages behind the panic are discarded, not lost")
		require.Len(t, d.stopped, 1)
		assert.ErrorIs(t, d.stopped[0], boom)

		require.ErrorIs(t, a.Tell(3), resilience.ErrStopped)
		err := a.Stop(context.Background())
		require.ErrorAs(t, err, &perr, "Stop reports the failure")
	})
}

func TestAskSeesPanicFailure(t *testing.T) {
	b := actor.Func[request](func(*actor.Self[request], request) { panic("nope") })
	a := spawn(t, actor.Config{}, b)
	_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{1, r} })
	require.ErrorIs(t, err, resilience.ErrStopped)
	var perr *resilience.PanicError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "nope", perr.Value)
}

func TestGoexitFailsActor(t *testing.T) {
	b := actor.Func[int](func(*actor.Self[int], int) { runtimeGoexit() })
	a := spawn(t, actor.Config{}, b)
	require.NoError(t, a.Tell(1))
	<-a.Done()
	assertStopped(t, a, true)
	require.Error(t, a.Err())
}

func TestSelfStop(t *testing.T) {
	g := &gated{}
	b := actor.Func[int](func(self *actor.Self[int], n int) {
		g.got = append(g.got, n)
		if n == 2 {
			self.Stop()
		}
	})
	a := spawn(t, actor.Config{Mailbox: 8}, b)
	for i := range 5 {
		require.NoError(t, a.Tell(i))
	}
	<-a.Done()
	assert.NoError(t, a.Err())
	assert.Equal(t, []int{0, 1, 2, 3, 4}, g.got, "a self-requested drain still handles what was queued")
}

func TestNewReplyWithSend(t *testing.T) {
	a := spawn(t, actor.Config{}, doubler())
	reply, ch := actor.NewReply[int]()
	require.NoError(t, a.Send(context.Background(), request{21, reply}))
	assert.Equal(t, 42, <-ch)
	stop(t, a)
}

func TestAskSeesGoexit(t *testing.T) {
	b := actor.Func[request](func(*actor.Self[request], request) { runtimeGoexit() })
	a := spawn(t, actor.Config{}, b)
	_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{1, r} })
	require.ErrorIs(t, err, resilience.ErrStopped, "an Ask must not hang when the handler exits its goroutine")
}

// TestDeferredReplyAnsweredAtStop keeps the Reply to answer later, then
// stops: the asker is told the actor stopped instead of waiting forever.
func TestDeferredReplyAnsweredAtStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var kept []actor.Reply[int]
		b := actor.Func[request](func(_ *actor.Self[request], r request) { kept = append(kept, r.reply) })
		a := spawn(t, actor.Config{Mailbox: 128}, b)
		asked := make(chan error, 100)
		for i := range 100 {
			go func() {
				_, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{i, r} })
				asked <- err
			}()
		}
		synctest.Wait()
		require.Equal(t, 100, len(kept))
		kept[0].Send(7) // one answered before the stop
		stop(t, a)
		errs := 0
		for range 100 {
			if err := <-asked; err != nil {
				require.ErrorIs(t, err, resilience.ErrStopped)
				errs++
			}
		}
		assert.Equal(t, 99, errs, "every unanswered ask is told the actor stopped; the answered one keeps its reply")
		kept[1].Send(8) // a reply after the stop is dropped, never blocks
	})
}

// TestStaleRepliesNeverAnswerLaterAsks keeps every Reply and sends on all
// the old ones again: Ask recycles its reply slots, and a stale Reply must
// never answer a later Ask.
func TestStaleRepliesNeverAnswerLaterAsks(t *testing.T) {
	var old []actor.Reply[int]
	b := actor.Func[request](func(_ *actor.Self[request], r request) {
		for _, o := range old {
			o.Send(-1)
		}
		r.reply.Send(2 * r.n)
		r.reply.Send(-2) // a second Send of the same Reply is dropped
		old = append(old, r.reply)
	})
	a := spawn(t, actor.Config{}, b)
	for i := range 200 {
		v, err := actor.Ask(context.Background(), a, func(r actor.Reply[int]) request { return request{i, r} })
		require.NoError(t, err)
		require.Equal(t, 2*i, v, "ask %d got a stale or duplicate reply", i)
	}
	stop(t, a)
}
