package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
)

func Example() {
	r, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	err = r.Run(ctx, func(ctx context.Context) error {
		attempt := resilience.Attempt(ctx)
		fmt.Println("attempt", attempt)
		if attempt < 2 {
			return errors.New("flaky")
		}
		return nil
	})
	fmt.Println("result:", err)

	err = r.Run(ctx, func(context.Context) error { return errors.New("down") })
	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println(re.Attempts, "attempts,", re.Reason, "-", re.Last)
	}
	// Output:
	// attempt 1
	// attempt 2
	// result: <nil>
	// 3 attempts, resilience: retries exhausted - down
}

// resilience.Do returns the value of the attempt that succeeded. A
// server-directed wait (a 503 with Retry-After) replaces the backoff.
func ExamplePolicy_Run_value() {
	r, _ := retry.New(retry.Config{InitialDelay: time.Millisecond})
	v, err := resilience.Do(context.Background(), r, func(ctx context.Context) (string, error) {
		if resilience.Attempt(ctx) == 1 {
			// The loop waits what the server asked (clamped to MaxDelay)
			// instead of its own backoff.
			return "", resilience.RetryAfter(errors.New("503"), time.Millisecond)
		}
		return "payload", nil
	})
	fmt.Println(v, err)
	// Output: payload <nil>
}

// A Terminal error (here marked by resilience.Permanent) stops the loop at
// once; Reason is nil because the error itself said stop.
func ExampleConfig_classify() {
	r, _ := retry.New(retry.Config{})
	err := r.Run(context.Background(), func(context.Context) error {
		return resilience.Permanent(errors.New("400 bad request"))
	})
	var re *retry.Error
	errors.As(err, &re)
	fmt.Println(re.Attempts, re.Reason, re.Last)
	// Output: 1 <nil> 400 bad request
}

// A budget shared by the policies calling one dependency bounds the load
// their retries add; a refused retry matches resilience.ErrExhausted.
func ExampleNewBudget() {
	budget, _ := retry.NewBudget(1, 0.1) // one retry, then one per ten successes
	r, _ := retry.New(retry.Config{Budget: budget, InitialDelay: time.Millisecond})
	err := r.Run(context.Background(), func(context.Context) error { return errors.New("down") })
	var re *retry.Error
	errors.As(err, &re)
	fmt.Println(re.Attempts, errors.Is(err, resilience.ErrExhausted))
	// Output: 2 true
}
