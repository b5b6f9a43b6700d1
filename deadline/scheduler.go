package deadline

import (
	"context"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience/actor"
)

// maxShards bounds Config.Shards.
const maxShards = 1024

// maxWhen caps a deadline on the scheduler's clock (about 146 years), so
// adding a huge limit cannot overflow.
const maxWhen = int64(1) << 62

// Config configures [New]. The zero value is valid.
type Config struct {
	// Name names the scheduler's actor in reports. Default "deadline".
	Name string
	// Shards is the number of independently locked timer heaps callers
	// spread over. Default: twice GOMAXPROCS, rounded up to a power of
	// two. Must not be negative or above 1024; it is rounded up to a power
	// of two.
	Shards int
	// OnLate, if set, is called when a function abandoned by
	// [Scheduler.RunOrAbandon] finally returns. It runs on that function's
	// goroutine, after the caller has gone, and may block only that
	// goroutine. Default: nothing but the counters in [Stats].
	OnLate func(Late)
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Shards < 0:
		return c, &ConfigError{Field: "Shards", Reason: "must not be negative"}
	case c.Shards > maxShards:
		return c, &ConfigError{Field: "Shards", Reason: "must be at most 1024"}
	case c.Shards == 0:
		c.Shards = 2 * runtime.GOMAXPROCS(0)
	}
	c.Shards = 1 << bits.Len(uint(c.Shards-1))
	if c.Name == "" {
		c.Name = "deadline"
	}
	return c, nil
}

// Scheduler times calls with one actor instead of one runtime timer each.
// Callers push their deadline into one of a few locked heaps and pull it
// out when their function returns; the actor sleeps until the earliest
// deadline (with [actor.Self.Schedule]), cancels the calls that are due,
// and is woken by a message only when a caller's deadline is earlier than
// the one it sleeps for. See docs/deadline.md for the measurements.
//
// A Scheduler is safe for concurrent use. Create it with [New]; its owner
// calls [Scheduler.Stop]. A nil *Scheduler is valid for [Scheduler.Run] and
// [Do], which then time each call on the package's shared timer (see
// [Run]); it cannot abandon calls.
type Scheduler struct {
	base   time.Time // the zero of the scheduler's clock; has a monotonic reading
	shards []shard
	mask   uint32
	next   atomic.Int64          // the earliest deadline the actor is sure to wake for
	actor  *actor.Actor[message] // nil for the default scheduler
	wd     *watchdog             // the default scheduler's timer; nil otherwise
	onLate func(Late)

	fired atomic.Uint64 // deadlines that cancelled their call

	gmu       sync.Mutex // guards the abandon bookkeeping below
	running   int        // goroutines started by RunOrAbandon and not yet returned
	idle      chan struct{}
	closed    bool
	abandoned atomic.Int64
	abandons  atomic.Uint64
}

// shard is one locked min-heap of calls ordered by deadline.
type shard struct {
	mu      sync.Mutex
	heap    []slot
	stopped bool
	_       [64]byte // keep shards on separate cache lines
}

// slot is a heap entry: a call and its deadline, kept inline.
type slot struct {
	when int64
	c    *call
}

// message wakes the scheduler's actor: either a caller lowered the earliest
// deadline (when is that deadline), or the actor's own timer fired (when is
// zero). Both are handled the same way.
type message struct{ when int64 }

// New starts a scheduler. The caller owns its goroutine and must call
// [Scheduler.Stop].
func New(cfg Config) (*Scheduler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Scheduler{
		base:   time.Now(),
		shards: make([]shard, cfg.Shards),
		mask:   uint32(cfg.Shards - 1),
		onLate: cfg.OnLate,
	}
	s.next.Store(math.MaxInt64)
	s.actor, err = actor.Spawn(actor.Config{Name: cfg.Name, Mailbox: 16, DiscardOnStop: true},
		func() actor.Behavior[message] { return &sweeper{s: s} })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// now reads the scheduler's monotonic clock (cheaper than time.Now).
func (s *Scheduler) now() int64 { return int64(time.Since(s.base)) }

// arm creates the call for one Run and puts its deadline in a heap.
func (s *Scheduler) arm(parent context.Context, d time.Duration) (*call, error) {
	return s.armAt(parent, d, s.now())
}

// armAt is arm at a given time on s's clock.
func (s *Scheduler) armAt(parent context.Context, d time.Duration, now int64) (*call, error) {
	c := &call{parent: parent, s: s, index: -1}
	c.when = now + min(int64(d), maxWhen-now)
	sh := &s.shards[rand.Uint32()&s.mask]
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		return nil, ErrStopped
	}
	c.shard = sh
	sh.push(c)
	sh.mu.Unlock()
	for {
		next := s.next.Load()
		if c.when >= next {
			return c, nil
		}
		if s.next.CompareAndSwap(next, c.when) {
			s.wake(c.when)
			return c, nil
		}
	}
}

// wake tells the sweeper that when is now the earliest deadline.
func (s *Scheduler) wake(when int64) {
	if s.wd != nil {
		s.wd.rearm()
		return
	}
	_ = s.actor.Tell(message{when: when}) // full: a wake is already queued
}

// disarm takes c's deadline out of its heap, or stops the runtime timer
// that took it over.
func (c *call) disarm() {
	sh := c.shard
	sh.mu.Lock()
	if c.index >= 0 {
		sh.remove(int(c.index))
	}
	rt := c.rt
	sh.mu.Unlock()
	if rt != nil {
		rt.Stop()
	}
}

// expire is the deadline firing: it cancels c unless its function has
// already returned.
func (s *Scheduler) expire(c *call) {
	if c.cancel(elapsed, nil) {
		s.fired.Add(1)
	}
}

// Stop stops the scheduler and waits, until ctx is done, for its actor to
// exit and for every goroutine started by [Scheduler.RunOrAbandon] to
// return. Deadlines still pending are handed to runtime timers, so calls in
// flight keep their limits; new calls are refused with [ErrStopped]. Stop
// is idempotent. It returns nil, or an error wrapping ctx.Err() that says
// how many abandoned functions were still running when ctx ended (they are
// not interrupted: Go cannot).
func (s *Scheduler) Stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	if err := s.actor.Stop(ctx); err != nil {
		return err
	}
	return s.waitGoroutines(ctx)
}

// Stats is a snapshot of a scheduler's counters.
type Stats struct {
	Pending int    // deadlines armed and neither fired nor disarmed
	Fired   uint64 // deadlines that ended their call before its function returned
	// Abandoned is the number of functions still running after
	// RunOrAbandon released their caller; AbandonedTotal counts them all.
	Abandoned      int
	AbandonedTotal uint64
}

// Done returns a channel closed when the scheduler's actor has exited, for
// a supervisor to watch; [Scheduler.Err] then says why.
func (s *Scheduler) Done() <-chan struct{} { return s.actor.Done() }

// Err returns nil while the scheduler runs and after a clean stop, and the
// actor's *actor.PanicError if it failed (calls in flight were then handed
// to runtime timers, and new ones are refused with ErrStopped).
func (s *Scheduler) Err() error { return s.actor.Err() }

// Stats returns the scheduler's counters (zero for a nil *Scheduler). It
// briefly locks each heap.
func (s *Scheduler) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	st := Stats{
		Fired:          s.fired.Load(),
		Abandoned:      int(s.abandoned.Load()),
		AbandonedTotal: s.abandons.Load(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Pending += len(sh.heap)
		sh.mu.Unlock()
	}
	return st
}
