package bulkhead_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
)

// A bulkhead of one: a second call while the first runs is refused.
func Example() {
	b, _ := bulkhead.New(bulkhead.Config{Name: "reports", MaxConcurrent: 1})
	p := &resilience.Pipeline{Bulkhead: b}
	err := p.Run(context.Background(), func(ctx context.Context) error {
		inner := p.Run(ctx, func(context.Context) error { return nil })
		fmt.Println(inner)
		fmt.Println(errors.Is(inner, resilience.ErrFull))
		return nil
	})
	fmt.Println(err)
	// Output:
	// resilience: reports: rejected: resilience: full
	// true
	// <nil>
}
