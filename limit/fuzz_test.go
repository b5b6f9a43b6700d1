package limit_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

// Any Config either builds a limiter whose first call is admitted or is
// refused with a ConfigError naming a limit.Config field; New never panics.
func FuzzConfig(f *testing.F) {
	f.Add(1.0, 0, false)
	f.Add(1e9, 1, true)
	f.Add(math.NaN(), 3, false)
	f.Add(-1.0, -1, true)
	f.Add(1e-9, math.MaxInt, false)
	f.Fuzz(func(t *testing.T, perSecond float64, burst int, smooth bool) {
		r, err := limit.New(limit.Config{PerSecond: perSecond, Burst: burst, Smooth: smooth})
		if err != nil {
			var ce *resilience.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "limit.Config.") || ce.Reason == "" {
				t.Fatalf("New(%v, %d, %v) = %v, want a ConfigError on a limit.Config field", perSecond, burst, smooth, err)
			}
			return
		}
		m := r.Metrics()
		if m.Burst < 1 || !(m.PerSecond > 0) || math.IsInf(m.PerSecond, 0) {
			t.Fatalf("New(%v, %d, %v): metrics %+v", perSecond, burst, smooth, m)
		}
		if _, err := r.Allow(context.Background()); err != nil {
			t.Fatalf("first call refused: %v", err)
		}
	})
}
