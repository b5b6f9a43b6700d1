package breaker

import (
	"time"

	"github.com/llm-research-lab/resilience/internal/events"
)

// Event is one state change, as sent on [Config].Events.
type Event struct {
	// Name is the breaker's Config.Name; in a [Family], its key (see
	// [Family.For]).
	Name string
	// From and To are the states before and after.
	From, To State
	// Reason says why: "consecutive failures", "failures within period",
	// "failure rate", "trip rule", "open timeout elapsed", "probe failed",
	// "probe success ratio too low", "probes succeeded", "forced open",
	// "forced half-open", "forced closed" or "reset".
	Reason string
	// Generation is the generation that began with this change.
	Generation uint64
	// At is when the actor made the change.
	At time.Time
}

// publish sends ev on Config.Events without blocking; a full channel
// drops it and counts the drop.
func (e *engine) publish(ev Event) { events.Send(e.b.cfg.Events, ev, &e.b.dropped) }

// Metrics are a breaker's lifetime counters and current state. Every call
// made through the breaker is exactly one of Successes, Failures, Ignored,
// RejectedOpen and RejectedHalfOpen; SlowCalls overlaps them.
type Metrics struct {
	State            State
	Successes        uint64 // calls whose outcome was Success
	Failures         uint64 // calls classified Failure or Terminal, panics included
	Ignored          uint64 // calls classified Throttled or Ignored (e.g. context.Canceled): not counted
	SlowCalls        uint64 // calls longer than SlowCallDuration
	RejectedOpen     uint64 // calls refused while open
	RejectedHalfOpen uint64 // calls refused while half-open with every probe slot taken
	Opened           uint64 // transitions into Open
	Closed           uint64 // transitions into Closed from another state
	EventsDropped    uint64 // events not sent because Config.Events was full
	// Generation holds the counts of the current generation, which start
	// from zero at every state change; the fields above never do.
	Generation Counts
}

// Rejected returns all rejected calls, open and half-open.
func (m Metrics) Rejected() uint64 { return m.RejectedOpen + m.RejectedHalfOpen }

// Metrics returns the lifetime counters. It reads them without pausing
// traffic: each counter is exact, and the set is consistent to within the
// calls that finish while it is being read.
func (b *Breaker) Metrics() Metrics {
	s := b.snap.Load()
	c := b.shards.sum()
	return Metrics{
		State:            s.state,
		Generation:       countsOf(s, c),
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
