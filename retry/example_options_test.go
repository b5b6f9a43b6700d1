package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience/retry"
)

// A delay computed from the attempt and its error: a quota error waits
// long (clamped to MaxDelay), anything else grows linearly.
func ExampleConfig_delay() {
	errQuota := errors.New("quota exceeded")
	r, err := retry.New(retry.Config{
		MaxDelay: 30 * time.Second,
		Delay: func(attempt int, err error, prev time.Duration) time.Duration {
			if errors.Is(err, errQuota) {
				return time.Minute
			}
			return time.Duration(attempt) * 100 * time.Millisecond
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Delay(1, errors.New("upstream 503"), 0))
	fmt.Println(r.Delay(2, errors.New("upstream 503"), 100*time.Millisecond))
	fmt.Println(r.Delay(3, errQuota, 200*time.Millisecond))
	// Output:
	// 100ms
	// 200ms
	// 30s
}

// Attempt limits per error, with retries at once: a refused connection is
// tried twice, anything else up to MaxAttempts.
func ExampleConfig_attemptsFor() {
	errRefused := errors.New("connection refused")
	r, err := retry.New(retry.Config{
		MaxAttempts: 5,
		Backoff:     retry.Immediate,
		AttemptsFor: func(err error) int {
			if errors.Is(err, errRefused) {
				return 2
			}
			return 0 // MaxAttempts
		},
	})
	if err != nil {
		panic(err)
	}
	for _, cause := range []error{errRefused, errors.New("upstream 503")} {
		err := r.Run(context.Background(), func(context.Context) error { return cause })
		var re *retry.Error
		errors.As(err, &re)
		fmt.Println(cause, "->", re.Attempts, "attempts")
	}
	// Output:
	// connection refused -> 2 attempts
	// upstream 503 -> 5 attempts
}
