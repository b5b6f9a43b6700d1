package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience/breaker"
)

func ExampleGuard() {
	ctx := context.Background()
	b, _ := breaker.New(breaker.Config{Name: "search"})
	defer b.Stop(ctx)
	g, _ := breaker.NewGuard[string](b, breaker.GuardConfig{MaxConcurrent: 2, MaxQueue: 1})

	// Fan three jobs into one channel with room for every answer.
	results := make(chan breaker.Result[string], 3)
	release := make(chan struct{})
	slow := func(context.Context) (string, error) { <-release; return "hit", nil }
	for range 3 {
		_ = g.Submit(ctx, slow, results)
	}
	// Two run, one waits: a fourth job is refused at once, never blocked.
	err := g.Submit(ctx, slow, make(chan breaker.Result[string], 1))
	fmt.Println(errors.Is(err, breaker.ErrQueueFull))

	close(release)
	for range 3 {
		r := <-results
		fmt.Println(r.Value, r.Err)
	}
	fmt.Println(g.Stop(ctx), g.Metrics().Completed)
	// Output:
	// true
	// hit <nil>
	// hit <nil>
	// hit <nil>
	// <nil> 3
}

func ExampleFamily() {
	ctx := context.Background()
	hosts, _ := breaker.NewFamily[string](breaker.FamilyConfig{
		Breaker: breaker.Config{FailureThreshold: 1},
		MaxKeys: 10_000,
	})
	defer hosts.Stop(ctx)

	b, _ := hosts.For("a.example.com") // created on first use
	events, _ := b.Subscribe(ctx, 1)

	down := func(context.Context) error { return errors.New("connection refused") }
	fmt.Println(hosts.Call(ctx, "a.example.com", down))
	<-events // the breaker's actor opened it
	err := hosts.Call(ctx, "a.example.com", down)
	fmt.Println(err)

	n, err := breaker.ExecuteKey(ctx, hosts, "b.example.com", func(context.Context) (int, error) { return 200, nil })
	fmt.Println(n, err, hosts.Len())
	// Output:
	// connection refused
	// breaker: a.example.com is open
	// 200 <nil> 2
}
