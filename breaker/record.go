package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// permit is one admitted call: the snapshot it was admitted under, whether
// it is a half-open probe, and its start time when slow calls are timed.
type permit struct {
	s     *snapshot
	probe bool
	start time.Time
}

// outcome is a call's outcome; the breaker counts only the three below
// (see judge).
type outcome = resilience.Outcome

const (
	success = resilience.Success
	failure = resilience.Failure
	ignored = resilience.Ignored
)

// admission is the actor's answer to a half-open caller: the snapshot the
// probe belongs to, or why it may not run.
type admission struct {
	s   *snapshot
	err error
}

// acquire is acquireCtx without a deadline of the caller's: a half-open
// admission then waits for the actor's answer or for Stop.
func (b *Breaker) acquire(s *snapshot) (permit, error) {
	return b.acquireCtx(context.Background(), s)
}

// acquireCtx admits a call or says why not, starting from snapshot s. A
// closed breaker admits at once; an open one rejects at once; a half-open
// one asks the actor, which alone counts the probes in flight. The wait
// for its answer ends with ctx: the call is then refused with ctx's error
// (counted as a half-open rejection) and no slot is held.
func (b *Breaker) acquireCtx(ctx context.Context, s *snapshot) (permit, error) {
	for {
		switch {
		case s.stopped:
			return permit{}, s.refuse
		case s.reject:
			b.shards.add(cRejectedOpen)
			return permit{}, s.refuse
		case s.state == Closed:
			return b.timed(permit{s: s}), nil
		}
		r, err := b.askAdmit(ctx)
		switch {
		case err == resilience.ErrStopped:
			return permit{}, b.stopError()
		case err != nil && ctx.Err() != nil:
			b.shards.add(cRejectedHalfOpen)
			return permit{}, err
		case err != nil || r.err == errProbesBusy: // a full mailbox is a full half-open too
			b.shards.add(cRejectedHalfOpen)
			return permit{}, s.refuse
		case r.err == nil:
			return b.timed(permit{s: r.s, probe: true}), nil
		}
		s = b.snap.Load() // errMoved: the actor published a new state first
	}
}

// stopError is the error for a call on b once its actor has said it
// stopped, which its snapshot may not say yet.
func (b *Breaker) stopError() error {
	if s := b.snap.Load(); s.stopped {
		return s.refuse
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next != nil {
		return errEvicted
	}
	return stoppedRefusal(b.name, nil)
}

// timed stamps p with the start time when slow calls are counted.
func (b *Breaker) timed(p permit) permit {
	if b.cfg.SlowCallDuration > 0 {
		p.start = time.Now()
	}
	return p
}

// isSlow reports whether the call of p took longer than SlowCallDuration.
func (b *Breaker) isSlow(p permit) bool {
	return !p.start.IsZero() && time.Since(p.start) > b.cfg.SlowCallDuration
}

// finish records the end of the call admitted by p, which returned err. A
// wait for the actor (see closedResult) is bounded by ctx. A panic in the
// classifier counts as a failure (so a probe slot is given back) and goes
// on unwinding in the caller.
func (b *Breaker) finish(ctx context.Context, p permit, err error) {
	if err == nil {
		b.finishOutcome(ctx, p, success, b.isSlow(p))
		return
	}
	classified := false
	defer func() {
		if !classified {
			b.finishOutcome(ctx, p, failure, b.isSlow(p))
		}
	}()
	o := b.classify(err)
	classified = true
	b.finishOutcome(ctx, p, o, b.isSlow(p))
}

// finishOutcome counts outcome o (slow or not) and reports it where it may
// change the state.
func (b *Breaker) finishOutcome(ctx context.Context, p permit, o outcome, slow bool) {
	if slow {
		b.shards.add(cSlow)
		if o == success && b.cfg.SlowCallIsFailure {
			o = failure
		}
	}
	if !p.probe {
		b.closedResult(ctx, p.s, o)
		return
	}
	b.count(o)
	b.tally(p.s, o)
	b.reportProbe(ctx, p.s, o)
}

// reportProbe hands the actor the outcome o of a probe admitted under
// half-open snapshot s. The send waits for room in the mailbox, so
// sequential probes are reported in order, but only until ctx ends: the
// outcome is then recorded in s's cells, which the actor folds in at its
// next message, so the probe's slot is always given back.
func (b *Breaker) reportProbe(ctx context.Context, s *snapshot, o outcome) {
	a, err := b.ref()
	if err != nil {
		return
	}
	if err := a.Send(ctx, msg{kind: kProbe, gen: s.gen, outcome: o}); err != nil && !errors.Is(err, resilience.ErrStopped) {
		s.probes[o].Add(1)
		b.wake()
	}
}

// wake makes sure the actor looks at the shared cells after a report that
// did not fit in the mailbox was recorded there. The record comes first:
// then either this message gets in, or the mailbox is full again and a
// message still in it will be handled after the record was made. (Only
// recording after a failed send would race with the actor handling its
// last message in between and then sleeping.)
func (b *Breaker) wake() { _ = b.tell(msg{kind: kWake}) }

// count adds one outcome to the lifetime counters.
func (b *Breaker) count(o outcome) {
	switch o {
	case success:
		b.shards.add(cSuccess)
	case failure:
		b.shards.add(cFailure)
	default:
		b.shards.add(cIgnored)
	}
}

// closedSuccess records a success in the closed generation s: one
// atomic increment in the caller's striped slot, and a reset of the failure streak
// only if there is one (a load of a line that is written only on failure).
func (b *Breaker) closedSuccess(s *snapshot) {
	b.shards.add(cSuccess)
	if s.streak.Load() != 0 {
		s.streak.Store(0)
	}
}

// closedError classifies err from a call in closed generation s. A panic
// in the classifier counts as a failure and goes on unwinding.
func (b *Breaker) closedError(ctx context.Context, s *snapshot, err error) {
	classified := false
	defer func() {
		if !classified {
			b.closedResult(ctx, s, failure)
		}
	}()
	o := b.classify(err)
	classified = true
	b.closedResult(ctx, s, o)
}

// classify returns the judged outcome of err: a failure for a panic
// reported to done (whatever the classifier says of other errors), else
// what Config.Classify says, judged.
func (b *Breaker) classify(err error) outcome {
	if _, ok := err.(*resilience.PanicError); ok {
		return failure
	}
	return judge(b.cfg.Classify(err))
}

// judge maps a classifier's outcome to what the breaker counts: success,
// failure (Failure, Terminal, or an outcome it does not know) or ignored
// (Throttled, Ignored).
func judge(o outcome) outcome {
	switch o {
	case success:
		return success
	case resilience.Throttled, ignored:
		return ignored
	}
	return failure
}

// closedResult records outcome o of a call admitted in closed generation s.
//
// Consecutive failures across concurrent callers are defined by the order
// of their operations on the generation's streak counter: a failure adds
// one, a success stores zero. The failure that brings the streak to
// FailureThreshold sets tripHit and waits for the actor to open the
// breaker (if s is still current) before its caller returns, so the next
// call made after it is rejected. With a failure-rate window every failure
// waits for the actor to place it in the window, so the failure that makes
// the rate cross the threshold also returns only once the breaker is open.
// Successes never wait. Each wait is bounded by ctx and by Stop. The same
// holds for every failure when a failure period or a trip rule is set; a
// trip rule that panicked while judging this failure panics here again.
func (b *Breaker) closedResult(ctx context.Context, s *snapshot, o outcome) {
	switch o {
	case success:
		b.closedSuccess(s)
		return
	case ignored:
		b.shards.add(cIgnored)
		return
	}
	b.shards.add(cFailure)
	var t totals // read once when the actor needs them, and reused
	if b.cfg.everyFailure && !s.forced {
		t = b.shards.totals()
	}
	n := b.failed(s, t, true)
	if s.forced {
		return
	}
	thr := int64(b.cfg.FailureThreshold)
	hit := thr > 0 && n == thr && b.cfg.FailurePeriod == 0
	if hit {
		s.tripHit.Store(true)
	}
	switch {
	case b.cfg.everyFailure:
		// The totals as this caller saw them place its failure in the
		// window even if the actor handles the message later.
		b.check(ctx, msg{kind: kCheck, gen: s.gen, totals: t})
	case hit:
		b.check(ctx, msg{kind: kCheck, gen: s.gen})
	}
}

// check sends the actor m, a kCheck, and waits until the actor has handled
// it, or ctx ends, or the actor stops. If m could not be sent, the actor
// rereads the counters at its next message (tripHit, set before, is read
// then too). A panic of the trip rule, which the actor hands back, is
// raised again here, in the caller's goroutine.
func (b *Breaker) check(ctx context.Context, m msg) {
	err := askWait(ctx, b, func(r actor.Reply[error]) msg {
		m.ack = r
		return m
	})
	if pe, ok := err.(*resilience.PanicError); ok {
		panic(pe)
	}
	if err != nil && err != resilience.ErrStopped {
		b.lost.Store(true)
		b.wake()
	}
}
