package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
)

// A pipeline with a total timeout and a retry policy; each attempt gets its
// own timeout, and Attempt tells the function which attempt it is.
func ExamplePipeline() {
	p := &resilience.Pipeline{
		Name:           "inventory",
		Timeout:        time.Second,
		Retry:          loop{n: 3},
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
