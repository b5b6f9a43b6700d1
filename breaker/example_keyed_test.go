package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

func ExampleFamily() {
	ctx := context.Background()
	events := make(chan breaker.Event, 8) // one channel for every key
	hosts, _ := breaker.NewFamily[string](breaker.FamilyConfig{
		Breaker: breaker.Config{FailureThreshold: 1, Events: events},
		MaxKeys: 10_000,
	})
	defer hosts.Stop(ctx)

	down := func(context.Context) error { return errors.New("connection refused") }
	b, _ := hosts.For("a.example.com") // created on first use
	fmt.Println(b.Run(ctx, down))
	ev := <-events // the breaker's actor opened it
	fmt.Println(ev.Name, ev.To)
	b, _ = hosts.For("a.example.com")
	fmt.Println(b.Run(ctx, down))

	b, _ = hosts.For("b.example.com")
	n, err := resilience.Do(ctx, b, func(context.Context) (int, error) { return 200, nil })
	fmt.Println(n, err, hosts.Len())
	// Output:
	// connection refused
	// a.example.com open
	// resilience: a.example.com: rejected: resilience: circuit open
	// 200 <nil> 2
}
