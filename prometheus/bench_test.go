package promresilience

import (
	"context"
	"strconv"
	"testing"

	"github.com/llm-research-lab/resilience/breaker"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkGather100Breakers measures one Gather of a registry holding a
// collector with 100 breakers (1,000 series): the cost a scrape adds,
// paid by the scraping goroutine, never by the calls.
func BenchmarkGather100Breakers(b *testing.B) {
	c := New()
	for i := range 100 {
		br, err := breaker.New(breaker.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = br.Stop(context.Background()) })
		if err := c.Breaker("b"+strconv.Itoa(i), br); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
