package breaker

import (
	"context"
	"errors"
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

func BenchmarkExecuteClosed(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Execute(ctx, br, ok)
	}
}

func BenchmarkExecuteClosedParallel(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = Execute(ctx, br, ok)
		}
	})
}

func BenchmarkExecuteOpen(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	if err := br.ForceOpen(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Execute(ctx, br, ok)
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

func BenchmarkExecuteMixedParallel(b *testing.B) {
	br := newBench(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			_, _ = Execute(ctx, br, func(context.Context) (int, error) {
				if i%100 == 0 {
					return 0, errBench
				}
				return 1, nil
			})
		}
	})
}
