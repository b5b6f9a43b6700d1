package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/llm-research-lab/resilience/limit"
	"golang.org/x/time/rate"
)

// The keyed limiter benchmarks take one permit per operation from the
// bucket of one of 10,000 keys (client addresses, say), cycling through
// them: limit.Keyed.Allow against the usual hand-rolled limiter, a
// golang.org/x/time/rate Limiter per key in a sync.Map. Every key is
// created before the timer starts, and the rate (1e9/s per key) admits
// every call. Run them with:
//
//	go test -run XXX -bench 'BenchmarkKeyedLimiter' -count 6 .

const limitKeys = 10_000

var limitKeyNames = func() []string {
	k := make([]string, limitKeys)
	for i := range k {
		k[i] = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
	}
	return k
}()

// keyedLimitLib is one keyed limiter's Allow.
type keyedLimitLib struct {
	name string
	make func(b *testing.B) func(key string) bool
}

// xrateKeyed is the hand-rolled keyed limiter: x/time/rate limiters in a
// sync.Map, created on first use.
type xrateKeyed struct{ m sync.Map }

func (x *xrateKeyed) allow(key string) bool {
	l, ok := x.m.Load(key)
	if !ok {
		l, _ = x.m.LoadOrStore(key, rate.NewLimiter(1e9, 1e9))
	}
	return l.(*rate.Limiter).Allow()
}

var keyedLimitLibs = []keyedLimitLib{
	{"resilience", func(b *testing.B) func(string) bool {
		k, err := limit.NewKeyed[string](limit.KeyedConfig{Rate: limit.Config{PerSecond: 1e9}})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		return func(key string) bool { return k.Allow(ctx, key) == nil }
	}},
	{"xrate", func(*testing.B) func(string) bool { return new(xrateKeyed).allow }},
}

func benchKeyed(b *testing.B, parallel bool) {
	for _, lib := range keyedLimitLibs {
		b.Run("lib="+lib.name, func(b *testing.B) {
			allow := lib.make(b)
			for _, k := range limitKeyNames {
				allow(k)
			}
			b.ReportAllocs()
			var refused atomic.Int64
			if !parallel {
				i := 0
				for b.Loop() {
					if !allow(limitKeyNames[i]) {
						refused.Add(1)
					}
					i = (i + 1) % limitKeys
				}
			} else {
				var next atomic.Uint32
				b.RunParallel(func(pb *testing.PB) {
					i := int(next.Add(7919)) % limitKeys // goroutines start apart
					for pb.Next() {
						if !allow(limitKeyNames[i]) {
							refused.Add(1)
						}
						i = (i + 1) % limitKeys
					}
				})
			}
			if refused.Load() > 0 {
				b.Fatalf("%d calls refused", refused.Load())
			}
		})
	}
}

func BenchmarkKeyedLimiter(b *testing.B)         { benchKeyed(b, false) }
func BenchmarkKeyedLimiterParallel(b *testing.B) { benchKeyed(b, true) }
