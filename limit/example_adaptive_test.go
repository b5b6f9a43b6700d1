package limit_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

// An adaptive limiter admits up to its limit of calls at once and refuses
// the rest at once (MaxQueue lets some wait instead). The limit then
// moves with the dependency's latency; in a Pipeline it fills the
// Bulkhead slot.
func ExampleAdaptive() {
	a, _ := limit.NewAdaptive(limit.AdaptiveConfig{Name: "search", InitialLimit: 2})
	ctx := context.Background()
	first, _ := a.Allow(ctx)
	second, _ := a.Allow(ctx)
	_, err := a.Allow(ctx)
	fmt.Println(errors.Is(err, resilience.ErrFull), err)
	first(nil)
	second(nil)

	p := &resilience.Pipeline{Bulkhead: a}
	err = p.Run(ctx, func(context.Context) error { return nil })
	m := a.Metrics()
	fmt.Printf("%v; limit %d, admitted %d, rejected %d, in flight %d\n", err, a.Limit(), m.Admitted, m.Rejected, m.InFlight)
	// Output:
	// true resilience: search: rejected: resilience: full
	// <nil>; limit 2, admitted 3, rejected 1, in flight 0
}
