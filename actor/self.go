package actor

import (
	"time"
)

// Self is an actor's view of itself, passed to every Receive call. Its
// methods must be called only from the actor's own goroutine (inside
// Receive); that is what lets timers work without locks.
type Self[M any] struct {
	actor  *life[M]
	ref    *Actor[M]
	timers timerHeap[M]
	timer  *time.Timer // fires at the earliest timer's deadline; nil until first used
	seq    uint64      // orders timers due at the same instant
}

// Timer identifies a message scheduled with [Self.Schedule]. The zero Timer
// is valid and refers to no timer.
type Timer[M any] struct {
	e *timerEntry[M]
}

// Pending reports whether the timer is scheduled and has neither fired nor
// been cancelled. Call it only from the actor's goroutine.
func (t Timer[M]) Pending() bool { return t.e != nil && t.e.index >= 0 }

// Name returns the actor's name.
func (s *Self[M]) Name() string { return s.actor.name }

// Ref returns the actor's own handle, to give to others so they can send it
// messages. Do not call its Stop from Receive; use [Self.Stop].
func (s *Self[M]) Ref() *Actor[M] { return s.ref }

// Stop asks the actor to stop once the current Receive returns, draining
// or discarding its mailbox as Config.DiscardOnStop says, and returns at
// once. Calling it again has no further effect.
func (s *Self[M]) Stop() { s.actor.requestStop(nil) }

// Schedule arranges for msg to be handled by this actor after d (at once if
// d <= 0, but after the current Receive). The message does not pass through
// the mailbox, so a full mailbox cannot lose it. It returns a handle for
// [Self.Cancel]. A cancelled timer never fires: cancellation and firing both
// happen on the actor's goroutine, so there is no race between them. Timers
// that have not fired when the actor stops are passed to the behaviour's
// Discard method, if it has one (see [Behavior]).
func (s *Self[M]) Schedule(d time.Duration, msg M) Timer[M] {
	s.seq++
	e := &timerEntry[M]{when: time.Now().Add(d), seq: s.seq, msg: msg}
	s.timers.push(e)
	if e.index == 0 {
		s.rearm()
	}
	return Timer[M]{e: e}
}

// Cancel stops t from firing. It reports whether t was pending; false means
// it had already fired or been cancelled, or is the zero Timer.
func (s *Self[M]) Cancel(t Timer[M]) bool {
	if !t.Pending() {
		return false
	}
	head := t.e.index == 0
	s.timers.remove(t.e.index)
	if head {
		s.rearm()
	}
	return true
}

// Timers returns the number of pending timers.
func (s *Self[M]) Timers() int { return len(s.timers) }

// rearm points the runtime timer at the earliest pending deadline, or stops
// it when nothing is pending.
func (s *Self[M]) rearm() {
	if len(s.timers) == 0 {
		if s.timer != nil {
			s.timer.Stop()
		}
		return
	}
	d := time.Until(s.timers[0].when)
	if s.timer == nil {
		s.timer = time.NewTimer(d)
		return
	}
	s.timer.Reset(d)
}

// due pops the earliest timer if its deadline has passed.
func (s *Self[M]) due(now time.Time) (*timerEntry[M], bool) {
	if len(s.timers) == 0 || s.timers[0].when.After(now) {
		return nil, false
	}
	return s.timers.remove(0), true
}

// release stops the runtime timer and returns the pending timers' entries,
// earliest first is not guaranteed.
func (s *Self[M]) release() []*timerEntry[M] {
	if s.timer != nil {
		s.timer.Stop()
	}
	pending := s.timers
	s.timers = nil
	for _, e := range pending {
		e.index = -1
	}
	return pending
}

type timerEntry[M any] struct {
	when  time.Time
	seq   uint64
	msg   M
	index int // position in the heap; -1 once fired or cancelled
}

// timerHeap is a min-heap of timers ordered by deadline, then by the order
// they were scheduled.
type timerHeap[M any] []*timerEntry[M]

func (h timerHeap[M]) less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}

func (h timerHeap[M]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap[M]) push(e *timerEntry[M]) {
	e.index = len(*h)
	*h = append(*h, e)
	h.up(e.index)
}

// remove takes out the entry at index i and returns it.
func (h *timerHeap[M]) remove(i int) *timerEntry[M] {
	old := *h
	last := len(old) - 1
	e := old[i]
	if i != last {
		old.swap(i, last)
	}
	old[last] = nil
	*h = old[:last]
	if c := cap(old); c > 64 && last < c/4 {
		// After a burst, give the memory back: keep at most twice what is used.
		*h = append(make(timerHeap[M], 0, 2*last), old[:last]...)
	}
	if i != last {
		h.down(i)
		h.up(i)
	}
	e.index = -1
	return e
}

func (h timerHeap[M]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h timerHeap[M]) down(i int) {
	for {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h.less(l, smallest) {
			smallest = l
		}
		if r < len(h) && h.less(r, smallest) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h.swap(i, smallest)
		i = smallest
	}
}
