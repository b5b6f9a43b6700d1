package retry

import (
	"context"
	"time"

	"github.com/llm-research-lab/resilience"
)

// plan is one call's retry loop as steps: [Policy.Run] loops over them on
// the caller's goroutine, and [Policy.Plan] hands them to a caller that
// runs the attempts itself.
type plan struct {
	p     *Policy
	ctx   context.Context
	prev  time.Duration // the last wait
	start time.Duration // since epoch: the end of the first attempt, or its start with MaxElapsed
	log   errLog        // the failed attempts
	err   *Error        // the call's error once stopped
}

// epoch is the origin of plan.start, which keeps a plan small: a waiting
// retry of a job costs little more than its plan.
var epoch = time.Now()

var _ resilience.Plan = (*plan)(nil)

// Plan returns the retry loop of one call under ctx as steps, for a caller
// that runs the attempts itself (as [resilience.Submit] does): after each
// attempt it calls Next with the attempt's error, waits what Next says and
// makes the next attempt, until Next says stop; Err then is what [Policy.Run]
// would have returned. Classification, hints, the [Budget], the deadline
// check, events and the kept errors are the same as Run's. ctx is the
// call's: a wait that would end past its deadline is not started.
func (p *Policy) Plan(ctx context.Context) resilience.Plan {
	s := &plan{p: p, ctx: ctx}
	if p != nil && p.cfg.MaxElapsed > 0 {
		s.start = time.Since(epoch) // MaxElapsed counts the first attempt
	}
	return s
}

// Next records how the attempt just made ended and reports whether to try
// again and after how long.
func (s *plan) Next(err error) (time.Duration, bool) {
	if s.p == nil {
		return 0, false
	}
	if err == nil {
		s.p.finished(true)
		s.p.counts.recovered(s.log.n)
		s.err = nil
		return 0, false
	}
	if s.log.n == 0 && s.p.cfg.MaxElapsed == 0 {
		s.start = time.Since(epoch) // the first attempt is not timed: see Error.Elapsed
	}
	s.log = s.log.add(err)
	v := s.p.next(s.ctx, s.log.n, err, s.prev, s.start)
	if v.stop {
		s.stop(v.reason)
		return 0, false
	}
	s.prev = v.delay
	s.p.counts.retries.Add(1)
	return v.delay, true
}

// stop ends the loop for reason (nil when the last error says stop).
func (s *plan) stop(reason error) {
	s.err = newError(s.log, reason, time.Since(epoch)-s.start)
	s.p.counts.stopped(reason)
	s.p.finished(false)
}

// Err returns nil after a success, the loop's [*Error] once it stopped.
func (s *plan) Err() error {
	switch {
	case s.p == nil:
		return errNilPolicy
	case s.err == nil:
		return nil
	}
	return s.err
}
