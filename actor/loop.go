package actor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/llm-research-lab/resilience"
)

// errGoexit is the panic value recorded when a handler or a shutdown hook
// calls runtime.Goexit.
var errGoexit = errors.New("handler called runtime.Goexit")

// run is the actor's goroutine. It owns the behaviour, the timers and the
// receiving end of the mailbox; nothing else touches them. a.err holds the
// first failure as it goes.
func (a *life[M]) run() {
	self := &Self[M]{actor: a, ref: a.h}
	defer a.afterGoexit(self)

	// Step 1: handle messages and timers until a stop is requested or a
	// handler panics.
	a.err = a.serve(self)

	// Step 2: on a requested stop, unless Config.DiscardOnStop is set,
	// handle what is already queued, unless the Stop context ends first. The mailbox is sealed
	// once the senders in flight leave the gate, so this loop ends.
	if a.err == nil && !a.discardOnStop {
		a.err = a.drain(self)
	}

	// Step 3: refuse senders (if a panic got us here), discard the rest,
	// tell the behaviour, publish the outcome and close Done.
	a.finish(self, true)
}

// afterGoexit ends the stop if a handler or a shutdown hook called
// runtime.Goexit, which unwinds through run without a panic: it is the
// actor's failure, Done still closes and every caller is answered. A hook
// that exited is not called again; if one exits again, the last deferred
// finish runs without hooks.
func (a *life[M]) afterGoexit(self *Self[M]) {
	if a.published {
		return
	}
	if a.err == nil {
		a.err = &resilience.PanicError{Value: errGoexit, Stack: debug.Stack()}
	}
	defer func() {
		if !a.published {
			a.finish(self, false)
		}
	}()
	a.finish(self, !a.inHooks)
}

// serve is the main loop. It waits on the mailbox alone while no timer is
// pending, which keeps the common round trip as cheap as a bare channel.
// Stop overtakes queued messages: stopReq is checked before each one, and
// a message taken out after the stop began goes back to the stop path.
func (a *life[M]) serve(self *Self[M]) error {
	for {
		var env envelope[M]
		var ok bool
		if len(self.timers) == 0 {
			env, ok = <-a.mailbox
		} else {
			select {
			case env, ok = <-a.mailbox:
			case now := <-self.timer.C:
				if err := a.fire(self, now); err != nil {
					return err
				}
				continue
			}
		}
		if !ok {
			return nil // the mailbox is sealed only after a stop began
		}
		if a.stopReq.Load() {
			a.leftover, a.hasLeftover = env, true
			return nil
		}
		if err := a.receive(self, env); err != nil {
			return err
		}
	}
}

// fire handles every timer whose deadline is at or before now, then points
// the runtime timer at the next one.
func (a *life[M]) fire(self *Self[M], now time.Time) error {
	for !a.stopReq.Load() {
		e, ok := self.due(now)
		if !ok {
			break
		}
		if err := a.receive(self, envelope[M]{msg: e.msg}); err != nil {
			return err
		}
	}
	self.rearm()
	return nil
}

// drain handles the messages still queued when a draining stop began.
func (a *life[M]) drain(self *Self[M]) error {
	for {
		select {
		case <-a.stopCancel:
			return nil
		default:
		}
		env, ok := a.next()
		if !ok {
			return nil
		}
		if err := a.receive(self, env); err != nil {
			return err
		}
	}
}

// next returns the leftover message serve put aside, else the next queued
// one; false once the closed mailbox is empty.
func (a *life[M]) next() (envelope[M], bool) {
	if a.hasLeftover {
		a.hasLeftover = false
		return a.leftover, true
	}
	env, ok := <-a.mailbox
	return env, ok
}

// receive runs the behaviour on one message, turning a panic into an error.
// An Ask the handler did not answer yet is remembered, so that the asker
// is answered if the actor stops first.
func (a *life[M]) receive(self *Self[M], env envelope[M]) (err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		// A panic, or runtime.Goexit (recover returns nil): the actor
		// fails, and finish answers the ask this message carried.
		if v := recover(); v != nil {
			err = &resilience.PanicError{Value: v, Stack: debug.Stack()}
		}
		if env.ask != nil {
			a.remember(pendingAsk{env.ask, env.gen})
		}
	}()
	a.behavior.Receive(self, env.msg)
	returned = true
	a.h.handled.Add(1)
	if env.ask != nil && !env.ask.answered(env.gen) {
		a.remember(pendingAsk{env.ask, env.gen})
	}
	return nil
}

// pendingAsk is an Ask the handler took without replying (yet).
type pendingAsk struct {
	ask asker
	gen uint64
}

// remember adds p to the outstanding asks, first dropping the answered
// ones whenever the list has doubled since it was last pruned.
func (a *life[M]) remember(p pendingAsk) {
	if len(a.outstanding) >= 64 && len(a.outstanding) == cap(a.outstanding) {
		kept := a.outstanding[:0]
		for _, o := range a.outstanding {
			if !o.ask.answered(o.gen) {
				kept = append(kept, o)
			}
		}
		clear(a.outstanding[len(kept):])
		a.outstanding = kept
	}
	a.outstanding = append(a.outstanding, p)
}

// finish discards what is left, runs the behaviour's Stopped hook, and
// publishes the outcome. The Discard and Stopped hooks run only if hooks.
func (a *life[M]) finish(self *Self[M], hooks bool) {
	a.requestStop(nil) // after a panic: refuse senders, seal the mailbox
	a.inHooks = hooks
	discard := resilience.ErrStopped
	if a.err != nil {
		discard = fmt.Errorf("%w: %w", resilience.ErrStopped, a.err)
	}
	d, _ := a.behavior.(discarder[M])
	if !hooks {
		d = nil
	}
	for env, ok := a.next(); ok; env, ok = a.next() {
		a.undelivered++
		if env.ask != nil {
			a.remember(pendingAsk{env.ask, env.gen})
		}
		if d != nil {
			a.guard(func() { d.Discard(env.msg, discard) })
		}
	}
	for _, e := range self.release() {
		if d != nil {
			a.guard(func() { d.Discard(e.msg, discard) })
		}
	}
	if s, ok := a.behavior.(stopper); ok && hooks {
		cause := a.err
		a.guard(func() { s.Stopped(cause) })
	}
	a.publish()
}

// publish answers the asks left unanswered, sets the final state and
// closes Done. It runs no user code.
func (a *life[M]) publish() {
	a.published = true
	a.refusal = resilience.ErrStopped
	if a.err != nil {
		a.refusal = fmt.Errorf("%w: %w", resilience.ErrStopped, a.err)
	}
	for _, o := range a.outstanding { // after Stopped, which may still reply
		o.ask.abandon(o.gen) // after a.err is final: the askers read it
	}
	a.outstanding = nil
	close(a.done)
}

// guard runs a shutdown hook, keeping the first failure in a.err.
func (a *life[M]) guard(f func()) {
	defer func() {
		if v := recover(); v != nil && a.err == nil {
			a.err = &resilience.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
}
