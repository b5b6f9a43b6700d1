package limit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

// A limit per client: each address gets its own bucket of two calls, then
// one a second; a busy client does not slow the others down.
func ExampleKeyed() {
	perClient, _ := limit.NewKeyed[string](limit.KeyedConfig{
		Rate:    limit.Config{Name: "per-client", PerSecond: 1, Burst: 2},
		MaxKeys: 10_000,
	})
	ctx := context.Background()
	for _, addr := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"} {
		err := perClient.Allow(ctx, addr)
		var re *resilience.RejectedError
		if errors.As(err, &re) {
			fmt.Println(addr, "429, retry after", re.RetryAfter().Round(time.Second))
			continue
		}
		fmt.Println(addr, "ok")
	}
	m := perClient.Metrics()
	fmt.Println(m.Keys, "keys,", m.Allowed, "allowed,", m.Limited, "limited")
	// Output:
	// 10.0.0.1 ok
	// 10.0.0.1 ok
	// 10.0.0.1 429, retry after 1s
	// 10.0.0.2 ok
	// 2 keys, 3 allowed, 1 limited
}
