package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

func ExampleDoOr() {
	prices, err := breaker.New(breaker.Config{Name: "prices", OpenTimeout: time.Minute})
	if err != nil {
		panic(err)
	}
	defer func() { _ = prices.Stop(context.Background()) }()
	ctx := context.Background()
	_ = prices.ForceOpen(ctx) // as after an outage

	fetch := func(context.Context) (float64, error) { return 9.99, nil }
	cached := func(_ context.Context, v float64, err error) (float64, error) {
		if !errors.Is(err, resilience.ErrOpen) {
			return v, err // not ours to hide
		}
		return 9.50, nil // yesterday's price
	}
	price, err := resilience.DoOr(ctx, prices, fetch, cached)
	fmt.Println(price, err)
	// Output:
	// 9.5 <nil>
}
