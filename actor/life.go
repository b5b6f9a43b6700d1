package actor

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// closedBit marks the gate closed; the bits below it count senders that are
// between their check of the gate and the end of their channel send.
const closedBit = int64(1) << 62

// life is one incarnation of an actor: its goroutine, mailbox and outcome.
type life[M any] struct {
	h             *Actor[M]
	name          string
	behavior      Behavior[M]
	discardOnStop bool
	mailbox       chan envelope[M] // closed by seal once no sender can use it

	// gate admits senders: closedBit once stopping has begun, plus the
	// number of senders in flight. Whoever leaves a closed gate empty (the
	// last sender out, or requestStop if none is in) seals the mailbox, so
	// its final content is known and every accepted message is either
	// handled or counted. Nobody waits for the gate to empty.
	gate     atomic.Int64
	sealOnce sync.Once // closes mailbox

	stopOnce   sync.Once
	stopReq    atomic.Bool     // set when Stop begins; checked before each message
	stopping   chan struct{}   // closed when Stop begins; never sent on
	stopCancel <-chan struct{} // first Stop's ctx.Done(); written before stopping is closed

	leftover    envelope[M]  // a message taken out by the loop after Stop began
	hasLeftover bool         // loop-only, like leftover
	outstanding []pendingAsk // loop-only: asks handled without a reply yet

	inHooks     bool          // loop-only: finish is running the shutdown hooks
	published   bool          // loop-only: the outcome is published
	done        chan struct{} // closed by the loop when it exits; never sent on
	err         error         // loop-only until done is closed, then read-only
	refusal     error         // what senders are told once done; written before done is closed
	undelivered int           // written before done is closed
}

// envelope is what the mailbox carries: a message and, for an [Ask], the
// reply slot the actor answers if it stops without replying.
type envelope[M any] struct {
	msg M
	ask asker // nil unless sent by Ask
	gen uint64
}

// offer is Tell for an envelope.
func (a *life[M]) offer(env envelope[M]) error {
	if a.gate.Add(1)&closedBit != 0 {
		a.leave()
		return a.refused()
	}
	var err error
	select {
	case a.mailbox <- env:
	default:
		err = a.h.full
	}
	a.leave()
	return err
}

// leave ends a sender's passage through the gate. The sender that leaves a
// closed gate empty seals the mailbox: every sender that passed the gate
// before it closed has finished its send.
func (a *life[M]) leave() {
	if a.gate.Add(-1) == closedBit {
		a.seal()
	}
}

// refused is the error for a sender the closed gate turned away:
// ErrStopped, wrapping the *PanicError once a failed actor is done.
func (a *life[M]) refused() error {
	select {
	case <-a.done:
		return a.refusal
	default:
		return resilience.ErrStopped
	}
}

// seal closes the mailbox, once. It is called only when the gate is closed
// and no sender that passed it is still sending, so nobody can send on the
// mailbox any more; it can only shrink. Closing it wakes the loop.
func (a *life[M]) seal() { a.sealOnce.Do(func() { close(a.mailbox) }) }

// send is Send on this incarnation.
func (a *life[M]) send(ctx context.Context, msg M) error {
	if a.gate.Add(1)&closedBit != 0 {
		a.leave()
		return a.refused()
	}
	defer a.leave()
	env := envelope[M]{msg: msg}
	select {
	case a.mailbox <- env:
		return nil
	default:
	}
	select {
	case a.mailbox <- env:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopping:
		return resilience.ErrStopped
	}
}

// stop is Stop on this incarnation.
func (a *life[M]) stop(ctx context.Context) error {
	a.requestStop(ctx.Done())
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestStop starts the stop once, without waiting for anyone: it records
// the stop's ctx, wakes blocked Send calls, and closes the gate to new senders.
// If no sender is in flight it seals the mailbox itself; otherwise the last
// one to leave does (their sends never block for long: Tell does not block
// and Send gives up when stopping closes).
func (a *life[M]) requestStop(cancel <-chan struct{}) {
	a.stopOnce.Do(func() {
		a.stopCancel = cancel
		a.stopReq.Store(true)
		close(a.stopping)
		if a.gate.Or(closedBit) == 0 {
			a.seal()
		}
	})
}

// failure is the actor's failure; askers read it after the actor
// abandoned their ask, which it does after writing err.
func (a *life[M]) failure() error { return a.err }

// Err is Actor.Err for this incarnation.
func (a *life[M]) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}
