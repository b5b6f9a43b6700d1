package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience/retry"
)

func Example() {
	r, err := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	err = r.Do(ctx, func(ctx context.Context, attempt int) error {
		fmt.Println("attempt", attempt)
		if attempt < 2 {
			return errors.New("flaky")
		}
		return nil
	})
	fmt.Println("result:", err)

	err = r.Do(ctx, func(context.Context, int) error { return errors.New("down") })
	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println(re.Attempts, "attempts,", re.Cause, "-", re.Last())
	}
	// Output:
	// attempt 1
	// attempt 2
	// result: <nil>
	// 3 attempts, exhausted - down
}

func ExampleDoValue() {
	r, _ := retry.New(retry.Config{InitialDelay: time.Millisecond})
	v, err := retry.DoValue(context.Background(), r, func(_ context.Context, attempt int) (string, error) {
		if attempt == 1 {
			// A 503 with Retry-After: the loop waits what the server asked
			// (clamped to MaxDelay) instead of its own backoff.
			return "", retry.After(errors.New("503"), time.Millisecond)
		}
		return "payload", nil
	})
	fmt.Println(v, err)
	// Output: payload <nil>
}

func ExamplePermanent() {
	r, _ := retry.New(retry.Config{})
	err := r.Do(context.Background(), func(context.Context, int) error {
		return retry.Permanent(errors.New("400 bad request"))
	})
	var re *retry.Error
	errors.As(err, &re)
	fmt.Println(re.Attempts, re.Cause)
	// Output: 1 permanent
}

func ExampleParseRetryAfter() {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"120", "Sun, 29 Nov 2026 12:00:30 GMT", "99999999999", "soon"} {
		d, ok := retry.ParseRetryAfter(v, now)
		fmt.Println(d, ok)
	}
	// Output:
	// 2m0s true
	// 30s true
	// 24h0m0s true
	// 0s false
}

func ExampleScheduler() {
	r, _ := retry.New(retry.Config{InitialDelay: time.Millisecond})
	s, err := retry.NewScheduler(r, retry.SchedulerConfig{Workers: 4})
	if err != nil {
		panic(err)
	}
	defer s.Stop(context.Background())

	done := s.Submit(context.Background(), func(_ context.Context, attempt int) error {
		if attempt < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	fmt.Println("outcome:", <-done)
	// Output: outcome: <nil>
}
