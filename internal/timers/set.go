// Package timers times contexts with one runtime timer per [Set] instead of
// one per context: callers push their deadline into one of a few locked
// heaps and take it out when their work returns, and a single runtime
// timer (time.AfterFunc), aimed at the earliest pending deadline, cancels
// the contexts that are due. It has no goroutine of its own: the runtime
// runs the sweep on a goroutine that exits when the sweep is done, and with
// no pending deadline the timer is not re-armed.
package timers

import (
	"context"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxWhen caps a deadline on a set's clock (about 146 years), so adding a
// huge limit cannot overflow.
const maxWhen = int64(1) << 62

// Set is one timer and the heaps of the deadlines it serves. It is safe
// for concurrent use and needs no stopping.
type Set struct {
	base   time.Time // the zero of the set's clock; has a monotonic reading
	shards []shard
	mask   uint32
	next   atomic.Int64 // the earliest deadline the timer is sure to fire for
	fired  atomic.Uint64
	aims   atomic.Uint64 // timer resets

	mu sync.Mutex // serializes sweeps and timer resets
	t  *time.Timer

	// local keeps each P on a shard of its own: see pick.
	local sync.Pool
}

// shard is one locked min-heap of calls ordered by deadline.
type shard struct {
	mu   sync.Mutex
	heap []slot
	set  *Set
	_    [64]byte // keep shards on separate cache lines
}

// slot is a heap entry: a call and its deadline, kept inline.
type slot struct {
	when int64
	c    *Call
}

// Shards returns the shard count for n: n rounded up to a power of two,
// or twice GOMAXPROCS so rounded when n is 0.
func Shards(n int) int {
	if n == 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	return 1 << bits.Len(uint(n-1))
}

// New returns a set with [Shards](n) heaps; n must not be negative. Its
// clock and its timer belong to the testing/synctest bubble New is called
// in, if any.
func New(n int) *Set {
	n = Shards(n)
	s := &Set{base: time.Now(), shards: make([]shard, n), mask: uint32(n - 1)}
	for i := range s.shards {
		s.shards[i].set = s
	}
	s.next.Store(math.MaxInt64)
	s.t = time.AfterFunc(time.Duration(math.MaxInt64), s.fire)
	s.t.Stop()
	return s
}

// now reads the set's monotonic clock (cheaper than time.Now).
func (s *Set) now() int64 { return int64(time.Since(s.base)) }

// Arm returns a context that is cancelled with context.DeadlineExceeded
// after d, or when parent ends. The caller must call [Call.Release] when
// its work returns.
func (s *Set) Arm(parent context.Context, d time.Duration) *Call {
	return s.armAt(parent, d, s.now())
}

// armAt is Arm at a given time on s's clock.
func (s *Set) armAt(parent context.Context, d time.Duration, now int64) *Call {
	c := &Call{parent: parent, index: -1}
	sh := s.pick()
	defer s.local.Put(sh)
	c.shard = sh
	if d <= 0 { // already due, as context.WithTimeout has it
		c.when = now
		c.state.Store(elapsed)
		return c
	}
	c.when = now + min(int64(d), maxWhen-now)
	sh.mu.Lock()
	sh.push(c)
	sh.mu.Unlock()
	for {
		next := s.next.Load()
		if c.when >= next {
			return c
		}
		if s.next.CompareAndSwap(next, c.when) {
			s.rearm()
			return c
		}
	}
}

// pick returns the shard for a new deadline: the one this P used last, if
// it still has one, or a random one. sync.Pool keeps a value per P, so
// callers running on different Ps use different shards, and a shard's lock
// and heap stay in the cache of the core that uses them instead of moving
// between cores on every call (which is what a random pick per call costs
// when many goroutines arm deadlines at once). The caller puts the shard
// back in s.local.
func (s *Set) pick() *shard {
	if sh, ok := s.local.Get().(*shard); ok {
		return sh
	}
	return &s.shards[rand.Uint32()&s.mask]
}

// rearm aims the timer at the earliest deadline published in s.next. A
// caller calls it after lowering s.next; reading s.next under mu (rather
// than using its own deadline) makes concurrent rearms end on the earliest.
func (s *Set) rearm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aim(s.now())
}

// aim resets the timer to s.next, if any deadline is published; mu is held.
func (s *Set) aim(now int64) {
	if next := s.next.Load(); next != math.MaxInt64 {
		s.t.Reset(time.Duration(next - now))
		s.aims.Add(1)
	}
}

// fire is the timer going off. It sets next to "never" first, so that any
// deadline armed during the sweep is either seen by the sweep or re-aims
// the timer; takes out the due calls; publishes and aims at the earliest
// deadline left (none: the timer rests); and cancels the due calls outside
// the locks.
func (s *Set) fire() {
	s.mu.Lock()
	s.next.Store(math.MaxInt64)
	now := s.now()
	due, earliest := s.takeDue(now, nil)
	s.publish(earliest)
	s.aim(now)
	s.mu.Unlock()
	for _, c := range due {
		if c.cancel(elapsed, nil) {
			s.fired.Add(1)
		}
	}
}

// takeDue takes every call due at now out of every heap, appending them
// to due, and returns them with the earliest deadline left (MaxInt64 if
// none).
func (s *Set) takeDue(now int64, due []*Call) ([]*Call, int64) {
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

// publish lowers s.next to earliest, so that calls with later deadlines
// need not re-aim the timer.
func (s *Set) publish(earliest int64) {
	for {
		next := s.next.Load()
		if next <= earliest || s.next.CompareAndSwap(next, earliest) {
			return
		}
	}
}

// Pending returns the number of deadlines armed and neither fired nor
// released. It briefly locks each heap.
func (s *Set) Pending() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.heap)
		sh.mu.Unlock()
	}
	return n
}

// Fired returns the number of deadlines that cancelled their call before
// it was released.
func (s *Set) Fired() uint64 { return s.fired.Load() }
