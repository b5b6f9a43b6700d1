package breaker

import (
	"errors"
	"math"
	"time"

	"github.com/llm-research-lab/resilience"
)

// State is a breaker's state.
type State int32

// The states of a breaker.
const (
	Closed   State = iota // calls pass; failures are counted
	Open                  // calls are refused with an error matching resilience.ErrOpen
	HalfOpen              // a limited number of probe calls pass
)

// String returns the state's lowercase name.
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Reasons for a transition, as reported in [Event].Reason.
const (
	reasonFailures      = "consecutive failures"
	reasonFailurePeriod = "failures within period"
	reasonFailureRate   = "failure rate"
	reasonTripRule      = "trip rule"
	reasonTimeout       = "open timeout elapsed"
	reasonProbeFailed   = "probe failed"
	reasonProbeRatio    = "probe success ratio too low"
	reasonProbesOK      = "probes succeeded"
	reasonForceOpen     = "forced open"
	reasonForceHalfOpen = "forced half-open"
	reasonForceClose    = "forced closed"
	reasonReset         = "reset"
)

// errMoved tells a caller whose snapshot is out of date to read it again:
// the breaker is no longer in the state the caller saw.
var errMoved = errors.New("breaker: state moved")

// transition is one state change made by the machine.
type transition struct {
	from, to State
	gen      uint64 // the new generation
	reason   string
}

// machine is the breaker's state machine: a plain value owned by the actor,
// with time (now) and randomness (u in [0,1)) passed in, so every rule is a
// pure function that table tests can drive.
type machine struct {
	cfg       *Config
	state     State
	forced    bool      // held by ForceOpen or ForceClose until Reset
	gen       uint64    // bumped by every transition; results carry it
	until     time.Time // while open and not forced: when half-open begins
	reopens   int       // failed probes since the breaker last closed
	inflight  int       // half-open probes admitted and not yet reported
	successes int       // consecutive probe successes in this half-open
	oks, bad  int       // probe successes and failures in this half-open
}

func newMachine(cfg *Config) machine { return machine{cfg: cfg, gen: 1} }

// move changes state and bumps the generation.
func (m *machine) move(to State, reason string) transition {
	t := transition{from: m.state, to: to, gen: m.gen + 1, reason: reason}
	m.state, m.gen = to, m.gen+1
	m.inflight, m.successes, m.oks, m.bad = 0, 0, 0, 0
	return t
}

// open moves to Open and sets the time of the next probe.
func (m *machine) open(now time.Time, u float64, reason string) transition {
	m.until = now.Add(openTimeout(*m.cfg, m.reopens, u))
	return m.move(Open, reason)
}

// trip opens a closed breaker whose generation is gen.
func (m *machine) trip(gen uint64, now time.Time, u float64, reason string) (transition, bool) {
	if m.state != Closed || m.forced || gen != m.gen {
		return transition{}, false
	}
	return m.open(now, u, reason), true
}

// timeout moves an open breaker to half-open once its timer for gen fires.
func (m *machine) timeout(gen uint64) (transition, bool) {
	if m.state != Open || m.forced || gen != m.gen {
		return transition{}, false
	}
	return m.move(HalfOpen, reasonTimeout), true
}

// admit grants a half-open probe slot in the current generation. It
// returns errProbesBusy when all slots are taken and errMoved when the
// breaker is not half-open.
func (m *machine) admit() error {
	switch {
	case m.state != HalfOpen:
		return errMoved
	case m.inflight >= m.cfg.HalfOpenMaxRequests:
		return errProbesBusy
	}
	m.inflight++
	return nil
}

// probe applies the result of a probe admitted in generation gen: o is a
// judged outcome (see judge), and an Ignored probe only gives its slot
// back. Results from any other generation are stale and change nothing.
func (m *machine) probe(gen uint64, o resilience.Outcome, now time.Time, u float64) (transition, bool) {
	if m.state != HalfOpen || gen != m.gen || m.inflight == 0 {
		return transition{}, false
	}
	m.inflight--
	switch o {
	case resilience.Failure:
		m.bad++
		m.successes = 0
	case resilience.Success:
		m.oks++
		m.successes++
	default:
		return transition{}, false
	}
	switch to, reason := m.verdict(); to {
	case Open:
		m.reopens++
		return m.open(now, u, reason), true
	case Closed:
		return m.close(reason, false), true
	}
	return transition{}, false
}

// verdict judges the probe results of this half-open: Open (with why)
// after HalfOpenFailureThreshold failures or, with a ratio, once enough
// probes missed it; Closed after SuccessThreshold successes in a row or,
// with a ratio, once SuccessThreshold probes met it; HalfOpen while
// undecided.
func (m *machine) verdict() (State, string) {
	c := m.cfg
	if c.HalfOpenFailureThreshold > 0 && m.bad >= c.HalfOpenFailureThreshold {
		return Open, reasonProbeFailed
	}
	if c.HalfOpenSuccessRatio == 0 {
		if m.successes >= c.SuccessThreshold {
			return Closed, reasonProbesOK
		}
		return HalfOpen, ""
	}
	n := m.oks + m.bad
	switch {
	case n < c.SuccessThreshold:
		return HalfOpen, ""
	case float64(m.oks) >= c.HalfOpenSuccessRatio*float64(n):
		return Closed, reasonProbesOK
	}
	return Open, reasonProbeRatio
}

// close moves to Closed and forgets the backoff.
func (m *machine) close(reason string, forced bool) transition {
	m.reopens, m.forced = 0, forced
	return m.move(Closed, reason)
}

// forceOpen holds the breaker open until Reset.
func (m *machine) forceOpen() transition {
	m.until = time.Time{}
	t := m.move(Open, reasonForceOpen)
	m.forced = true
	return t
}

// forceHalfOpen moves the breaker to half-open now, releasing a forced
// state: the probes then decide, as after an open timeout.
func (m *machine) forceHalfOpen() transition {
	m.forced = false
	return m.move(HalfOpen, reasonForceHalfOpen)
}

// forceClose holds the breaker closed, whatever the failures, until Reset.
func (m *machine) forceClose() transition { return m.close(reasonForceClose, true) }

// reset returns to a fresh closed state.
func (m *machine) reset() transition { return m.close(reasonReset, false) }

// openTimeout is how long the breaker stays open after reopens failed
// probes: OpenTimeout × OpenBackoff^reopens, capped at MaxOpenTimeout, then
// shortened by up to OpenJitter of itself (u is uniform in [0,1)). It never
// overflows and never exceeds MaxOpenTimeout.
func openTimeout(cfg Config, reopens int, u float64) time.Duration {
	d := cfg.MaxOpenTimeout
	if f := float64(cfg.OpenTimeout) * math.Pow(cfg.OpenBackoff, float64(reopens)); f < float64(d) {
		d = time.Duration(f)
	}
	return d - time.Duration(float64(d)*cfg.OpenJitter*u)
}
