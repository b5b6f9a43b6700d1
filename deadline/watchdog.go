package deadline

import (
	"math"
	"sync"
	"time"
)

// watchdog times the calls of the default scheduler, the one [Run] and
// [Do] use when no *Scheduler is given. It is one runtime timer
// (time.AfterFunc) aimed at the earliest pending deadline, and no goroutine
// of its own: the runtime runs fire on a goroutine that exits once the
// sweep is done, and with no pending deadline the timer is simply not
// re-armed. So nothing outlives the calls, nothing needs stopping, and
// there is no start or exit to race with: a call that lowers the earliest
// deadline re-aims the timer, whether it is idle or about to fire.
type watchdog struct {
	mu sync.Mutex // serializes sweeps and timer resets
	s  *Scheduler
	t  *time.Timer
}

// defaultScheduler is the shared scheduler behind [Run] and [Do]. It is
// built when the package is initialised, outside any testing/synctest
// bubble, so its clock and its timer are the real ones; until its first
// call it is a few idle heaps and a stopped timer.
var defaultScheduler = newDefault()

func newDefault() *Scheduler {
	cfg, _ := Config{}.withDefaults() // the zero Config is valid
	s := &Scheduler{
		base:   time.Now(),
		shards: make([]shard, cfg.Shards),
		mask:   uint32(cfg.Shards - 1),
	}
	s.next.Store(math.MaxInt64)
	w := &watchdog{s: s}
	w.t = time.AfterFunc(time.Duration(math.MaxInt64), w.fire)
	w.t.Stop()
	s.wd = w
	return s
}

// rearm aims the timer at the earliest deadline published in s.next. A
// caller calls it after lowering s.next; reading s.next under mu (rather
// than using its own deadline) makes concurrent rearms end on the earliest.
func (w *watchdog) rearm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aim(w.s.now())
}

// aim resets the timer to s.next, if any deadline is published; mu is held.
func (w *watchdog) aim(now int64) {
	if next := w.s.next.Load(); next != math.MaxInt64 {
		w.t.Reset(time.Duration(next - now))
	}
}

// fire is the timer going off: it takes out the due calls, publishes and
// aims at the earliest deadline left (if any), then cancels the due calls
// outside the lock. The ordering argument is the sweeper's (see sweep.go).
func (w *watchdog) fire() {
	s := w.s
	w.mu.Lock()
	s.next.Store(math.MaxInt64)
	now := s.now()
	due, earliest := s.takeDue(now, nil)
	s.publish(earliest)
	w.aim(now)
	w.mu.Unlock()
	for _, c := range due {
		s.expire(c)
	}
}

// inBubble reports whether now, a reading of the default scheduler's
// clock, was taken inside a testing/synctest bubble. Outside one the
// reading is monotonic and never negative. Inside one time.Now has no
// monotonic reading and its fake clock starts in 2000, so the reading is
// years before the scheduler was built. Such calls must not use the
// shared timer, which runs on the real clock: they get a runtime timer of
// the bubble's clock instead.
func inBubble(now int64) bool { return now < 0 }
