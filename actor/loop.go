package actor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// errGoexit is the panic value recorded when a handler calls runtime.Goexit.
var errGoexit = errors.New("handler called runtime.Goexit")

// run is the actor's goroutine. It owns the behaviour, the timers and the
// receiving end of the mailbox; nothing else touches them.
func (a *Actor[M]) run() {
	self := &Self[M]{actor: a}
	finished := false
	defer func() {
		// A handler that calls runtime.Goexit unwinds through here without
		// a panic; treat it as a failure so Done still closes.
		if !finished {
			a.finish(self, &PanicError{Actor: a.name, Value: errGoexit, Stack: debug.Stack()})
		}
	}()

	// Step 1: handle messages and timers until a stop is requested or a
	// handler panics.
	cause := a.serve(self)

	// Step 2: on a requested stop in Drain mode, handle what is already
	// queued, unless the Stop context ends first. The mailbox is sealed
	// once the senders in flight leave the gate, so this loop ends.
	if cause == nil && a.stopMode == Drain {
		cause = a.drain(self)
	}

	// Step 3: refuse senders (if a panic got us here), discard the rest,
	// tell the behaviour, publish the outcome and close Done.
	finished = true
	a.finish(self, cause)
}

// serve is the main loop. It waits on the mailbox alone while no timer is
// pending, which keeps the common round trip as cheap as a bare channel.
// Stop overtakes queued messages: stopReq is checked before each one, and
// a message taken out after the stop began goes back to the stop path.
func (a *Actor[M]) serve(self *Self[M]) error {
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
func (a *Actor[M]) fire(self *Self[M], now time.Time) error {
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

// drain handles the messages still queued when a Drain stop began.
func (a *Actor[M]) drain(self *Self[M]) error {
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
func (a *Actor[M]) next() (envelope[M], bool) {
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
func (a *Actor[M]) receive(self *Self[M], env envelope[M]) (err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		// A panic, or runtime.Goexit (recover returns nil): the actor
		// fails, and finish answers the ask this message carried.
		if v := recover(); v != nil {
			err = &PanicError{Actor: a.name, Value: v, Stack: debug.Stack()}
		}
		if env.ask != nil {
			a.remember(pendingAsk{env.ask, env.gen})
		}
	}()
	a.behavior.Receive(self, env.msg)
	returned = true
	a.handled.Add(1)
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
func (a *Actor[M]) remember(p pendingAsk) {
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
// publishes the outcome. cause is nil or the first handler failure.
func (a *Actor[M]) finish(self *Self[M], cause error) {
	a.requestStop(Discard, nil) // after a panic: refuse senders, seal the mailbox
	discard := ErrStopped
	if cause != nil {
		discard = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	d, _ := a.behavior.(Discarder[M])
	for env, ok := a.next(); ok; env, ok = a.next() {
		a.undelivered++
		if d != nil {
			cause = a.guard(cause, func() { d.Discard(env.msg, discard) })
		}
		if env.ask != nil {
			a.remember(pendingAsk{env.ask, env.gen})
		}
	}
	for _, e := range self.release() {
		if d != nil {
			cause = a.guard(cause, func() { d.Discard(e.msg, discard) })
		}
	}
	if s, ok := a.behavior.(Stopper); ok {
		cause = a.guard(cause, func() { s.Stopped(cause) })
	}
	a.err = cause // before abandon: the askers read it
	a.refusal = ErrStopped
	if cause != nil {
		a.refusal = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	for _, o := range a.outstanding { // after Stopped, which may still reply
		o.ask.abandon(o.gen)
	}
	a.outstanding = nil
	if cause != nil {
		a.state.Store(int32(Failed))
	} else {
		a.state.Store(int32(Stopped))
	}
	close(a.done)
}

// guard runs a shutdown callback, keeping the first failure.
func (a *Actor[M]) guard(cause error, f func()) (out error) {
	out = cause
	defer func() {
		if v := recover(); v != nil && out == nil {
			out = &PanicError{Actor: a.name, Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return out
}
