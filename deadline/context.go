package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The states of a call. A call leaves live exactly once, under call.mu.
const (
	live       uint32 = iota
	elapsed           // its deadline fired first
	finished          // its function returned first
	parentDone        // the caller's context ended first
)

// closedChan is returned by Done for a call that ended before anyone asked
// for its channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// call is the context a [Scheduler] hands to the function it times. It is
// one allocation: the deadline entry in a shard's heap and the
// context.Context are the same object, and its Done channel is made only if
// someone asks for it.
//
// Parent cancellation is propagated lazily. A function that never calls
// Done (or derives a child context) observes its parent through Err, which
// checks the parent; one that does gets a channel, and only then is a hook
// registered on the parent. Either way it never sees a live call under a
// dead parent.
type call struct {
	parent context.Context
	s      *Scheduler
	when   int64 // deadline on s's monotonic clock, in nanoseconds

	// Guarded by shard.mu.
	shard *shard
	rt    *time.Timer // runtime timer that took over after Stop
	index int32       // position in shard.heap; -1 when not in a heap

	state atomic.Uint32 // next to index: a call fits a 128-byte size class

	mu     sync.Mutex // guards the fields below and the move out of live
	done   chan struct{}
	perr   error // the parent's error, set before state becomes parentDone
	afters []*afterFunc
	hooked bool        // a hook on the parent was (or is being) registered
	unhook func() bool // stops that hook
}

type afterFunc struct{ f func() }

var _ context.Context = (*call)(nil)

// Deadline returns the earlier of the call's deadline and its parent's.
func (c *call) Deadline() (time.Time, bool) {
	d := c.s.base.Add(time.Duration(c.when))
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

// Value returns the parent's value for key.
func (c *call) Value(key any) any { return c.parent.Value(key) }

// Err returns nil while the call is live, context.DeadlineExceeded after its
// deadline, context.Canceled after its function returned, and the parent's
// error after the parent ended.
func (c *call) Err() error {
	switch c.state.Load() {
	case elapsed:
		return context.DeadlineExceeded
	case finished:
		return context.Canceled
	case parentDone:
		return c.perr
	}
	if err := c.parent.Err(); err != nil {
		c.cancel(parentDone, err)
		return c.Err()
	}
	return nil
}

// Done returns a channel closed when the call ends; it is made on first use.
func (c *call) Done() <-chan struct{} {
	c.mu.Lock()
	if c.done == nil {
		if c.state.Load() != live {
			c.mu.Unlock()
			return closedChan
		}
		c.done = make(chan struct{})
	}
	d := c.done
	hook := c.needHook()
	c.mu.Unlock()
	if hook {
		c.hook()
	}
	return d
}

// AfterFunc arranges for f to run once the call ends, and returns a func
// that stops it. The context package uses it to link contexts derived from
// a call without starting a goroutine for each. f runs on the goroutine that
// ends the call and must be quick: the context package only registers
// cancellations of child contexts here.
func (c *call) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.state.Load() != live {
		c.mu.Unlock()
		go f() // never call f under the caller's own locks
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	hook := c.needHook()
	c.mu.Unlock()
	if hook {
		c.hook()
	}
	return func() bool { return c.removeAfter(a) }
}

func (c *call) removeAfter(a *afterFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.afters {
		if x == a {
			c.afters = append(c.afters[:i], c.afters[i+1:]...)
			return true
		}
	}
	return false
}

// needHook reports whether the caller must register the parent hook; it is
// called with c.mu held and claims the job.
func (c *call) needHook() bool {
	if c.hooked || c.state.Load() != live || c.parent.Done() == nil {
		return false
	}
	c.hooked = true
	return true
}

// hook links the call to its parent so that a waiter on Done wakes when the
// parent ends. It runs without c.mu: the parent may be another call.
func (c *call) hook() {
	stop := context.AfterFunc(c.parent, func() { c.cancel(parentDone, c.parent.Err()) })
	c.mu.Lock()
	if c.state.Load() != live {
		c.mu.Unlock()
		stop()
		return
	}
	c.unhook = stop
	c.mu.Unlock()
}

// cancel moves the call out of live into st, closes Done and runs the
// registered funcs. It reports whether this call did the move.
func (c *call) cancel(st uint32, perr error) bool {
	c.mu.Lock()
	if c.state.Load() != live {
		c.mu.Unlock()
		return false
	}
	c.perr = perr
	c.state.Store(st)
	if c.done != nil {
		close(c.done)
	}
	afters, unhook := c.afters, c.unhook
	c.afters, c.unhook = nil, nil
	c.mu.Unlock()
	if unhook != nil {
		unhook()
	}
	for _, a := range afters {
		a.f()
	}
	return true
}

// String names the call for debugging, like the context package's types.
func (c *call) String() string { return "deadline.call" }
