package resiliencegrpc

import (
	"context"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/llm-research-lab/resilience"
)

// errPanicked is what a breaker hears when opening a stream panicked; the
// panic itself goes on in the caller's goroutine.
var errPanicked = &resilience.PanicError{Value: "opening the stream panicked"}

// opener opens one call's stream, one attempt at a time.
type opener struct {
	caller        context.Context // the call's context
	gate          resilience.Gate // the breaker; nil for none
	idempotent    bool
	serverStreams bool
}

// open makes one attempt at opening the stream through the breaker. An
// open stream keeps the breaker's admission until it ends (see watched).
func (o opener) open(ctx context.Context, newStream func(context.Context) (grpc.ClientStream, error)) (grpc.ClientStream, error) {
	if o.gate == nil {
		s, err := newStream(ctx)
		return s, classifyAttempt(o.caller, o.idempotent, err)
	}
	done, refused := o.gate.Allow(ctx)
	if refused != nil {
		return nil, refused
	}
	returned := false
	defer func() {
		if !returned {
			done(errPanicked)
		}
	}()
	s, err := newStream(ctx)
	returned = true
	if err != nil {
		err = classifyAttempt(o.caller, o.idempotent, err)
		done(err)
		return nil, err
	}
	w := &watched{ClientStream: s, caller: o.caller, serverStreams: o.serverStreams, done: done}
	w.stop = context.AfterFunc(o.caller, func() { w.report(context.Canceled) })
	return w, nil
}

// watched is an open stream that reports its result to the breaker that
// admitted it, once: when it ends in RecvMsg or Header, or when the call's
// context ends first.
type watched struct {
	grpc.ClientStream
	caller        context.Context
	serverStreams bool
	done          func(error)
	stop          func() bool
	reported      atomic.Bool
}

// RecvMsg receives a message; an error ends the stream, and so does the
// one response of a stream whose server does not stream.
func (w *watched) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	switch {
	case err == io.EOF:
		w.end(nil)
	case err != nil:
		w.end(classifyAttempt(w.caller, true, err))
	case !w.serverStreams:
		w.end(nil)
	}
	return err
}

// Header returns the server's header; an error ends the stream.
func (w *watched) Header() (metadata.MD, error) {
	md, err := w.ClientStream.Header()
	if err != nil {
		w.end(classifyAttempt(w.caller, true, err))
	}
	return md, err
}

// end reports the stream's result from the caller's goroutine, and no
// longer watches the context.
func (w *watched) end(err error) {
	w.stop()
	w.report(err)
}

// report tells the breaker how the stream ended, the first time only.
func (w *watched) report(err error) {
	if !w.reported.Swap(true) {
		w.done(err)
	}
}
