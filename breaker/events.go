package breaker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// Event is one state change, as delivered to subscribers.
type Event struct {
	Name       string    // the breaker's Config.Name
	From, To   State     // the states before and after
	Reason     string    // why, one of the Reason constants
	Generation uint64    // the generation that began with this change
	At         time.Time // when the actor made the change
}

// subscription is one subscriber's channel. The actor alone sends on and
// closes ch; done is set from the subscriber's side when its context ends.
type subscription struct {
	ch   chan Event
	done atomic.Bool
}

// Subscribe returns a channel that receives the breaker's state changes
// from now on, until ctx is done or the breaker stops; the breaker's actor
// then closes it (at the latest at the next state change or at Stop). The
// actor never waits for a subscriber: when the channel's buffer is full
// the event is dropped and counted in [Metrics].EventsDropped, so a slow
// subscriber, or one that calls back into the breaker, cannot stall or
// deadlock it. buffer must not be negative.
//
// Subscribe waits for the actor to register the channel, or for ctx.
func (b *Breaker) Subscribe(ctx context.Context, buffer int) (<-chan Event, error) {
	if buffer < 0 {
		return nil, &ConfigError{Field: "buffer", Reason: "must not be negative"}
	}
	sub := &subscription{ch: make(chan Event, buffer)}
	err := askWait(ctx, b, func(r actor.Reply[struct{}]) msg {
		return msg{kind: kSubscribe, sub: sub, ack: r}
	})
	if err != nil {
		sub.done.Store(true) // in case the actor registered it anyway
		return nil, err
	}
	context.AfterFunc(ctx, func() {
		sub.done.Store(true)
		_ = b.tell(msg{kind: kUnsubscribe}) // if full, the next event prunes it
	})
	return sub.ch, nil
}

// publish delivers ev to every live subscriber without blocking.
func (e *engine) publish(ev Event) {
	e.prune()
	for _, s := range e.subs {
		select {
		case s.ch <- ev:
		default:
			e.b.dropped.Add(1)
		}
	}
}

// prune closes and forgets the subscriptions whose context is done.
func (e *engine) prune() {
	live := e.subs[:0]
	for _, s := range e.subs {
		if s.done.Load() {
			close(s.ch)
			continue
		}
		live = append(live, s)
	}
	clear(e.subs[len(live):])
	e.subs = live
}

// Metrics are a breaker's lifetime counters and current state. Every call
// made through the breaker is exactly one of Successes, Failures, Ignored,
// RejectedOpen and RejectedHalfOpen; SlowCalls overlaps them.
type Metrics struct {
	State            State
	Successes        uint64 // calls whose outcome was Success
	Failures         uint64 // calls whose outcome was Failure, panics included
	Ignored          uint64 // calls whose outcome was Ignore (e.g. context.Canceled)
	SlowCalls        uint64 // calls longer than SlowCallDuration
	RejectedOpen     uint64 // calls refused while open
	RejectedHalfOpen uint64 // calls refused while half-open with every probe slot taken
	Opened           uint64 // transitions into Open
	Closed           uint64 // transitions into Closed from another state
	EventsDropped    uint64 // events not delivered to a subscriber whose buffer was full
}

// Rejected returns all rejected calls, open and half-open.
func (m Metrics) Rejected() uint64 { return m.RejectedOpen + m.RejectedHalfOpen }

// Metrics returns the lifetime counters. It reads them without pausing
// traffic: each counter is exact, and the set is consistent to within the
// calls that finish while it is being read.
func (b *Breaker) Metrics() Metrics {
	c := b.shards.sum()
	return Metrics{
		State:            b.State(),
		Successes:        c.successes,
		Failures:         c.failures,
		Ignored:          c.ignored,
		SlowCalls:        c.slow,
		RejectedOpen:     c.rejectedOpen,
		RejectedHalfOpen: c.rejectedHalfOpen,
		Opened:           b.opened.Load(),
		Closed:           b.closed.Load(),
		EventsDropped:    b.dropped.Load(),
	}
}
