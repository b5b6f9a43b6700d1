package deadline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// errGoexit is the panic value recorded when an abandonable function calls
// runtime.Goexit.
var errGoexit = errors.New("deadline: function called runtime.Goexit")

// Late reports a function that [Scheduler.RunOrAbandon] abandoned and that
// has now returned. It is passed to Config.OnLate.
type Late struct {
	Op      string        // the Limit's operation
	Limit   time.Duration // the Limit's timeout
	Overrun time.Duration // how long the function ran after its caller was released
	Err     error         // the function's error, or a *PanicError if it panicked
}

// The hand-off between a caller of DoOrAbandon and its function's
// goroutine: whoever moves it out of running first decides whether the
// result is delivered or the function is abandoned.
const (
	running   uint32 = iota
	delivered        // the function returned first; its outcome is on the channel
	abandon          // the caller left first; the function reports itself late
)

type handoff[T any] struct {
	state    atomic.Uint32
	released int64 // the scheduler clock when the caller left; set before state becomes abandon
	res      chan outcome[T]
}

type outcome[T any] struct {
	v        T
	err      error
	panicked bool
	pv       any // the panic value
	stack    []byte
}

// RunOrAbandon is [Scheduler.Run] for functions that may ignore their
// context: fn runs on a goroutine owned by s, and the caller is released
// when lim elapses (with an [*ElapsedError]) or when ctx ends (with
// ctx's error), whether fn has returned or not. An abandoned fn keeps
// running; it is counted in [Stats].Abandoned until it returns, reported
// to Config.OnLate when it does, and waited for by [Scheduler.Stop]. A panic
// in fn before its caller is released is re-raised in the caller; after,
// it is reported to OnLate as a [*PanicError].
//
// It costs a goroutine per call on top of Run. On a nil *Scheduler it
// returns [ErrNoScheduler]; once s is stopped, [ErrStopped].
func (s *Scheduler) RunOrAbandon(ctx context.Context, lim Limit, fn func(context.Context) error) error {
	if fn == nil {
		return &ConfigError{Field: "fn", Reason: "must not be nil"}
	}
	_, err := DoOrAbandon(ctx, s, lim, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// DoOrAbandon is [Scheduler.RunOrAbandon] for a function that returns a
// value: the caller gets fn's value and error if fn returns in time, the
// zero value and an error otherwise.
func DoOrAbandon[T any](ctx context.Context, s *Scheduler, lim Limit, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	switch {
	case fn == nil:
		return zero, &ConfigError{Field: "fn", Reason: "must not be nil"}
	case s == nil:
		return zero, ErrNoScheduler
	}
	sp, err := s.open(ctx, lim)
	if err != nil {
		return zero, err
	}
	if !s.startGoroutine() {
		_, _ = sp.close(lim, nil)
		return zero, ErrStopped
	}
	h := &handoff[T]{res: make(chan outcome[T], 1)}
	go runAbandonable(s, sp, lim, h, fn)
	select {
	case o := <-h.res:
		return deliver(sp, lim, o)
	case <-sp.c.Done():
	}
	h.released = s.now()
	s.abandoned.Add(1) // before the hand-off, so fn's -1 never comes first
	if !h.state.CompareAndSwap(running, abandon) {
		s.abandoned.Add(-1)
		return deliver(sp, lim, <-h.res) // fn returned just now
	}
	s.abandons.Add(1)
	if late, err := sp.close(lim, nil); late {
		return zero, err
	}
	return zero, sp.c.Err()
}

// deliver turns an outcome that reached its caller into the call's result.
func deliver[T any](sp span, lim Limit, o outcome[T]) (T, error) {
	late, err := sp.close(lim, o.err)
	if o.panicked {
		panic(o.pv)
	}
	if late {
		var zero T
		return zero, err
	}
	return o.v, err
}

// runAbandonable runs fn on its own goroutine and hands its outcome to the
// caller, or, if the caller has left, reports it as late.
func runAbandonable[T any](s *Scheduler, sp span, lim Limit, h *handoff[T], fn func(context.Context) (T, error)) {
	var o outcome[T]
	returned := false
	defer func() {
		if !returned {
			o.panicked, o.pv, o.stack = true, recover(), debug.Stack()
			if o.pv == nil {
				o.pv = errGoexit
			}
		}
		settle(s, lim, h, o)
	}()
	o.v, o.err = fn(sp.ctx)
	returned = true
}

// settle delivers o to the waiting caller, or reports it late if the
// caller has left, and releases the goroutine's slot in s.
func settle[T any](s *Scheduler, lim Limit, h *handoff[T], o outcome[T]) {
	defer s.goroutineDone()
	if h.state.CompareAndSwap(running, delivered) {
		h.res <- o
		return
	}
	s.abandoned.Add(-1)
	if s.onLate == nil {
		return
	}
	err := o.err
	if o.panicked {
		err = &PanicError{Value: o.pv, Stack: o.stack}
	}
	s.onLate(Late{Op: lim.Op, Limit: lim.Timeout, Overrun: time.Duration(s.now() - h.released), Err: err})
}

// startGoroutine counts a goroutine about to be started by DoOrAbandon; it
// reports false once Stop has begun waiting.
func (s *Scheduler) startGoroutine() bool {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.closed {
		return false
	}
	if s.running == 0 {
		s.idle = make(chan struct{})
	}
	s.running++
	return true
}

func (s *Scheduler) goroutineDone() {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.running--; s.running == 0 {
		close(s.idle)
	}
}

// waitGoroutines refuses new abandonable calls and waits for the running
// ones until ctx is done.
func (s *Scheduler) waitGoroutines(ctx context.Context) error {
	s.gmu.Lock()
	s.closed = true
	n, idle := s.running, s.idle
	s.gmu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	s.gmu.Lock()
	n = s.running
	s.gmu.Unlock()
	return fmt.Errorf("deadline: %d abandonable calls still running: %w", n, ctx.Err())
}
