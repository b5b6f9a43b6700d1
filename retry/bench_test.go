package retry

import (
	"context"
	"testing"
	"time"
)

func BenchmarkDoFirstSuccess(b *testing.B) {
	r := mustNew(b, Config{})
	ctx := context.Background()
	fn := func(context.Context, int) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Do(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDoFirstSuccessParallel(b *testing.B) {
	r := mustNew(b, Config{})
	ctx := context.Background()
	fn := func(context.Context, int) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Do(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDoTwoFailures(b *testing.B) {
	r := mustNew(b, Config{Policy: PolicyFunc(func(int, time.Duration) (time.Duration, bool) { return 0, true })})
	ctx := context.Background()
	fn := func(_ context.Context, n int) error {
		if n < 3 {
			return errBoom
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Do(ctx, fn); err != nil {
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
				r.Delay(n, 200*time.Millisecond)
			}
		})
	}
}

// BenchmarkSchedulerFirstSuccess is the round trip of one job through the
// scheduler: Submit, one attempt on a worker, the answer.
func BenchmarkSchedulerFirstSuccess(b *testing.B) {
	s, err := NewScheduler(mustNew(b, Config{}), SchedulerConfig{Workers: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Stop(context.Background())
	ctx := context.Background()
	fn := func(context.Context, int) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := <-s.Submit(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}
