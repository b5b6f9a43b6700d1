package fleet_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/fleet"
	"github.com/llm-research-lab/resilience/limit"
	"github.com/llm-research-lab/resilience/retry"
	"github.com/redis/go-redis/v9"
)

// redisAddr is the address of your Redis; here, a redis-server the test
// binary starts.
var redisAddr = os.Getenv("FLEET_EXAMPLE_REDIS")

// Each replica of a service runs this, with the Redis client it already
// has.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer client.Close()
	agent, err := fleet.New(client, fleet.Config{Secret: []byte("shared by every replica")})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = agent.Start(ctx)
	defer agent.Stop(ctx)

	local, _ := breaker.New(breaker.Config{Name: "payments"})
	defer local.Stop(ctx)
	payments, _ := agent.Breaker("payments", local)
	rate, _ := agent.Limiter(limit.Config{Name: "payments", PerSecond: 500})
	budget, _ := agent.Budget("payments", 0.2)
	policy, _ := retry.New(retry.Config{MaxAttempts: 3, Budget: budget})

	p := &resilience.Pipeline{Name: "payments", Limiter: rate, Retry: policy, Breaker: payments,
		AttemptTimeout: time.Second}
	receipt, err := resilience.Do(ctx, p, func(ctx context.Context) (string, error) {
		return "paid", nil
	})
	fmt.Println(receipt, err)
	// Output: paid <nil>
}
