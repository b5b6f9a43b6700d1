package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

func Example() {
	ctx := context.Background()
	events := make(chan breaker.Event, 8)
	b, err := breaker.New(breaker.Config{Name: "payments", FailureThreshold: 2, OpenTimeout: time.Minute, Events: events})
	if err != nil {
		panic(err)
	}
	defer b.Stop(ctx)

	charge := func(context.Context) error { return errors.New("upstream 503") }
	for range 2 {
		fmt.Println(b.Run(ctx, charge)) // the call's own error, unchanged
	}
	ev := <-events // the actor opened the breaker
	fmt.Println(ev.From, "->", ev.To, "after", ev.Reason)

	_, err = resilience.Do(ctx, b, func(context.Context) (string, error) { return "receipt", nil })
	var open *resilience.RejectedError
	fmt.Println(errors.Is(err, resilience.ErrOpen), errors.As(err, &open) && open.RetryAfter() > 0)

	m := b.Metrics()
	fmt.Println(m.Failures, m.RejectedOpen, m.Opened)
	// Output:
	// upstream 503
	// upstream 503
	// closed -> open after consecutive failures
	// true true
	// 2 1 1
}

func ExampleBreaker_Allow() {
	ctx := context.Background()
	b, _ := breaker.New(breaker.Config{})
	defer b.Stop(ctx)

	done, err := b.Allow(ctx)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	// ... make the call, stream the response ...
	done(nil) // report its outcome exactly once
	fmt.Println(b.Metrics().Successes)
	// Output: 1
}
