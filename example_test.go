package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
)

// A pipeline with a total timeout, retries and a breaker; each attempt gets
// its own timeout, and Attempt tells the function which attempt it is.
func ExamplePipeline() {
	rp, _ := retry.New(retry.Config{MaxAttempts: 3, Backoff: retry.Immediate})
	b, _ := breaker.New(breaker.Config{Name: "inventory"})
	defer b.Stop(context.Background())
	p := &resilience.Pipeline{
		Name:           "inventory",
		Timeout:        time.Second,
		Retry:          rp,
		Breaker:        b,
		AttemptTimeout: 100 * time.Millisecond,
	}
	stock, err := resilience.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		if resilience.Attempt(ctx) < 3 {
			return 0, errors.New("connection reset")
		}
		return 42, nil
	})
	fmt.Println(stock, err)
	// Output: 42 <nil>
}

// Refusals match ErrRejected and say why and for how long.
func ExampleRejectedError() {
	var err error = &resilience.RejectedError{Name: "payments", Reason: resilience.ErrOpen}
	fmt.Println(errors.Is(err, resilience.ErrRejected), errors.Is(err, resilience.ErrOpen))
	fmt.Println(resilience.Classify(err))
	// Output:
	// true true
	// throttled
}
