package deadline

import (
	"math"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// sweeper is the scheduler's actor behaviour. It owns one runtime timer
// (through Self.Schedule) pointed at the earliest deadline of all shards.
type sweeper struct {
	s     *Scheduler
	timer actor.Timer[message]
	due   []*call // scratch, reused between sweeps
}

// Receive handles a wake-up, from a caller or from the actor's own timer,
// in four steps.
func (w *sweeper) Receive(self *actor.Self[message], m message) {
	s := w.s

	// Step 1: from now on any caller whose deadline is earlier than
	// "never" wakes us again, so no deadline armed during the sweep can be
	// missed: it is either seen below or followed by a message.
	s.next.Store(math.MaxInt64)

	// Step 2: take every due call out of every heap and note the earliest
	// deadline left.
	now := s.now()
	var earliest int64
	w.due, earliest = s.takeDue(now, w.due)

	// Step 3: cancel them, outside the heap locks; a call whose function
	// has already returned is left alone by cancel.
	for i, c := range w.due {
		s.expire(c)
		w.due[i] = nil
	}
	w.due = w.due[:0]

	// Step 4: sleep until the earliest deadline left, and publish it so
	// that callers with later deadlines need not wake us. A caller's
	// deadline that woke us counts even if its call has already ended:
	// calls come in streams with similar limits, and keeping that wake-up
	// spares the next calls of the stream a message each. With no traffic
	// the actor goes idle after that one wake-up.
	if m.when > now {
		earliest = min(earliest, m.when)
	}
	self.Cancel(w.timer)
	if earliest == math.MaxInt64 {
		return
	}
	s.publish(earliest)
	w.timer = self.Schedule(time.Duration(earliest-now), message{})
}

// takeDue takes every call due at now out of every heap, appending them
// to due, and returns them with the earliest deadline left (MaxInt64 if
// none).
func (s *Scheduler) takeDue(now int64, due []*call) ([]*call, int64) {
	earliest := int64(math.MaxInt64)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for len(sh.heap) > 0 && sh.heap[0].when <= now {
			due = append(due, sh.remove(0))
		}
		if len(sh.heap) > 0 {
			earliest = min(earliest, sh.heap[0].when)
		}
		sh.mu.Unlock()
	}
	return due, earliest
}

// publish lowers s.next to earliest, so that callers with later deadlines
// need not wake the sweeper.
func (s *Scheduler) publish(earliest int64) {
	for {
		next := s.next.Load()
		if next <= earliest || s.next.CompareAndSwap(next, earliest) {
			return
		}
	}
}

// Stopped hands every pending deadline to a runtime timer and refuses new
// ones, so calls in flight keep their limits after the actor is gone.
func (w *sweeper) Stopped(error) {
	s := w.s
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.stopped = true
		for _, sl := range sh.heap {
			c := sl.c
			c.index = -1
			c.rt = time.AfterFunc(time.Duration(c.when-now), func() { s.expire(c) })
		}
		sh.heap = nil
		sh.mu.Unlock()
	}
}

func (sh *shard) push(c *call) {
	c.index = int32(len(sh.heap))
	sh.heap = append(sh.heap, slot{when: c.when, c: c})
	sh.up(int(c.index))
}

// remove takes out the call at position i and returns it.
func (sh *shard) remove(i int) *call {
	h := sh.heap
	last := len(h) - 1
	c := h[i].c
	if i != last {
		h[i] = h[last]
		h[i].c.index = int32(i)
	}
	h[last] = slot{}
	sh.heap = h[:last]
	if i != last {
		sh.down(i)
		sh.up(i)
	}
	c.index = -1
	return c
}

// up and down move a slot by shifting the others into its place and
// writing it once at the end; a slot's deadline is kept inline so the
// comparisons need not visit the calls.
func (sh *shard) up(i int) {
	h := sh.heap
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].when <= x.when {
			break
		}
		h[i] = h[p]
		h[i].c.index = int32(i)
		i = p
	}
	h[i] = x
	x.c.index = int32(i)
}

func (sh *shard) down(i int) {
	h := sh.heap
	x := h[i]
	for {
		m := 2*i + 1
		if m >= len(h) {
			break
		}
		if r := m + 1; r < len(h) && h[r].when < h[m].when {
			m = r
		}
		if x.when <= h[m].when {
			break
		}
		h[i] = h[m]
		h[i].c.index = int32(i)
		i = m
	}
	h[i] = x
	x.c.index = int32(i)
}
