package deadline

import (
	"context"
	"errors"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/timers"
)

// errGoexit is the panic value recorded when an abandonable function calls
// runtime.Goexit.
var errGoexit = errors.New("deadline: function called runtime.Goexit")

// errNilFunc is returned for a nil function.
var errNilFunc = &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}

// Late reports a function that [Watchdog.RunOrAbandon] abandoned and that
// has now returned. It is passed to Config.OnLate.
type Late struct {
	Op      string        // the operation, as named in RunOrAbandon
	Limit   time.Duration // its limit
	Overrun time.Duration // how long the function ran after its caller was released
	// Err is the function's error, or a *resilience.PanicError if it
	// panicked (or called runtime.Goexit).
	Err error
}

// The hand-off between a caller of RunOrAbandon and its function's
// goroutine: whoever moves it out of running first decides whether the
// result is delivered or the function is abandoned.
const (
	running   uint32 = iota
	delivered        // the function returned first; its outcome is on the channel
	abandon          // the caller left first; the function reports itself late
)

type handoff struct {
	state    atomic.Uint32
	released time.Time // when the caller left; set before state becomes abandon
	res      chan outcome
}

type outcome struct {
	err      error
	panicked bool
	pv       any // the panic value
	stack    []byte
}

// call is one RunOrAbandon in progress.
type call struct {
	op string
	d  time.Duration
	t  timers.Timeout
	h  handoff
}

// RunOrAbandon runs fn, for functions that may ignore their context, on a
// goroutine owned by w, with a context that ends after d; the caller is
// released when d elapses (with a [*resilience.TimeoutError] naming op and
// d) or when ctx ends (with ctx's error), whether fn has returned or not.
// An abandoned fn keeps running; it is counted in [Metrics].Abandoned
// until it returns, reported to Config.OnLate when it does, and waited for
// by [Watchdog.Stop]. A panic in fn before its caller is released is
// re-raised in the caller; after, it is reported to OnLate as a
// [*resilience.PanicError].
//
// It costs a goroutine per call on top of a timeout. A nil fn, a nil w or
// a non-positive d is a [*resilience.ConfigError]; once w is stopped, the
// call is refused with a [*resilience.RejectedError] whose Reason is
// [resilience.ErrStopped], and fn is not called.
func (w *Watchdog) RunOrAbandon(ctx context.Context, op string, d time.Duration, fn func(context.Context) error) error {
	if err := checkAbandon(w, d, fn); err != nil {
		return err
	}
	if !w.startGoroutine() {
		return w.stopErr
	}
	c := &call{op: op, d: d, t: w.set.Start(ctx, d)}
	c.h.res = make(chan outcome, 1)
	go w.runAbandonable(c, fn)
	select {
	case o := <-c.h.res:
		return c.deliver(o)
	case <-c.t.Ctx.Done():
	}
	c.h.released = time.Now()
	w.abandoned.Add(1) // before the hand-off, so fn's -1 never comes first
	if !c.h.state.CompareAndSwap(running, abandon) {
		w.abandoned.Add(-1)
		return c.deliver(<-c.h.res) // fn returned just now
	}
	w.abandons.Add(1)
	err := c.t.Ctx.Err()
	if c.t.Stop() {
		return &resilience.TimeoutError{Op: op, Limit: d}
	}
	return err
}

func checkAbandon(w *Watchdog, d time.Duration, fn func(context.Context) error) error {
	switch {
	case fn == nil:
		return errNilFunc
	case w == nil:
		return &resilience.ConfigError{Field: "deadline.Watchdog", Reason: "must not be nil: abandoned calls need an owner"}
	case d <= 0:
		return &resilience.ConfigError{Field: "d", Reason: "must be positive, got " + d.String()}
	}
	return nil
}

// deliver turns an outcome that reached its caller into the call's result.
func (c *call) deliver(o outcome) error {
	late := c.t.Stop()
	if o.panicked {
		panic(o.pv)
	}
	if late {
		return &resilience.TimeoutError{Op: c.op, Limit: c.d, Err: o.err}
	}
	return o.err
}

// runAbandonable runs fn on its own goroutine and hands its outcome to the
// caller, or, if the caller has left, reports it as late.
func (w *Watchdog) runAbandonable(c *call, fn func(context.Context) error) {
	var o outcome
	returned := false
	defer func() {
		if !returned {
			o.panicked, o.pv, o.stack = true, recover(), debug.Stack()
			if o.pv == nil {
				o.pv = errGoexit
			}
		}
		w.settle(c, o)
	}()
	o.err = fn(c.t.Ctx)
	returned = true
}

// settle delivers o to the waiting caller, or reports it late if the
// caller has left, and releases the goroutine's slot in w.
func (w *Watchdog) settle(c *call, o outcome) {
	defer w.goroutineDone()
	if c.h.state.CompareAndSwap(running, delivered) {
		c.h.res <- o
		return
	}
	w.abandoned.Add(-1)
	if w.onLate == nil {
		return
	}
	err := o.err
	if o.panicked {
		err = &resilience.PanicError{Value: o.pv, Stack: o.stack}
	}
	w.onLate(Late{Op: c.op, Limit: c.d, Overrun: time.Since(c.h.released), Err: err})
}

// startGoroutine counts a goroutine about to be started by RunOrAbandon;
// it reports false once w is stopped.
func (w *Watchdog) startGoroutine() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.running++
	return true
}

func (w *Watchdog) goroutineDone() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running--; w.running == 0 && w.stopped {
		close(w.drained)
	}
}
