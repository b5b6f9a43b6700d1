package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience/breaker"
)

// A trip rule of your own over the counts of the current generation: open
// once at least 3 calls were made and 60% of them failed.
func ExampleConfig_readyToTrip() {
	ctx := context.Background()
	b, err := breaker.New(breaker.Config{
		ReadyToTrip: func(c breaker.Counts) bool {
			return c.Requests >= 3 && float64(c.Failures) >= 0.6*float64(c.Requests)
		},
	})
	if err != nil {
		panic(err)
	}
	defer b.Stop(ctx)

	ok := func(context.Context) error { return nil }
	bad := func(context.Context) error { return errors.New("upstream 503") }
	for _, call := range []func(context.Context) error{ok, bad, ok, bad, bad} {
		_ = b.Run(ctx, call)
		g := b.Metrics().Generation
		fmt.Printf("%d of %d failed: %v\n", g.Failures, g.Requests, b.State())
	}
	// Output:
	// 0 of 1 failed: closed
	// 1 of 2 failed: closed
	// 1 of 3 failed: closed
	// 2 of 4 failed: closed
	// 0 of 0 failed: open
}
