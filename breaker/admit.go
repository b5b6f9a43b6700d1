package breaker

import (
	"context"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// admitReq is a half-open caller's request for a probe slot. Exactly one of
// the actor (answering) and the caller (giving up) moves state from
// pending, so a slot is never granted to a caller that has stopped
// waiting for it.
type admitReq struct {
	state atomic.Int32   // reqPending, reqAnswered or reqAbandoned
	ch    chan admission // capacity 1: the actor never blocks on it
}

const (
	reqPending int32 = iota
	reqAnswered
	reqAbandoned
)

// answer is the actor's side: it grants or refuses a slot with grant,
// unless the caller has given up, in which case nothing is granted.
func (r *admitReq) answer(grant func() admission) {
	if r.state.CompareAndSwap(reqPending, reqAnswered) {
		r.ch <- grant()
	}
}

// askAdmit asks the actor for a probe slot and waits for its answer, for
// ctx to end or for the actor to stop. It never blocks on a full mailbox:
// that is a full half-open too.
func (b *Breaker) askAdmit(ctx context.Context) (admission, error) {
	a, err := b.ref()
	if err != nil {
		return admission{}, err
	}
	req := &admitReq{ch: make(chan admission, 1)}
	if err := a.Tell(msg{kind: kAdmit, req: req}); err != nil {
		return admission{}, stoppedOr(err)
	}
	var gaveUp error
	select {
	case r := <-req.ch:
		return r, nil
	case <-ctx.Done():
		gaveUp = ctx.Err()
	case <-a.Done():
		gaveUp = resilience.ErrStopped
	}
	if req.state.CompareAndSwap(reqPending, reqAbandoned) {
		return admission{}, gaveUp
	}
	return <-req.ch, nil // answered meanwhile: the value is on its way
}
