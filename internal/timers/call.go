package timers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The states of a Call. A Call leaves live exactly once, under its mu.
const (
	live       uint32 = iota
	elapsed           // its deadline fired first
	finished          // its function returned first
	parentDone        // the caller's context ended first
)

// closedChan is returned by Done for a Call that ended before anyone asked
// for its channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Call is the context a [Set] hands out. It is one allocation: the
// deadline entry in a shard's heap and the
// context.Context are the same object, and its Done channel is made only if
// someone asks for it.
//
// Parent cancellation is propagated lazily. A function that never calls
// Done (or derives a child context) observes its parent through Err, which
// checks the parent; one that does gets a channel, and only then is a hook
// registered on the parent. Either way it never sees a live Call under a
// dead parent.
type Call struct {
	parent context.Context
	when   int64  // deadline on the set's monotonic clock, in nanoseconds
	shard  *shard // set before the call is shared, never changed

	index int32         // position in shard.heap; -1 when not in a heap; guarded by shard.mu
	state atomic.Uint32 // next to index, so a Call fits a 96-byte size class

	mu     sync.Mutex // guards the fields below and the move out of live
	done   chan struct{}
	perr   error       // the parent's error, set before state becomes parentDone
	afters *afterFunc  // funcs to run when the call ends, a list
	unhook func() bool // stops the hook on the parent
	hooked bool        // a hook on the parent was (or is being) registered

	waiters atomic.Bool // Done or AfterFunc was called; see cancel
}

// afterFunc is one func registered with AfterFunc, in a singly linked
// list: a call is 96 bytes, and most calls register none.
type afterFunc struct {
	f    func()
	next *afterFunc
}

var _ context.Context = (*Call)(nil)

// Deadline returns the earlier of the call's deadline and its parent's.
func (c *Call) Deadline() (time.Time, bool) {
	d := c.shard.set.base.Add(time.Duration(c.when))
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

// Value returns the parent's value for key.
func (c *Call) Value(key any) any { return c.parent.Value(key) }

// Err returns nil while the Call is live, context.DeadlineExceeded after its
// deadline, context.Canceled after its function returned, and the parent's
// error after the parent ended.
func (c *Call) Err() error {
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

// Done returns a channel closed when the Call ends; it is made on first use.
func (c *Call) Done() <-chan struct{} {
	c.mu.Lock()
	if c.done == nil {
		c.waiters.Store(true) // before the state check: see cancel
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

// AfterFunc arranges for f to run once the Call ends, and returns a func
// that stops it. The context package uses it to link contexts derived from
// a Call without starting a goroutine for each. f runs on the goroutine that
// ends the Call and must be quick: the context package only registers
// cancellations of child contexts here.
func (c *Call) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	c.waiters.Store(true) // before the state check: see cancel
	if c.state.Load() != live {
		c.mu.Unlock()
		go f() // never call f under the caller's own locks
		return func() bool { return false }
	}
	a.next, c.afters = c.afters, a
	hook := c.needHook()
	c.mu.Unlock()
	if hook {
		c.hook()
	}
	return func() bool { return c.removeAfter(a) }
}

func (c *Call) removeAfter(a *afterFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := &c.afters; *p != nil; p = &(*p).next {
		if *p == a {
			*p = a.next
			return true
		}
	}
	return false
}

// needHook reports whether the caller must register the parent hook; it is
// called with c.mu held and claims the job.
func (c *Call) needHook() bool {
	if c.hooked || c.state.Load() != live || c.parent.Done() == nil {
		return false
	}
	c.hooked = true
	return true
}

// hook links the Call to its parent so that a waiter on Done wakes when the
// parent ends. It runs without c.mu: the parent may be another Call.
func (c *Call) hook() {
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

// cancel moves the Call out of live into st, closes Done and runs the
// registered funcs. It reports whether this Call did the move.
//
// Most calls end with nobody waiting: no Done channel, no AfterFunc, no
// hook. Those end with one compare-and-swap and no lock. Done and
// AfterFunc set waiters before they check the state, and cancel checks
// waiters after it moves the state, so at least one of them sees the
// other: either the waiter finds the call ended, or cancel finds the
// waiter and cleans up under mu.
func (c *Call) cancel(st uint32, perr error) bool {
	if perr == nil && !c.waiters.Load() {
		if !c.state.CompareAndSwap(live, st) {
			return false
		}
		if !c.waiters.Load() {
			return true
		}
		c.mu.Lock()
	} else {
		c.mu.Lock()
		if c.state.Load() != live {
			c.mu.Unlock()
			return false
		}
		c.perr = perr // read only once the state is parentDone
		if !c.state.CompareAndSwap(live, st) {
			c.mu.Unlock()
			return false
		}
	}
	c.finish()
	return true
}

// finish closes Done and runs the registered funcs of a call that has just
// left live; it is called with mu held and releases it.
func (c *Call) finish() {
	if c.done != nil {
		close(c.done)
	}
	afters, unhook := c.afters, c.unhook
	c.afters, c.unhook = nil, nil
	c.mu.Unlock()
	if unhook != nil {
		unhook()
	}
	for a := afters; a != nil; a = a.next {
		a.f()
	}
}

// String names the Call for debugging, like the context package's types.
func (c *Call) String() string { return "timers.Call" }

// Release takes the call's deadline out of its heap and cancels the call
// (its Err becomes context.Canceled unless it had already ended). It
// reports whether the call's own deadline had ended it. Release is
// idempotent.
func (c *Call) Release() (expired bool) {
	sh := c.shard
	sh.mu.Lock()
	if c.index >= 0 {
		sh.remove(int(c.index))
	}
	sh.mu.Unlock()
	c.cancel(finished, nil)
	return c.Expired()
}

// Cancel is Release without its result, for use as a context.CancelFunc.
func (c *Call) Cancel() { c.Release() }

// Expired reports whether the call's own deadline ended it (not its
// parent, not its release).
func (c *Call) Expired() bool { return c.state.Load() == elapsed }
