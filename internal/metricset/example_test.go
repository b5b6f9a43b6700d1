package metricset_test

import (
	"context"
	"fmt"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/internal/metricset"
)

// An exporter's view: a Set of named components, each read into the
// catalogue's metrics.
func Example() {
	b, _ := breaker.New(breaker.Config{Name: "payments"})
	defer b.Stop(context.Background())
	_, _ = resilience.Do(context.Background(), b, func(context.Context) (struct{}, error) { return struct{}{}, nil })

	var set metricset.Set
	if err := set.Breaker("payments", b); err != nil {
		panic(err)
	}
	fmt.Println(set.Breaker("payments", b))
	set.Each(func(name string, src metricset.Source) {
		src(func(m *metricset.Metric, v float64, label string) {
			if m == metricset.BreakerState || (m == metricset.BreakerCalls && label == "success") {
				fmt.Println(name, m.Sub, m.Name, label, v)
			}
		})
	})
	// Output:
	// resilience: invalid name: "payments" is already registered for a breaker
	// payments breaker state  0
	// payments breaker calls success 1
}
