package benchmarks

import (
	"context"
	"testing"

	"github.com/llm-research-lab/resilience/limit"
	"golang.org/x/time/rate"
)

// The rate limiter benchmarks ask a limiter for one permit per operation,
// without waiting: limit.Rate.Allow against golang.org/x/time/rate's
// Limiter.Allow. In BenchmarkRateAllow* the rate (1e9/s, burst one second)
// admits every call; in BenchmarkRateRefuse* (1/s, burst 1) all but the
// first are refused. Run them with:
//
//	go test -run XXX -bench 'BenchmarkRate' -count 6 .

// rateLib is one limiter's Allow, built for a rate and burst.
type rateLib struct {
	name string
	make func(b *testing.B, perSecond float64, burst int) func() bool
}

var rateLibs = []rateLib{
	{"resilience", func(b *testing.B, perSecond float64, burst int) func() bool {
		r, err := limit.New(limit.Config{PerSecond: perSecond, Burst: burst})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func() bool {
			done, err := r.Allow(ctx)
			if err != nil {
				return false
			}
			done(nil)
			return true
		}
	}},
	{"xtime", func(b *testing.B, perSecond float64, burst int) func() bool {
		return rate.NewLimiter(rate.Limit(perSecond), burst).Allow
	}},
}

func benchRate(b *testing.B, perSecond float64, burst int, parallel, wantAdmitted bool) {
	for _, lib := range rateLibs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			allow := lib.make(b, perSecond, burst)
			b.ReportAllocs()
			if !parallel {
				admitted := 0
				for b.Loop() {
					if allow() {
						admitted++
					}
				}
				checkAdmitted(b, admitted, wantAdmitted)
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					allow()
				}
			})
		})
	}
}

// checkAdmitted fails a benchmark that did not measure what it says.
func checkAdmitted(b *testing.B, admitted int, want bool) {
	if want && admitted != b.N || !want && admitted > 1+b.N/1000 {
		b.Fatalf("%d of %d calls admitted", admitted, b.N)
	}
}

func BenchmarkRateAllow(b *testing.B)         { benchRate(b, 1e9, 1e9, false, true) }
func BenchmarkRateAllowParallel(b *testing.B) { benchRate(b, 1e9, 1e9, true, true) }
func BenchmarkRateRefuse(b *testing.B)        { benchRate(b, 1, 1, false, false) }
func BenchmarkRateRefuseParallel(b *testing.B) {
	benchRate(b, 1, 1, true, false)
}
