package retry

import (
	"context"
	"testing"
	"time"

	"github.com/llm-research-lab/resilience"
)

func BenchmarkRunFirstSuccess(b *testing.B) {
	r := mustNew(b, Config{})
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRunFirstSuccessParallel(b *testing.B) {
	r := mustNew(b, Config{})
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Run(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRunTwoFailures(b *testing.B) {
	r := mustNew(b, Config{Delay: zeroDelay})
	ctx := context.Background()
	fn := func(ctx context.Context) error {
		if resilience.Attempt(ctx) < 3 {
			return errBoom
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDelay(b *testing.B) {
	for _, j := range []Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter} {
		b.Run(j.String(), func(b *testing.B) {
			r := mustNew(b, Config{Jitter: j})
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = n%10 + 1
				r.Delay(n, nil, 200*time.Millisecond)
			}
		})
	}
}
