package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/sony/gobreaker/v2"
)

// The keyed benchmarks measure a breaker per key (host, tenant) and the
// per-dependency guard. Run them with:
//
//	go test -run XXX -bench 'BenchmarkKeyed|BenchmarkGuard' -count 6 .
//
// BenchmarkKeyedRatio is the one to quote for the ratio bar: it times
// plain, keyed and gobreaker-map calls in alternating batches, so a load
// change on the machine hits all three alike.
//
// lib=resilience-plain is one breaker called directly, the denominator of
// the "keyed hot call ≤ 3 × plain" bar; lib=resilience-keyed is
// Family.Call with a string key that is present and closed;
// lib=resilience-keyed-for looks the breaker up with Family.For and calls
// it; lib=gobreaker-map is what users write today, a sync.Map of gobreaker
// instances.

// keyedKeys are the hot keys the hot-path benchmarks rotate over.
var keyedKeys = func() []string {
	k := make([]string, 16)
	for i := range k {
		k[i] = fmt.Sprintf("host-%02d.example.com", i)
	}
	return k
}()

// keyedCall makes one call through the breaker for key.
type keyedCall func(key string, work func(context.Context) error) error

type keyedLib struct {
	name string
	make func(tb testing.TB) keyedCall
}

var keyedLibs = []keyedLib{
	{"resilience-plain", makeKeyedPlain},
	{"resilience-keyed", makeKeyedFamily},
	{"resilience-keyed-for", makeKeyedFor},
	{"gobreaker-map", makeKeyedGobreaker},
}

func BenchmarkKeyedHot(b *testing.B) {
	for _, l := range keyedLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = c(keyedKeys[i&15], okWork)
				i++
			}
		})
	}
}

func BenchmarkKeyedHotParallel(b *testing.B) {
	for _, l := range keyedLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			c := l.make(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_ = c(keyedKeys[i&15], okWork)
					i++
				}
			})
		})
	}
}

// BenchmarkKeyedRatio measures the keyed bar on a busy machine: it
// alternates batches of 256 plain and 256 keyed calls inside one loop, so
// both see the same load, and reports keyed/plain (the bar is ≤ 3) and
// gobreaker-map/plain, with each one's ns per call. keyed/plain16 divides
// by calls over 16 plain breakers picked by index, the same working set
// as the 16 keys, so it isolates the cost of the lookup.
func BenchmarkKeyedRatio(b *testing.B) {
	libs := []keyedCall{makeKeyedPlain(b), makeKeyedFamily(b), makeKeyedGobreaker(b), makeKeyedPlain16(b)}
	var spent [4]time.Duration
	calls := 0
	b.ReportAllocs()
	for b.Loop() {
		for l, c := range libs {
			t0 := time.Now()
			for i := range 256 {
				_ = c(keyedKeys[i&15], okWork)
			}
			spent[l] += time.Since(t0)
		}
		calls += 256
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(calls) }
	b.ReportMetric(per(spent[0]), "ns/plain")
	b.ReportMetric(per(spent[1]), "ns/keyed")
	b.ReportMetric(per(spent[1])/per(spent[0]), "keyed/plain")
	b.ReportMetric(per(spent[2])/per(spent[0]), "gobreaker-map/plain")
	b.ReportMetric(per(spent[1])/per(spent[3]), "keyed/plain16")
}

// makeKeyedPlain16 calls one of 16 plain breakers chosen by the key's
// position, without a lookup.
func makeKeyedPlain16(tb testing.TB) keyedCall {
	var brs [16]*breaker.Breaker
	pos := map[string]int{}
	for i := range brs {
		br, err := breaker.New(breaker.Config{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = br.Stop(context.Background()) })
		brs[i] = br
		pos[keyedKeys[i]] = i
	}
	ctx := context.Background()
	i := 0
	return func(_ string, work func(context.Context) error) error {
		i++
		return brs[i&15].Run(ctx, work)
	}
}

func makeKeyedPlain(tb testing.TB) keyedCall {
	br, err := breaker.New(breaker.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = br.Stop(context.Background()) })
	ctx := context.Background()
	return func(_ string, work func(context.Context) error) error { return br.Run(ctx, work) }
}

func newKeyedFamily(tb testing.TB, cfg breaker.FamilyConfig) *breaker.Family[string] {
	f, err := breaker.NewFamily[string](cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = f.Stop(context.Background()) })
	return f
}

// makeKeyedFamily calls through the key's breaker as a user does who
// wants a value back: For, then resilience.Do.
func makeKeyedFamily(tb testing.TB) keyedCall {
	f := newKeyedFamily(tb, breaker.FamilyConfig{})
	ctx := context.Background()
	return func(key string, work func(context.Context) error) error {
		br, err := f.For(key)
		if err != nil {
			return err
		}
		_, err = resilience.Do(ctx, br, func(ctx context.Context) (struct{}, error) { return struct{}{}, work(ctx) })
		return err
	}
}

func makeKeyedFor(tb testing.TB) keyedCall {
	f := newKeyedFamily(tb, breaker.FamilyConfig{})
	ctx := context.Background()
	return func(key string, work func(context.Context) error) error {
		br, err := f.For(key)
		if err != nil {
			return err
		}
		return br.Run(ctx, work)
	}
}

// gobreakerMap is the common hand-rolled keyed breaker: a sync.Map of
// gobreaker instances, created with LoadOrStore on a miss and never
// evicted.
type gobreakerMap struct{ m sync.Map }

func (g *gobreakerMap) get(key string) *gobreaker.CircuitBreaker[any] {
	if v, ok := g.m.Load(key); ok {
		return v.(*gobreaker.CircuitBreaker[any])
	}
	v, _ := g.m.LoadOrStore(key, gobreaker.NewCircuitBreaker[any](gobreaker.Settings{Name: key}))
	return v.(*gobreaker.CircuitBreaker[any])
}

func makeKeyedGobreaker(testing.TB) keyedCall {
	g := &gobreakerMap{}
	ctx := context.Background()
	return func(key string, work func(context.Context) error) error {
		_, err := g.get(key).Execute(func() (any, error) { return nil, work(ctx) })
		return err
	}
}

// heapInUse returns the live heap after two collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

const idleKeys = 100_000

// BenchmarkKeyedIdle100k creates 100,000 keyed breakers, each used once
// and then idle, and reports the live heap per key (bytes/key) and the
// goroutines per key. The key strings are allocated before the first
// measurement and are not counted: they belong to the caller.
func BenchmarkKeyedIdle100k(b *testing.B) {
	keys := make([]string, idleKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant-%06d", i)
	}
	for _, w := range []struct {
		name string
		cfg  breaker.Config
	}{
		{"resilience-keyed", breaker.Config{}},
		{"resilience-keyed-countwindow", breaker.Config{FailureRate: 0.5}},
		{"resilience-keyed-timewindow", breaker.Config{FailureRate: 0.5, WindowDuration: 10 * time.Second}},
	} {
		b.Run("lib="+w.name, func(b *testing.B) { idleFamily(b, keys, w.cfg) })
	}
	b.Run("lib=gobreaker-map", func(b *testing.B) {
		for b.Loop() {
			h0 := heapInUse()
			g := &gobreakerMap{}
			for _, k := range keys {
				_, _ = g.get(k).Execute(func() (any, error) { return nil, nil })
			}
			h1 := heapInUse()
			b.ReportMetric(float64(h1-h0)/idleKeys, "bytes/key")
			runtime.KeepAlive(g)
		}
	})
}

// idleFamily creates idleKeys keys of a family of breakers configured by
// cfg (one successful call each) and reports the live heap and the
// goroutines per key.
func idleFamily(b *testing.B, keys []string, cfg breaker.Config) {
	ctx := context.Background()
	for b.Loop() {
		g0, h0 := runtime.NumGoroutine(), heapInUse()
		f, err := breaker.NewFamily[string](breaker.FamilyConfig{MaxKeys: idleKeys, IdleTimeout: time.Hour, Breaker: cfg})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			br, err := f.For(k)
			if err != nil {
				b.Fatal(err)
			}
			if err := br.Run(ctx, okWork); err != nil {
				b.Fatal(err)
			}
		}
		h1, g1 := heapInUse(), runtime.NumGoroutine()
		b.ReportMetric(float64(h1-h0)/idleKeys, "bytes/key")
		b.ReportMetric(float64(g1-g0)/idleKeys, "goroutines/key")
		if f.Len() != idleKeys {
			b.Fatalf("family holds %d keys, want %d", f.Len(), idleKeys)
		}
		_ = f.Stop(ctx)
	}
}
