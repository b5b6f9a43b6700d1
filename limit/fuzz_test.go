package limit_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

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

// Any AdaptiveConfig either builds a limiter whose limit stays within its
// range whatever the latencies, or is refused with a ConfigError naming a
// limit.AdaptiveConfig field; NewAdaptive never panics.
func FuzzAdaptiveConfig(f *testing.F) {
	f.Add(0, 0, 0, 0, int64(0), 0.0, uint64(1))
	f.Add(1, 1, 1, 0, int64(1), 1.0, uint64(2))
	f.Add(5, 3, 4, 2, int64(-1), 0.5, uint64(3))
	f.Add(0, 10, 0, 1, int64(time.Millisecond), math.NaN(), uint64(4))
	f.Add(-1, math.MaxInt, 7, -3, int64(math.MaxInt64), 1e-300, uint64(5))
	f.Fuzz(func(t *testing.T, minL, maxL, initial, queue int, window int64, backoff float64, stream uint64) {
		cfg := limit.AdaptiveConfig{MinLimit: minL, MaxLimit: maxL, InitialLimit: initial, MaxQueue: queue,
			Window: time.Duration(window), Backoff: backoff}
		a, err := limit.NewAdaptive(cfg)
		if err != nil {
			var ce *resilience.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "limit.AdaptiveConfig.") || ce.Reason == "" {
				t.Fatalf("NewAdaptive(%+v) = %v, want a ConfigError on a limit.AdaptiveConfig field", cfg, err)
			}
			return
		}
		lo, hi := max(1, minL), maxL
		if hi == 0 {
			hi = max(1000, lo)
		}
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(stream, 1))
			for range 200 {
				done, err := a.Allow(context.Background())
				if err != nil {
					t.Fatalf("a lone call refused: %v", err)
				}
				time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
				done(nil)
				if l := a.Limit(); l < lo || l > hi {
					t.Fatalf("limit %d outside [%d, %d]", l, lo, hi)
				}
			}
		})
	})
}
