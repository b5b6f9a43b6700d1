package lifecycle

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signals returns the signals that start a graceful shutdown: SIGINT
// (os.Interrupt) and SIGTERM.
func signals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }

// SignalError is the cause (context.Cause) of a context cancelled by
// [NotifyContext]: which signal started the shutdown.
type SignalError struct {
	Signal os.Signal
}

// Error implements error.
func (e *SignalError) Error() string { return fmt.Sprintf("lifecycle: received %v", e.Signal) }

// ExitCode returns the conventional exit code of a process ended by sig,
// 128 plus the signal number (130 for SIGINT, 143 for SIGTERM), or 1 for a
// signal without a number.
func ExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// NotifyContext is [signal.NotifyContext] for SIGINT and SIGTERM with an escape
// hatch: the returned context is cancelled at the first SIGINT or SIGTERM,
// with a *SignalError as its cause, and start a graceful shutdown; a
// second signal calls force(sig) at once, on the goroutine that owns the
// signal channel. A nil force exits the process with [ExitCode](sig)
// without running deferred calls: the operator asked twice.
//
// Call stop when done, as with signal.NotifyContext: it stops relaying
// signals, waits for the relaying goroutine to return and cancels the
// context. Unlike signal.NotifyContext, signals stay caught after the first
// one, so the second one reaches force instead of killing the process
// with the default action.
func NotifyContext(parent context.Context, force func(os.Signal)) (ctx context.Context, stop context.CancelFunc) {
	if force == nil {
		force = func(sig os.Signal) { os.Exit(ExitCode(sig)) }
	}
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2) // the first two signals are all that matter
	signal.Notify(sigs, signals()...)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		received := 0
		for {
			select {
			case sig := <-sigs:
				received++
				if received == 1 {
					cancel(&SignalError{Signal: sig})
				} else {
					force(sig)
				}
			case <-quit:
				return
			}
		}
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(quit)
			wg.Wait()
			cancel(context.Canceled)
		})
	}
	return ctx, stop
}
