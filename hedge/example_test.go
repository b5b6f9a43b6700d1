package hedge_test

import (
	"context"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
)

func Example() {
	h, err := hedge.New(hedge.Config{Delay: 10 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	// The first replica asked stalls; the hedge, sent 10ms later, answers.
	replica := func(ctx context.Context) (string, error) {
		if resilience.Attempt(ctx) == 1 {
			<-ctx.Done() // stalled until the policy cancels it
			return "", ctx.Err()
		}
		return "row 42 from replica 2", nil
	}
	row, err := resilience.Do(context.Background(), h, replica)
	fmt.Println(row, err)
	// Output:
	// row 42 from replica 2 <nil>
}
