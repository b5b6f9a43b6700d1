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

// Jobs sent to a bulkhead run on its workers; each accepted job gets
// exactly one answer on the caller's channel.
func ExampleBulkhead_Go() {
	b, _ := bulkhead.New(bulkhead.Config{Name: "thumbnails", MaxConcurrent: 2, MaxQueue: 8})
	out := make(chan resilience.Result[int], 3)
	for _, size := range []int{16, 32, 64} {
		err := resilience.Submit(context.Background(), b, func(context.Context) (int, error) {
			return size * size, nil
		}, out)
		if err != nil {
			fmt.Println("refused:", err)
		}
	}
	sum := 0
	for range 3 {
		r := <-out
		sum += r.Value
	}
	fmt.Println(sum)
	_ = b.Stop(context.Background())
	// Output: 5376
}
