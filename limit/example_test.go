package limit_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

// A limiter of one call a second with a burst of two: an idle limiter
// admits two calls at once and refuses the third, saying when to come back.
func Example() {
	r, _ := limit.New(limit.Config{Name: "search", PerSecond: 1, Burst: 2})
	p := &resilience.Pipeline{Limiter: r}
	for i := range 3 {
		err := p.Run(context.Background(), func(context.Context) error { return nil })
		var re *resilience.RejectedError
		if errors.As(err, &re) {
			fmt.Println(i, err, errors.Is(err, limit.ErrLimited), re.RetryAfter() > 0)
			continue
		}
		fmt.Println(i, err)
	}
	fmt.Printf("%+v\n", r.Metrics())
	// Output:
	// 0 <nil>
	// 1 <nil>
	// 2 resilience: search: rejected: limit: rate exceeded true true
	// {PerSecond:1 Burst:2 Allowed:2 Limited:1}
}
