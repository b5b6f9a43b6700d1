package otelresilience

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The span events [Tracing] adds, and their attributes.
const (
	eventAttempt  = "resilience.attempt"  // an attempt ended: attempt, outcome, error
	eventRetry    = "resilience.retry"    // attempt n > 1 begins: a retry, or a hedge
	eventRejected = "resilience.rejected" // a gate refused: gate, reason, retry_after
	eventTimeout  = "resilience.timeout"  // a timeout ended an attempt or the call: op, limit
)

// Tracing adds span events to the span of the caller's context for what
// the policies it wraps do: each attempt and its outcome, each retry,
// each refusal by a gate, each timeout. It adds events, not spans, so a
// trace gains no depth; a call whose context has no recording span costs
// one check. The zero value is ready to use and safe for concurrent use.
//
// The events are added on the caller's goroutine through the span's
// AddEvent, which in the OpenTelemetry SDK appends to the span under its
// lock and calls no exporter. A span implementation that panics is
// recovered and counted ([Tracing.Panics]); the call goes on.
type Tracing struct {
	panics atomic.Uint64
}

// Panics returns how many times adding an event panicked (recovered).
func (t *Tracing) Panics() uint64 { return t.panics.Load() }

// Policy returns p with span events: use it around a Pipeline (or any
// Policy) to see its attempts, retries, timeouts and the refusal that
// ended a call. A refused attempt that the retry loop retried never
// reaches the function, so it shows only as a gap in the attempt numbers;
// wrap the gates with [Tracing.Gate] to see each refusal. Panics in the
// function pass through unchanged.
func (t *Tracing) Policy(p resilience.Policy) resilience.Policy {
	return &tracedPolicy{t: t, p: p}
}

// Gate returns g with a span event for each refusal: put it in a
// Pipeline's Limiter, Breaker or Bulkhead slot.
func (t *Tracing) Gate(g resilience.Gate) resilience.Gate {
	return &tracedGate{t: t, g: g}
}

type tracedPolicy struct {
	t *Tracing
	p resilience.Policy
}

// Run runs fn under the policy, adding events to ctx's span.
func (tp *tracedPolicy) Run(ctx context.Context, fn func(context.Context) error) error {
	span := trace.SpanFromContext(ctx)
	if fn == nil || !span.IsRecording() {
		return tp.p.Run(ctx, fn)
	}
	st := &callState{}
	err := tp.p.Run(context.WithValue(ctx, callKey{}, st), func(ctx context.Context) error {
		n := resilience.Attempt(ctx)
		if n > 1 {
			tp.t.event(span, eventRetry, attribute.Int("resilience.attempt", n))
		}
		err := fn(ctx)
		tp.t.attempt(span, st, n, err)
		return err
	})
	if e := refusalOrTimeout(err); e != nil && !st.reported(e) {
		tp.t.report(span, e) // the call's own, not reported by an attempt or a gate
	}
	return err
}

// callState is what a traced Policy's call has reported so far, shared
// with the traced gates it runs through its context. Attempts may run side
// by side (a hedge.Policy in the Retry slot), hence the lock.
type callState struct {
	mu   sync.Mutex
	last error // the refusal or timeout last reported
}

func (st *callState) set(err error) {
	st.mu.Lock()
	st.last = err
	st.mu.Unlock()
}

// reported reports whether err is the refusal or timeout last reported.
func (st *callState) reported(err error) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last == err
}

type callKey struct{}

// stateOf returns the call's state, or a fresh one outside a traced
// Policy.
func stateOf(ctx context.Context) *callState {
	if st, ok := ctx.Value(callKey{}).(*callState); ok {
		return st
	}
	return &callState{}
}

type tracedGate struct {
	t *Tracing
	g resilience.Gate
}

// Allow asks the gate, adding an event to ctx's span if it refuses.
func (tg *tracedGate) Allow(ctx context.Context) (func(error), error) {
	done, err := tg.g.Allow(ctx)
	if err != nil {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			tg.t.refusalOrTimeout(span, stateOf(ctx), err)
		}
	}
	return done, err
}

// Run runs fn through the gate, adding an event to ctx's span if it
// refuses.
func (tg *tracedGate) Run(ctx context.Context, fn func(context.Context) error) error {
	span := trace.SpanFromContext(ctx)
	if fn == nil || !span.IsRecording() {
		return tg.g.Run(ctx, fn)
	}
	ran := false
	err := tg.g.Run(ctx, func(ctx context.Context) error {
		ran = true
		return fn(ctx)
	})
	if err != nil && !ran {
		tg.t.refusalOrTimeout(span, stateOf(ctx), err)
	}
	return err
}

// attempt adds the event of attempt n ending with err, and the timeout or
// refusal that err is, if any.
func (t *Tracing) attempt(span trace.Span, st *callState, n int, err error) {
	attrs := []attribute.KeyValue{
		attribute.Int("resilience.attempt", n),
		attribute.String("resilience.outcome", resilience.Classify(err).String()),
	}
	if err != nil {
		attrs = append(attrs, attribute.String("error.message", err.Error()))
	}
	t.event(span, eventAttempt, attrs...)
	if err != nil {
		t.refusalOrTimeout(span, st, err)
	}
}

// refusalOrTimeout adds a rejected or timeout event if err is one.
func (t *Tracing) refusalOrTimeout(span trace.Span, st *callState, err error) {
	if e := refusalOrTimeout(err); e != nil {
		t.report(span, e)
		st.set(e)
	}
}

// refusalOrTimeout returns the *resilience.TimeoutError or
// *resilience.RejectedError in err's chain, or nil.
func refusalOrTimeout(err error) error {
	var rejected *resilience.RejectedError
	var timeout *resilience.TimeoutError
	switch {
	case errors.As(err, &timeout):
		return timeout
	case errors.As(err, &rejected):
		return rejected
	}
	return nil
}

// report adds the event of a refusal or a timeout.
func (t *Tracing) report(span trace.Span, err error) {
	switch e := err.(type) {
	case *resilience.TimeoutError:
		t.event(span, eventTimeout, attribute.String("resilience.op", e.Op),
			attribute.Float64("resilience.limit", e.Limit.Seconds()))
	case *resilience.RejectedError:
		reason := ""
		if e.Reason != nil {
			reason = e.Reason.Error()
		}
		t.event(span, eventRejected, attribute.String("resilience.gate", e.Name),
			attribute.String("resilience.reason", reason),
			attribute.Float64("resilience.retry_after", e.RetryAfter().Seconds()))
	}
}

// event adds one event to span, recovering and counting a panic.
func (t *Tracing) event(span trace.Span, name string, attrs ...attribute.KeyValue) {
	defer func() {
		if recover() != nil {
			t.panics.Add(1)
		}
	}()
	span.AddEvent(name, trace.WithAttributes(attrs...))
}
