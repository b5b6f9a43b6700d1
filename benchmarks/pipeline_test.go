package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

// BenchmarkPipeline runs one call through a breaker, a retry policy and a
// total timeout, composed by each library in the same order (timeout
// outermost, then retry, then the breaker), with zero delay between
// attempts:
//
//	success  the first attempt succeeds
//	retry    the first attempt fails, the second succeeds
//
// What a service builds once (the pipeline, the executor) is built outside
// the timed loop.
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		name  string
		fails int
	}{{"success", 0}, {"retry", 1}} {
		b.Run(c.name+"/lib=resilience", func(b *testing.B) {
			p := newPipeline(b)
			ctx := context.Background()
			op, reset := failingOp(c.fails)
			b.ReportAllocs()
			for b.Loop() {
				reset()
				if err := p.Run(ctx, op); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/lib=failsafe", func(b *testing.B) {
			ex := failsafe.With[any](
				timeout.New[any](time.Second),
				retrypolicy.NewBuilder[any]().WithMaxAttempts(3).WithDelay(0).Build(),
				circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build(),
			).WithContext(context.Background())
			op, reset := failingOp(c.fails)
			b.ReportAllocs()
			for b.Loop() {
				reset()
				if err := ex.RunWithExecution(func(e failsafe.Execution[any]) error { return op(e.Context()) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// newPipeline is the resilience side of BenchmarkPipeline.
func newPipeline(tb testing.TB) *resilience.Pipeline {
	br, err := breaker.New(breaker.Config{Name: "bench", OpenTimeout: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	rp, err := retry.New(retry.Config{MaxAttempts: 3, Backoff: retry.Immediate})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = br.Stop(context.Background()) })
	return &resilience.Pipeline{Name: "bench", Timeout: time.Second, Retry: rp, Breaker: br}
}

// failingOp returns an operation whose first fails calls after each reset
// fail, and reset.
func failingOp(fails int) (op func(context.Context) error, reset func()) {
	n := 0
	return func(context.Context) error {
			if n++; n <= fails {
				return errWork
			}
			return nil
		}, func() {
			n = 0
		}
}

// BenchmarkSubmit hands a job to a bulkhead and waits for its answer on a
// channel, against the bare alternative: a goroutine and a channel per job.
func BenchmarkSubmit(b *testing.B) {
	job := func(context.Context) (int, error) { return 1, nil }
	b.Run("lib=resilience", func(b *testing.B) {
		bh, err := bulkhead.New(bulkhead.Config{MaxConcurrent: 4, MaxQueue: 1024})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = bh.Stop(context.Background()) }()
		out := make(chan resilience.Result[int], 1)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := resilience.Submit(ctx, bh, job, out); err != nil {
				b.Fatal(err)
			}
			if r := <-out; r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	})
	b.Run("lib=goroutine", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			out := make(chan resilience.Result[int], 1)
			go func() {
				v, err := job(ctx)
				out <- resilience.Result[int]{Value: v, Err: err}
			}()
			if r := <-out; r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	})
}
