package breaker

import (
	"math"
	"runtime/debug"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Counts are the calls of one generation: the time from one state change
// to the next. They start from zero at every change (a trip, an open
// timeout, a probe verdict, a manual command), so a trip rule judges only
// the calls made since the breaker last closed. Refused calls are not
// counted, nor calls classified Throttled or Ignored.
//
// Counts are read from the breaker's lifetime counters, which the closed
// path already keeps, so they cost no extra write per call. The price is
// that a call admitted in one generation and ending in the next is counted
// in the next, and that "consecutive" is judged in the order the calls of
// concurrent callers reach the counters.
type Counts struct {
	Requests  uint64 // Successes + Failures
	Successes uint64 // calls whose outcome was Success
	Failures  uint64 // calls classified Failure or Terminal, panics included
	// ConsecutiveSuccesses is the successes since the last failure. In the
	// closed state it is kept when failures are judged by the actor
	// (ReadyToTrip, FailurePeriod or FailureRate set); with only the
	// consecutive rule it is kept until the generation's first failure and
	// reads 0 after it, so that no failure pays a pass over the counters.
	ConsecutiveSuccesses uint64
	ConsecutiveFailures  uint64 // failures since the last success
}

// countsOf returns the counts of generation s, given lifetime counters c
// read after s was published.
func countsOf(s *snapshot, c counts) Counts {
	var base totals
	if s.base != nil {
		base = *s.base
	}
	n := Counts{Successes: sub(c.successes, base.calls-base.failures), Failures: sub(c.failures, base.failures)}
	n.Requests = n.Successes + n.Failures
	if f := s.streak.Load(); f > 0 {
		n.ConsecutiveFailures = uint64(f)
	} else {
		n.ConsecutiveSuccesses = sub(c.successes, s.mark.Load())
	}
	return n
}

// sub is a - b, or 0 when b is larger.
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// failed records a failure (already counted) in the runs of generation
// s and returns the length of its run of failures. The first failure of
// a run marks where the next run of successes will start: no success can
// come between it and the run's last failure, so the closed success path
// pays nothing for ConsecutiveSuccesses. t is the running totals if the
// caller has read them, the zero totals if not; a closed-state failure
// that has not read them does not read them for the mark either (it would
// cost every failure a pass over the counter slots), and marks the run as
// unknown instead (see Counts).
func (b *Breaker) failed(s *snapshot, t totals, closed bool) int64 {
	n := s.streak.Add(1)
	switch {
	case n != 1:
	case t != (totals{}):
		s.mark.Store(t.calls - t.failures)
	case closed:
		if s.mark.Load() != markUnknown {
			s.mark.Store(markUnknown)
		}
	default:
		s.mark.Store(b.shards.load(cSuccess))
	}
	return n
}

// markUnknown marks a run of successes whose start was not read: the
// count of its successes reads 0.
const markUnknown = math.MaxUint64

// tally keeps the runs of half-open generation s for its Counts, as the
// closed path does for a closed one.
func (b *Breaker) tally(s *snapshot, o outcome) {
	switch o {
	case failure:
		b.failed(s, totals{}, false)
	case success:
		if s.streak.Load() != 0 {
			s.streak.Store(0)
		}
	}
}

// ruleSays calls Config.ReadyToTrip with the counts of closed generation
// s. A panic in it is recovered: the rule then says no, and the panic is
// kept for the caller waiting on this message (see Receive).
func (e *engine) ruleSays(s *snapshot) (trip bool) {
	c := countsOf(s, e.b.shards.sum())
	defer func() {
		if v := recover(); v != nil {
			e.panicked = &resilience.PanicError{Value: v, Stack: debug.Stack()}
			trip = false
		}
	}()
	return e.b.cfg.ReadyToTrip(c)
}

// failureLog keeps the times (as the breaker's age) of the last
// FailureThreshold failures of a closed breaker with a FailurePeriod. A
// failure is placed at the time the actor first sees it, which is at or
// after it happened (towards tripping), from the running failure count the
// callers send, so failures whose message was lost are placed when the
// actor next looks.
type failureLog struct {
	period time.Duration
	at     []time.Duration // ring, oldest at head
	head   int
	n      int
	seen   uint64 // failures already placed
}

// newFailureLog returns the log cfg asks for, or nil without a period.
func newFailureLog(cfg Config) *failureLog {
	if cfg.FailurePeriod == 0 {
		return nil
	}
	return &failureLog{period: cfg.FailurePeriod, at: make([]time.Duration, cfg.FailureThreshold)}
}

// reset forgets every failure up to the running count failures.
func (l *failureLog) reset(failures uint64) { l.head, l.n, l.seen = 0, 0, failures }

// observe places the failures up to the running count failures at age now
// and reports whether the last FailureThreshold of them fit in the period.
func (l *failureLog) observe(failures uint64, now time.Duration) bool {
	size := uint64(len(l.at))
	if failures > l.seen+size { // only the last size matter
		l.seen = failures - size
	}
	for ; l.seen < failures; l.seen++ {
		l.push(now)
	}
	return l.n == len(l.at) && now-l.at[l.head] <= l.period
}

func (l *failureLog) push(t time.Duration) {
	if l.n == len(l.at) {
		l.head = (l.head + 1) % len(l.at)
		l.n--
	}
	l.at[(l.head+l.n)%len(l.at)] = t
	l.n++
}
