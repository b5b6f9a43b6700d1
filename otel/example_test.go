package otelresilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	otelresilience "github.com/llm-research-lab/resilience/otel"
	"github.com/llm-research-lab/resilience/retry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func Example() {
	ctx := context.Background()
	// In a service these come from its OpenTelemetry setup.
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer meters.Shutdown(ctx)
	spans := tracetest.NewSpanRecorder()
	tracers := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tracers.Shutdown(ctx)

	b, _ := breaker.New(breaker.Config{Name: "payments"})
	defer b.Stop(ctx)
	r, _ := retry.New(retry.Config{MaxAttempts: 3, Delay: func(int, error, time.Duration) time.Duration { return time.Millisecond }})
	pipeline := &resilience.Pipeline{Name: "payments", Retry: r, Breaker: b}

	// Metrics: the pipeline's components, read at each collection.
	ins, _ := otelresilience.NewInstruments(meters.Meter("github.com/llm-research-lab/resilience"))
	_ = ins.Pipeline(pipeline)
	// Traces: events on the caller's span.
	var tracing otelresilience.Tracing
	payments := tracing.Policy(pipeline)

	ctx, span := tracers.Tracer("shop").Start(ctx, "checkout")
	calls := 0
	_ = payments.Run(ctx, func(context.Context) error {
		if calls++; calls == 1 {
			return errors.New("connection reset")
		}
		return nil
	})
	span.End()

	for _, ev := range spans.Ended()[0].Events() {
		fmt.Println(ev.Name, ev.Attributes[0].Value.AsInt64())
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "resilience.retry.retries" {
			fmt.Println(m.Name, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
		}
	}
	// Output:
	// resilience.attempt 1
	// resilience.retry 2
	// resilience.attempt 2
	// resilience.retry.retries 1
}
