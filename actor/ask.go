package actor

import (
	"context"
	"fmt"
)

// Reply is the reply path of one [Ask]: a channel of capacity one that the
// handler sends on once. Its zero value discards the reply.
type Reply[R any] struct {
	ch chan R
}

// NewReply returns a Reply and the channel its value arrives on, for a
// request that is not sent with [Ask] (for example one delivered with
// [Actor.Send], which waits for room in the mailbox). The caller must also
// watch the actor's [Actor.Done]: an actor that stops may never reply.
func NewReply[R any]() (Reply[R], <-chan R) {
	ch := make(chan R, 1)
	return Reply[R]{ch: ch}, ch
}

// Send delivers v to the asker without blocking. Only the first Send of a
// Reply is delivered; later ones, and replies nobody waits for any more
// (the asker gave up), are dropped, so a handler can never block on them.
func (r Reply[R]) Send(v R) {
	select {
	case r.ch <- v:
	default:
	}
}

// Ask sends the message built by mk to a and waits for the reply the handler
// sends on the given [Reply]. It does not block to enqueue: a full mailbox
// returns [ErrMailboxFull] at once. While waiting it returns ctx.Err() if ctx
// ends, and an error matching [ErrStopped] if the actor stops without
// replying (wrapping the [*PanicError] if it failed). A reply sent before the
// actor stopped is still returned.
func Ask[M, R any](ctx context.Context, a *Actor[M], mk func(Reply[R]) M) (R, error) {
	var zero R
	reply := Reply[R]{ch: make(chan R, 1)}
	if err := a.Tell(mk(reply)); err != nil {
		return zero, err
	}
	select {
	case v := <-reply.ch:
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-a.done:
		select {
		case v := <-reply.ch:
			return v, nil
		default:
		}
		if a.err != nil {
			return zero, fmt.Errorf("%w: %w", ErrStopped, a.err)
		}
		return zero, ErrStopped
	}
}
