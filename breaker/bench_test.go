package breaker

import (
	"context"
	"errors"
	"github.com/llm-research-lab/resilience"
	"testing"
)

func newBench(b *testing.B, cfg Config) *Breaker {
	b.Helper()
	br, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Stop(context.Background()) })
	return br
}

func ok(context.Context) (int, error) { return 1, nil }

func BenchmarkDoClosed(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = resilience.Do(ctx, br, ok)
	}
}

func BenchmarkDoClosedParallel(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = resilience.Do(ctx, br, ok)
		}
	})
}

// newOpenBench returns a breaker held open.
func newOpenBench(b *testing.B) *Breaker {
	b.Helper()
	br := newBench(b, Config{})
	if err := br.ForceOpen(context.Background()); err != nil {
		b.Fatal(err)
	}
	return br
}

func BenchmarkDoOpen(b *testing.B) {
	br := newOpenBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = resilience.Do(ctx, br, ok)
	}
}

func BenchmarkAllowClosed(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		done, err := br.Allow(ctx)
		if err == nil {
			done(nil)
		}
	}
}

var errBench = errors.New("bench")

func BenchmarkDoMixedParallel(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			_, _ = resilience.Do(ctx, br, func(context.Context) (int, error) {
				if i%100 == 0 {
					return 0, errBench
				}
				return 1, nil
			})
		}
	})
}

func okCall(context.Context) error { return nil }

// BenchmarkCallClosed and BenchmarkFamilyCallHot compare a plain closed
// call with the same call through a keyed family of 16 hot string keys.
func BenchmarkCallClosed(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = br.Run(ctx, okCall)
	}
}

func BenchmarkFamilyCallHot(b *testing.B) {
	f, err := NewFamily[string](FamilyConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Stop(context.Background()) })
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = "host-" + string(rune('a'+i)) + ".example.com"
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = keyRun(ctx, f, keys[i&15], okCall)
	}
}

func BenchmarkCallOpen(b *testing.B) {
	br := newOpenBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = br.Run(ctx, okCall)
	}
}
