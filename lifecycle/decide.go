package lifecycle

import (
	"slices"
	"time"
)

// This file is the supervisor's brain: a pure transition function
// decide(state, event, now) -> (state, actions). It starts no goroutine,
// reads no clock and touches no child; the supervisor actor (exec.go) feeds
// it events and carries out the actions it returns. That split is what lets
// every strategy, the intensity limit and the backoff be table-tested.

// status is where a child is in the decision state.
type status uint8

const (
	idle    status = iota // not running and nothing scheduled
	running               // started (or being started by the executor)
	pending               // a restart is scheduled
)

// childState is what the decision function knows about one child.
type childState struct {
	restart  Restart
	status   status
	token    uint64    // batch of its last scheduled or executed start
	attempts int       // consecutive restarts, for the backoff
	since    time.Time // when it was last started
}

// policy is the part of Config the decision function needs.
type policy struct {
	strategy    Strategy
	maxRestarts int
	period      time.Duration
	backoff     time.Duration
	maxBackoff  time.Duration
	quiet       time.Duration
}

// state is the supervisor's decision state. decide never mutates the slices
// of the state it is given: it copies them before writing.
type state struct {
	policy
	children []childState
	restarts []time.Time // times of the restarts within the last period
	seq      uint64      // last batch token handed out
	stopping bool        // stopping or given up: nothing restarts any more
}

// newState returns the state of a supervisor whose children all started at now.
func newState(p policy, restarts []Restart, now time.Time) state {
	s := state{policy: p, children: make([]childState, len(restarts))}
	for i, r := range restarts {
		s.children[i] = childState{restart: r, status: running, since: now}
	}
	return s
}

type eventKind uint8

const (
	evExit eventKind = iota // a running child exited (on its own, or failed to restart)
	evDue                   // a scheduled restart batch is due
	evStop                  // the supervisor is asked to stop
)

// event is one input to decide.
type event struct {
	kind   eventKind
	child  int    // evExit: which child
	failed bool   // evExit: whether it exited with an error
	token  uint64 // evDue: which batch
}

type actionKind uint8

const (
	actStop     actionKind = iota // stop children, one at a time, in the given order
	actSchedule                   // deliver evDue{token} after delay
	actStart                      // start children, one at a time, in the given order
	actGiveUp                     // the intensity limit is exceeded: fail upward
)

// action is one output of decide.
type action struct {
	kind     actionKind
	children []int
	token    uint64
	delay    time.Duration
}

// decide is the supervisor's transition function. Given the current state,
// one event and the current time, it returns the next state and the actions
// to carry out, in order.
func decide(s state, ev event, now time.Time) (state, []action) {
	if s.stopping {
		return s, nil
	}
	switch ev.kind {
	case evStop:
		s, stop := s.stopAll()
		return s, []action{stop}
	case evDue:
		return s.due(ev.token, now)
	case evExit:
		return s.exit(ev.child, ev.failed, now)
	}
	return s, nil
}

// stopAll marks the state stopping and stops every running child in
// reverse start order.
func (s state) stopAll() (state, action) {
	s.stopping = true
	s.children = slices.Clone(s.children)
	var stop []int
	for j := len(s.children) - 1; j >= 0; j-- {
		if s.children[j].status == running {
			stop = append(stop, j)
		}
		s.children[j].status = idle
	}
	return s, action{kind: actStop, children: stop}
}

// due starts the children still waiting in batch token, in start order.
// A batch whose children were all taken over by a later batch is stale.
func (s state) due(token uint64, now time.Time) (state, []action) {
	var start []int
	for j, c := range s.children {
		if c.status == pending && c.token == token {
			start = append(start, j)
		}
	}
	if len(start) == 0 {
		return s, nil
	}
	s.children = slices.Clone(s.children)
	for _, j := range start {
		s.children[j].status = running
		s.children[j].since = now
	}
	return s, []action{{kind: actStart, children: start, token: token}}
}

// exit handles the exit of child i: no restart, a restart of the group the
// strategy picks after the child's backoff, or giving up.
func (s state) exit(i int, failed bool, now time.Time) (state, []action) {
	if i < 0 || i >= len(s.children) || s.children[i].status != running {
		return s, nil // stale: not ours to judge any more
	}
	s.children = slices.Clone(s.children)
	c := &s.children[i]
	c.status = idle
	if !c.restart.restarts(failed) {
		return s, nil
	}
	s.restarts = recent(s.restarts, now, s.period)
	if len(s.restarts) >= s.maxRestarts {
		s, stop := s.stopAll()
		return s, []action{stop, {kind: actGiveUp, children: []int{i}}}
	}
	s.restarts = append(s.restarts, now)
	delay := s.nextDelay(c, now)
	return s.restartGroup(i, delay)
}

// restartGroup stops the running members of i's group (other than i) in
// reverse order and schedules the restart of i and of every member that
// was running or waiting, except temporary ones.
func (s state) restartGroup(i int, delay time.Duration) (state, []action) {
	lo, hi := s.group(i)
	s.seq++
	var stop []int
	for j := hi - 1; j >= lo; j-- {
		c := &s.children[j]
		if j != i && c.status == running {
			stop = append(stop, j)
		}
		wanted := j == i || c.status != idle
		c.status = idle
		if wanted && c.restart != RestartNever {
			c.status, c.token = pending, s.seq
		}
	}
	return s, []action{
		{kind: actStop, children: stop},
		{kind: actSchedule, token: s.seq, delay: delay},
	}
}

// group returns the half-open range of children restarted with child i.
func (s state) group(i int) (lo, hi int) {
	switch s.strategy {
	case OneForAll:
		return 0, len(s.children)
	case RestForOne:
		return i, len(s.children)
	}
	return i, i + 1
}

// nextDelay advances c's backoff and returns the delay before its restart.
// A child that ran for the quiet period starts again from the first delay.
func (s state) nextDelay(c *childState, now time.Time) time.Duration {
	if now.Sub(c.since) >= s.quiet {
		c.attempts = 0
	}
	c.attempts++
	return backoff(s.backoff, s.maxBackoff, c.attempts)
}

// backoff returns first·2^(n-1), capped at limit, without overflowing.
func backoff(first, limit time.Duration, n int) time.Duration {
	if first <= 0 {
		return 0
	}
	d := first
	for k := 1; k < n && d < limit; k++ {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// recent returns the times within period before now, in a new slice.
func recent(times []time.Time, now time.Time, period time.Duration) []time.Time {
	out := make([]time.Time, 0, len(times)+1)
	for _, t := range times {
		if now.Sub(t) < period {
			out = append(out, t)
		}
	}
	return out
}
