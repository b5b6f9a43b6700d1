package breaker

import (
	"math/rand/v2"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// kind tells the breaker actor's messages apart. The set is closed.
type kind uint8

const (
	kCheck   kind = iota // a closed-state failure may have tripped the breaker
	kAdmit               // Ask: may a half-open probe run?
	kProbe               // a probe's outcome
	kTimeout             // timer: the open timeout of generation gen elapsed
	kTick                // timer: a time-based window slides one bucket
	kControl             // Ask: ForceOpen, ForceClose or Reset
	kWake                // look at the shared cells: a report did not fit in the mailbox
)

// control is a manual command.
type control uint8

const (
	ctlOpen control = iota
	ctlHalfOpen
	ctlClose
	ctlReset
)

// msg is every message of the breaker actor: one struct, so that sending it
// never allocates. kind says which fields are set.
type msg struct {
	kind    kind
	outcome resilience.Outcome // kProbe: a judged outcome
	control control
	gen     uint64
	totals  totals    // kCheck in a rate window: the totals the failing caller saw
	req     *admitReq // kAdmit: where the answer goes
	// ack answers a request (kControl) or a failing caller waiting for
	// its kCheck to be handled (the zero Reply for none): nil, or the
	// *resilience.PanicError of a trip rule that panicked.
	ack actor.Reply[error]
}

var (
	_ actor.Behavior[msg]         = (*engine)(nil)
	_ interface{ Stopped(error) } = (*engine)(nil)
)

// engine is the breaker actor's behaviour. It owns the state machine, the
// window and the timers; it runs on the actor's goroutine
// only.
type engine struct {
	b       *Breaker
	m       machine
	cur     *snapshot // the snapshot last published
	win     window
	fails   *failureLog      // with a FailurePeriod
	timer   actor.Timer[msg] // the pending open timeout, if any
	ticking bool             // a kTick is pending (see slide)
	// panicked is the panic of the trip rule while handling the current
	// message, for the caller waiting on it.
	panicked error
}

// Receive handles one message. Before it looks at the message it folds in
// what callers could not send because the mailbox was full (a tripped
// streak, a window past its rate, probe results), so nothing reported is
// lost however busy the actor is.
func (e *engine) Receive(self *actor.Self[msg], x msg) {
	e.panicked = nil
	e.fold(self, x)
	switch x.kind {
	case kCheck:
		e.slide(self, false)
		x.ack.Send(e.panicked) // fold has done the work: the caller may return
	case kAdmit:
		x.req.answer(func() admission { return admission{s: e.cur, err: e.m.admit()} })
	case kProbe:
		if t, ok := e.m.probe(x.gen, x.outcome, time.Now(), e.rand()); ok {
			e.apply(self, t)
		}
	case kTimeout:
		if t, ok := e.m.timeout(x.gen); ok {
			e.apply(self, t)
		}
	case kTick:
		e.ticking = false
		e.slide(self, true)
	case kControl:
		e.apply(self, e.controlled(x.control))
		x.ack.Send(nil)
	case kWake:
		// fold has done the work.
		e.slide(self, false)
	}
}

// fold checks the current generation's shared cells, and the window
// with the totals x carries or, when a message was lost or the window
// ticks, with fresh ones.
func (e *engine) fold(self *actor.Self[msg], x msg) {
	s := e.cur
	if s.state == HalfOpen {
		e.foldProbes(self, s)
		return
	}
	if s.state != Closed || s.forced {
		return
	}
	t, have := x.totals, x.kind == kCheck && x.gen == s.gen
	if x.kind == kTick || (e.b.lost.Load() && e.b.lost.Swap(false)) {
		t, have = e.b.shards.totals(), true
	}
	if tr, ok := e.tripIfDue(s, t, have); ok {
		e.apply(self, tr)
	}
}

// foldProbes applies the probe outcomes callers recorded in half-open
// snapshot s because their wait for room in the mailbox ended: failures
// first (their order against the others is lost, and a failure is the
// cautious reading), until one changes the state (the others are then
// stale).
func (e *engine) foldProbes(self *actor.Self[msg], s *snapshot) {
	for _, o := range [...]resilience.Outcome{resilience.Failure, resilience.Success, resilience.Ignored} {
		for n := s.probes[o].Swap(0); n > 0; n-- {
			if t, ok := e.m.probe(s.gen, o, time.Now(), e.rand()); ok {
				e.apply(self, t)
				return
			}
		}
	}
}

// tripIfDue opens the closed generation s if a caller saw its streak reach
// the threshold, or if, when there are totals t to look at, a rule says
// so (see dueReason).
func (e *engine) tripIfDue(s *snapshot, t totals, have bool) (transition, bool) {
	reason := ""
	switch {
	case s.tripHit.Load():
		reason = reasonFailures
	case have:
		reason = e.dueReason(s, t)
	}
	if reason == "" {
		return transition{}, false
	}
	return e.m.trip(s.gen, time.Now(), e.rand(), reason)
}

// dueReason returns why closed generation s must open at totals t: the
// failures of the period, the window's failure rate or the trip rule; ""
// for none of them.
func (e *engine) dueReason(s *snapshot, t totals) string {
	if e.fails != nil && e.fails.observe(t.failures, e.b.age()) {
		return reasonFailurePeriod
	}
	if e.win != nil {
		calls, failures := e.win.observe(t, e.b.age())
		if shouldTrip(*e.b.cfg, calls, failures) {
			return reasonFailureRate
		}
	}
	if e.b.cfg.ReadyToTrip != nil && e.ruleSays(s) {
		return reasonTripRule
	}
	return ""
}

func (e *engine) controlled(c control) transition {
	switch c {
	case ctlOpen:
		return e.m.forceOpen()
	case ctlHalfOpen:
		return e.m.forceHalfOpen()
	case ctlClose:
		return e.m.forceClose()
	}
	return e.m.reset()
}

// apply publishes the state after transition t: the new snapshot first (so
// callers see it before anyone is told), then metrics, timers, the window
// and the event.
func (e *engine) apply(self *actor.Self[msg], t transition) {
	now := time.Now()
	e.cur = e.b.newSnapshot(&e.m)
	e.b.snap.Store(e.cur)
	self.Cancel(e.timer)
	switch {
	case t.to == Open && t.from != Open:
		e.b.opened.Add(1)
	case t.to == Closed && t.from != Closed:
		e.b.closed.Add(1)
	}
	if t.to == Open && !e.m.forced {
		e.timer = self.Schedule(e.m.until.Sub(now), msg{kind: kTimeout, gen: t.gen})
	}
	if t.to == Closed {
		e.closed()
	}
	e.publish(Event{Name: e.b.name, From: t.from, To: t.to, Reason: t.reason, Generation: t.gen, At: now})
}

// closed starts the window and the failure log afresh when the breaker
// closes.
func (e *engine) closed() {
	if e.win == nil && e.fails == nil {
		return
	}
	t := e.b.shards.totals()
	if e.win != nil {
		e.win.reset(t, e.b.age())
	}
	if e.fails != nil {
		e.fails.reset(t.failures)
	}
}

// slide keeps a time window sliding while calls flow: after a failure
// report, and after each tick that saw new calls, it schedules a tick one
// bucket on. A tick that saw none lets the ticking stop, so an idle
// breaker has no timer; the window catches up on its next observation.
func (e *engine) slide(self *actor.Self[msg], tick bool) {
	w, ok := e.win.(*timeWindow)
	if !ok || e.ticking || e.cur.state != Closed || e.cur.forced || (tick && !w.moved) {
		return
	}
	e.ticking = true
	self.Schedule(w.width, msg{kind: kTick})
}

// rand returns a uniform number in [0,1) for the open-timeout jitter.
func (e *engine) rand() float64 {
	if e.b.cfg.OpenJitter == 0 {
		return 0
	}
	return rand.Float64()
}

// Stopped runs when the actor stops, cleanly or because it failed (err):
// later calls are refused at once, with an error saying why, and Done
// is closed. It starts from the last published
// snapshot, not from the engine's state, which a failure may have left
// half-changed.
func (e *engine) Stopped(err error) {
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	e.b.snap.Store(e.b.stoppedSnapshot(e.b.snap.Load(), err))
	e.b.markExited()
}
