package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"

	"github.com/llm-research-lab/resilience/limit"
)

// The adaptive limiter benchmarks admit a call and release it at once,
// recording its latency: limit.Adaptive.Allow and done against
// failsafe-go's adaptivelimiter TryAcquirePermit and Permit.Record. Both
// are built with limits between 8 and 1000, starting at 20, so neither
// refuses a call; the benchmark fails if one does. Run them with:
//
//	go test -run XXX -bench 'BenchmarkAdaptiveLimiter' -count 6 .

// adaptiveLib is one adaptive limiter's admit-and-release.
type adaptiveLib struct {
	name string
	make func(b *testing.B) func() bool
}

var adaptiveLibs = []adaptiveLib{
	{"resilience", func(b *testing.B) func() bool {
		a, err := limit.NewAdaptive(limit.AdaptiveConfig{MinLimit: 8, MaxLimit: 1000, InitialLimit: 20})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func() bool {
			done, err := a.Allow(ctx)
			if err != nil {
				return false
			}
			done(nil)
			return true
		}
	}},
	{"failsafe", func(*testing.B) func() bool {
		l := adaptivelimiter.NewBuilder[any]().WithLimits(8, 1000, 20).Build()
		return func() bool {
			p, ok := l.TryAcquirePermit()
			if !ok {
				return false
			}
			p.Record()
			return true
		}
	}},
}

func benchAdaptive(b *testing.B, parallel bool) {
	for _, lib := range adaptiveLibs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			admit := lib.make(b)
			b.ReportAllocs()
			var refused atomic.Int64
			if !parallel {
				for b.Loop() {
					if !admit() {
						refused.Add(1)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if !admit() {
							refused.Add(1)
						}
					}
				})
			}
			if refused.Load() > 0 {
				b.Fatalf("%d calls refused", refused.Load())
			}
		})
	}
}

func BenchmarkAdaptiveLimiter(b *testing.B)         { benchAdaptive(b, false) }
func BenchmarkAdaptiveLimiterParallel(b *testing.B) { benchAdaptive(b, true) }
