package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
)

// down is an upstream that always fails, counting its calls.
type down struct{ calls int }

func (d *down) call(context.Context, int) (string, error) {
	d.calls++
	return "", errors.New("connection refused")
}

// The nested order, breaker(retry(deadline(op))): the breaker sees one
// outcome per retried call, so it opens after FailureThreshold whole
// calls, and once open it refuses calls before any attempt is made.
func Example_breakerOutside() {
	ctx := context.Background()
	events := make(chan breaker.Event, 4)
	b, _ := breaker.New(breaker.Config{Name: "payments", FailureThreshold: 2, OpenTimeout: time.Minute, Events: events})
	defer b.Stop(ctx)
	r, _ := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
	attempt := &resilience.Pipeline{Name: "payments", Timeout: time.Second}

	up := &down{}
	for call := 1; call <= 2; call++ {
		_, err := breakerOutside(ctx, r, b, attempt, up.call)
		fmt.Printf("call %d: upstream called %d times so far; %v\n", call, up.calls, err != nil)
	}
	ev := <-events // the breaker's actor opens it; wait until it has
	fmt.Printf("breaker %s: %s → %s after %s\n", ev.Name, ev.From, ev.To, ev.Reason)
	_, err := breakerOutside(ctx, r, b, attempt, up.call)
	fmt.Printf("call 3: upstream called %d times so far; open: %v\n", up.calls, errors.Is(err, resilience.ErrOpen))
	// Output:
	// call 1: upstream called 3 times so far; true
	// call 2: upstream called 6 times so far; true
	// breaker payments: closed → open after consecutive failures
	// call 3: upstream called 6 times so far; open: true
}

// The gateway's order, retry(breaker(deadline(op))): the breaker sees
// every attempt, so it opens after FailureThreshold attempts, and a retry
// loop that meets the open breaker stops at once when the breaker's
// retry-after would not end before its context's deadline.
func Example_retryOutside() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	events := make(chan breaker.Event, 4)
	b, _ := breaker.New(breaker.Config{Name: "payments", FailureThreshold: 2, OpenTimeout: time.Minute, Events: events})
	defer b.Stop(context.Background())
	r, _ := retry.New(retry.Config{MaxAttempts: 2, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
	attempt := &resilience.Pipeline{Name: "payments", Timeout: time.Second}

	up := &down{}
	_, err := retryOutside(ctx, r, b, attempt, up.call)
	var re *retry.Error
	errors.As(err, &re)
	fmt.Printf("call 1: %d attempts, upstream called %d times, stopped: %v\n", re.Attempts, up.calls, re.Reason)
	ev := <-events
	fmt.Printf("breaker %s: %s → %s after %s\n", ev.Name, ev.From, ev.To, ev.Reason)

	_, err = retryOutside(ctx, r, b, attempt, up.call)
	errors.As(err, &re)
	var open *resilience.RejectedError
	errors.As(err, &open)
	fmt.Printf("call 2: %d attempt, upstream called %d times, stopped: %v, retry after about %v\n",
		re.Attempts, up.calls, re.Reason, open.RetryAfter().Round(time.Minute))
	// Output:
	// call 1: 2 attempts, upstream called 2 times, stopped: resilience: retries exhausted
	// breaker payments: closed → open after consecutive failures
	// call 2: 1 attempt, upstream called 2 times, stopped: context deadline exceeded, retry after about 1m0s
}
