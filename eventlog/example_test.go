package eventlog_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/eventlog"
	"github.com/llm-research-lab/resilience/retry"
)

// textLogger writes records without their time, so the output is
// deterministic.
func textLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func Example() {
	ctx := context.Background()
	log, _ := eventlog.New(eventlog.Config{Logger: textLogger(), Burst: 2})
	_ = log.Start(ctx)

	b, _ := breaker.New(breaker.Config{Name: "payments", Events: log.Breakers()})
	_ = b.ForceOpen(ctx)
	_ = b.ForceClose(ctx)
	_ = b.ForceOpen(ctx) // over the burst of 2: counted, then summed up
	_ = b.Stop(ctx)

	_ = log.Stop(ctx) // writes what is waiting, then the summary
	// Output:
	// level=WARN msg="breaker state changed" breaker=payments from=closed to=open reason="forced open" generation=2
	// level=INFO msg="breaker state changed" breaker=payments from=open to=closed reason="forced closed" generation=3
	// level=WARN msg="log records suppressed" breaker=payments suppressed=1 interval=1m0s
}

func ExampleLog_Retry() {
	ctx := context.Background()
	log, _ := eventlog.New(eventlog.Config{Logger: textLogger()})
	_ = log.Start(ctx)

	p, _ := retry.New(retry.Config{
		MaxAttempts: 3,
		Delay:       func(n int, _ error, _ time.Duration) time.Duration { return time.Duration(n) * time.Millisecond },
		Events:      log.Retry("inventory"),
	})
	_ = p.Run(ctx, func(context.Context) error { return errors.New("connection refused") })

	_ = log.Stop(ctx)
	// Output:
	// level=INFO msg=retrying retry=inventory attempt=1 delay=1ms error="connection refused"
	// level=INFO msg=retrying retry=inventory attempt=2 delay=2ms error="connection refused"
}
