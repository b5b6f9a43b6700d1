package actor

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// Reply is the reply path of one request: the handler calls Send once. It
// is built by [Ask] (or [NewReply]) and travels inside the message. Its zero
// value discards the reply.
type Reply[R any] struct {
	s   *replySlot[R]
	gen uint64 // the slot's use this Reply belongs to; slots are recycled
}

// The states of one use of a replySlot. Exactly one transition out of
// open happens, by compare-and-swap, so the channel (capacity one) receives
// at most one value and nobody ever blocks sending on it.
const (
	slotOpen      = iota // no answer yet
	slotReplied          // the handler sent a value
	slotAbandoned        // the actor stopped without replying
	slotGaveUp           // the asker's context ended first
)

// replySlot is the shared state of a Reply. Asks recycle slots through
// their actor's pool; state holds the use's generation above the two state
// bits, so copies of a Reply from an earlier use can never answer a later
// one.
type replySlot[R any] struct {
	state atomic.Uint64 // gen<<2 | one of the slot states
	ch    chan R
}

// is reports whether use gen of the slot is in state st.
func (s *replySlot[R]) is(gen uint64, st uint64) bool { return s.state.Load() == gen<<2+st }

// claim moves use gen of the slot from open to st, if no one did first.
func (s *replySlot[R]) claim(gen uint64, st uint64) bool {
	return s.state.CompareAndSwap(gen<<2+slotOpen, gen<<2+st)
}

// Send delivers v to the asker without blocking. Only the first Send is
// delivered, and only if the asker still waits and the actor has not
// answered for it (as it does when it stops); later ones are dropped, so a
// handler can never block on a reply.
func (r Reply[R]) Send(v R) {
	if r.s != nil && r.s.claim(r.gen, slotReplied) {
		r.s.ch <- v
	}
}

// abandon wakes the asker, unless an answer won the slot first; the asker
// then reports that the actor stopped.
func (s *replySlot[R]) abandon(gen uint64) {
	if s.claim(gen, slotAbandoned) {
		var zero R
		s.ch <- zero
	}
}

// answered reports whether use gen of the slot has left the open state.
func (s *replySlot[R]) answered(gen uint64) bool { return !s.is(gen, slotOpen) }

// asker is the type-erased view of a replySlot the actor keeps, so that it
// can answer asks it will never handle, or handled without replying, when
// it stops.
type asker interface {
	abandon(gen uint64)
	answered(gen uint64) bool
}

// NewReply returns a Reply and the channel its value arrives on, for a
// request that is not sent with [Ask] (for example one delivered with
// [Actor.Send], which waits for room in the mailbox). The caller must also
// watch the actor's [Actor.Done]: an actor that stops may never reply.
func NewReply[R any]() (Reply[R], <-chan R) {
	s := &replySlot[R]{ch: make(chan R, 1)}
	return Reply[R]{s: s}, s.ch
}

// Ask sends the message built by mk to a and waits for the reply the handler
// sends on the given [Reply]. It does not block to enqueue: a full mailbox
// returns a [*resilience.RejectedError] (Reason [resilience.ErrFull]) at once, and a stopping or stopped actor an error
// matching [resilience.ErrStopped], as [Actor.Tell] does. While waiting it returns ctx.Err() if ctx
// ends first, and an error matching [resilience.ErrStopped] if the actor stops without
// replying: a message it discards, or one it handled without replying, is
// answered by the actor as it stops (wrapping the [*resilience.PanicError]
// if it failed). A nil a or mk returns a [*resilience.ConfigError]. A reply sent before that is still returned. The handler may keep
// the Reply and send later, from any goroutine.
func Ask[M, R any](ctx context.Context, a *Actor[M], mk func(Reply[R]) M) (R, error) {
	var zero R
	switch {
	case a == nil:
		return zero, &resilience.ConfigError{Field: "a", Reason: "must not be nil"}
	case mk == nil:
		return zero, &resilience.ConfigError{Field: "mk", Reason: "must not be nil"}
	}
	s, _ := a.slots.Get().(*replySlot[R])
	if s == nil {
		s = &replySlot[R]{ch: make(chan R, 1)}
	}
	gen := s.state.Load() >> 2
	l := a.cur.Load()
	err := l.offer(envelope[M]{msg: mk(Reply[R]{s: s, gen: gen}), ask: s, gen: gen})
	var v R
	if err == nil {
		v, err = s.wait(ctx, gen, l)
	}
	// The message was refused, or its one answer taken: retire this use so
	// stray copies of its Reply stay inert, and recycle the slot.
	s.state.Store((gen + 1) << 2)
	a.slots.Put(s)
	return v, err
}

// wait returns the reply, or why none came: the actor stopped (it answers
// every ask it will not reply to) or ctx ended first. Without a ctx
// deadline it is a plain receive.
func (s *replySlot[R]) wait(ctx context.Context, gen uint64, a stopInfo) (R, error) {
	var v R
	if done := ctx.Done(); done == nil {
		v = <-s.ch
	} else {
		select {
		case v = <-s.ch:
		case <-done:
			if s.claim(gen, slotGaveUp) {
				return v, ctx.Err()
			}
			v = <-s.ch // an answer won the race and is being delivered
		}
	}
	if s.is(gen, slotReplied) {
		return v, nil
	}
	if err := a.failure(); err != nil { // written before the slot was abandoned
		return v, fmt.Errorf("%w: %w", resilience.ErrStopped, err)
	}
	return v, resilience.ErrStopped
}

// stopInfo is what an asker reads from an actor that abandoned its ask.
type stopInfo interface{ failure() error }
