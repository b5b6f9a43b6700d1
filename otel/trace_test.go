package otelresilience

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// traced runs f under a recording span and returns the events it got,
// each as "name key=value ...".
func traced(t *testing.T, f func(ctx context.Context)) []string {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	f(ctx)
	span.End()
	ended := rec.Ended()
	require.Len(t, ended, 1, "events, not child spans")
	var out []string
	for _, ev := range ended[0].Events() {
		line := ev.Name
		for _, a := range ev.Attributes {
			line += fmt.Sprintf(" %s=%s", a.Key, a.Value.String())
		}
		out = append(out, line)
	}
	return out
}

func TestPolicyEventsForAttemptsAndRetries(t *testing.T) {
	var tr Tracing
	pol, err := retry.New(retry.Config{MaxAttempts: 3, Delay: func(int, error, time.Duration) time.Duration { return 0 }})
	require.NoError(t, err)
	p := tr.Policy(&resilience.Pipeline{Name: "inventory", Retry: pol})
	calls := 0
	events := traced(t, func(ctx context.Context) {
		require.NoError(t, p.Run(ctx, func(context.Context) error {
			if calls++; calls < 3 {
				return errors.New("refused")
			}
			return nil
		}))
	})
	assert.Equal(t, []string{
		"resilience.attempt resilience.attempt=1 resilience.outcome=failure error.message=refused",
		"resilience.retry resilience.attempt=2",
		"resilience.attempt resilience.attempt=2 resilience.outcome=failure error.message=refused",
		"resilience.retry resilience.attempt=3",
		"resilience.attempt resilience.attempt=3 resilience.outcome=success",
	}, events)
}

func TestGateEventsForBreakerRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr Tracing
		ctx := context.Background()
		b, err := breaker.New(breaker.Config{Name: "payments", OpenTimeout: time.Minute})
		require.NoError(t, err)
		defer func() { require.NoError(t, b.Stop(ctx)) }()
		require.NoError(t, b.ForceOpen(ctx))
		pol, err := retry.New(retry.Config{MaxAttempts: 2, MaxDelay: time.Second})
		require.NoError(t, err)
		p := tr.Policy(&resilience.Pipeline{Name: "payments", Retry: pol, Breaker: tr.Gate(b)})
		events := traced(t, func(ctx context.Context) {
			err := p.Run(ctx, func(context.Context) error { return nil })
			require.ErrorIs(t, err, resilience.ErrOpen)
		})
		require.Len(t, events, 2, "two refused attempts; the function never ran: %v", events)
		for _, ev := range events {
			assert.Contains(t, ev, "resilience.rejected resilience.gate=payments resilience.reason="+resilience.ErrOpen.Error())
		}
	})
}

func TestPolicyEventForTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr Tracing
		p := tr.Policy(&resilience.Pipeline{Name: "search", Timeout: 250 * time.Millisecond})
		events := traced(t, func(ctx context.Context) {
			err := p.Run(ctx, func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			})
			require.ErrorIs(t, err, resilience.ErrTimeout)
		})
		require.NotEmpty(t, events)
		assert.Equal(t, "resilience.timeout resilience.op=search resilience.limit=0.25", events[len(events)-1])
	})
}

func TestNoSpanNoWork(t *testing.T) {
	var tr Tracing
	p := tr.Policy(&resilience.Pipeline{})
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = p.Run(ctx, fn) }),
		"without a recording span the wrapper adds nothing")
}

// panicSpan is a span whose AddEvent panics: a misbehaving tracing
// backend.
type panicSpan struct{ trace.Span }

func (panicSpan) IsRecording() bool                     { return true }
func (panicSpan) AddEvent(string, ...trace.EventOption) { panic("exporter bug") }

func TestPanickingSpanDoesNotHurtTheCall(t *testing.T) {
	var tr Tracing
	_, span := noop.NewTracerProvider().Tracer("").Start(context.Background(), "x")
	ctx := trace.ContextWithSpan(context.Background(), panicSpan{span})
	pol, err := retry.New(retry.Config{MaxAttempts: 2, Delay: func(int, error, time.Duration) time.Duration { return 0 }})
	require.NoError(t, err)
	p := tr.Policy(&resilience.Pipeline{Retry: pol})
	calls := 0
	err = p.Run(ctx, func(context.Context) error {
		if calls++; calls == 1 {
			return errors.New("once")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, uint64(3), tr.Panics(), "two attempt events and one retry event, each recovered")
}

// A hedge.Policy in the Retry slot runs attempts side by side: each gets
// its events, without a race.
func TestPolicyEventsForHedgedAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr Tracing
		h, err := hedge.New(hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 3})
		require.NoError(t, err)
		p := tr.Policy(&resilience.Pipeline{Name: "search", Retry: h})
		events := traced(t, func(ctx context.Context) {
			err := p.Run(ctx, func(ctx context.Context) error {
				if resilience.Attempt(ctx) < 3 {
					<-ctx.Done() // slow: hedged, then cancelled, then refused
					return &resilience.RejectedError{Name: "shard", Reason: resilience.ErrFull}
				}
				return nil
			})
			require.NoError(t, err)
		})
		assert.Contains(t, events, "resilience.retry resilience.attempt=2")
		assert.Contains(t, events, "resilience.retry resilience.attempt=3")
		assert.Contains(t, events, "resilience.attempt resilience.attempt=3 resilience.outcome=success")
		assert.Contains(t, events, "resilience.rejected resilience.gate=shard resilience.reason="+resilience.ErrFull.Error()+" resilience.retry_after=0")
	})
}
