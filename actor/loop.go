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
	// queued, unless the Stop context ends first. requestStop has closed
	// the mailbox, so this loop ends.
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
		var msg M
		var ok bool
		if len(self.timers) == 0 {
			msg, ok = <-a.mailbox
		} else {
			select {
			case msg, ok = <-a.mailbox:
			case now := <-self.timer.C:
				if err := a.fire(self, now); err != nil {
					return err
				}
				continue
			}
		}
		if !ok {
			return nil // the mailbox is closed only by requestStop
		}
		if a.stopReq.Load() {
			a.leftover, a.hasLeftover = msg, true
			return nil
		}
		if err := a.receive(self, msg); err != nil {
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
		if err := a.receive(self, e.msg); err != nil {
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
		msg, ok := a.next()
		if !ok {
			return nil
		}
		if err := a.receive(self, msg); err != nil {
			return err
		}
	}
}

// next returns the leftover message serve put aside, else the next queued
// one; false once the closed mailbox is empty.
func (a *Actor[M]) next() (M, bool) {
	if a.hasLeftover {
		a.hasLeftover = false
		return a.leftover, true
	}
	msg, ok := <-a.mailbox
	return msg, ok
}

// receive runs the behaviour on one message, turning a panic into an error.
func (a *Actor[M]) receive(self *Self[M], msg M) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Actor: a.name, Value: v, Stack: debug.Stack()}
		}
	}()
	a.behavior.Receive(self, msg)
	a.handled.Add(1)
	return nil
}

// finish discards what is left, runs the behaviour's Stopped hook, and
// publishes the outcome. cause is nil or the first handler failure.
func (a *Actor[M]) finish(self *Self[M], cause error) {
	a.requestStop(Discard, nil) // after a panic: refuse senders, close the mailbox
	discard := ErrStopped
	if cause != nil {
		discard = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	d, _ := a.behavior.(Discarder[M])
	for msg, ok := a.next(); ok; msg, ok = a.next() {
		a.undelivered++
		if d != nil {
			cause = a.guard(cause, func() { d.Discard(msg, discard) })
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
	a.err = cause
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
