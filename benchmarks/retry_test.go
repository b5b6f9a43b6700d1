package benchmarks

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	retrygo "github.com/avast/retry-go/v4"
	backoff "github.com/cenkalti/backoff/v5"
	eapache "github.com/eapache/go-resiliency/retrier"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/retry"
)

// Method: every library is configured for 5 attempts and, in
// TwoFailures, zero delay between them; Retriers, executors and option
// lists are built once outside the timed loop, as a service would. Each
// op is one retried call: FirstSuccess succeeds at once, TwoFailures fails
// twice and then succeeds.

var errRetryBoom = errors.New("boom")

func retryZeroDelay() *retry.Policy {
	r, err := retry.New(retry.Config{MaxAttempts: 5, Backoff: retry.Immediate})
	if err != nil {
		panic(err)
	}
	return r
}

// retryLib is one library's timed loop: it calls op (which it receives
// built so that op succeeds on attempt okAt) until the loop ends.
type retryLib struct {
	name string
	loop func(b *testing.B, okAt int)
}

// retryOp returns a func() error that fails until call okAt, and its reset.
func retryOp(okAt int) (op func() error, reset func()) {
	n := 0
	return func() error {
			if n++; n < okAt {
				return errRetryBoom
			}
			return nil
		}, func() {
			n = 0
		}
}

func retryLibs() []retryLib {
	return []retryLib{
		{"resilience", func(b *testing.B, okAt int) {
			// The policy's own verb, for a function that returns only an
			// error, as every peer's op here does.
			r, ctx := retryZeroDelay(), context.Background()
			fn := func(ctx context.Context) error {
				if resilience.Attempt(ctx) < okAt {
					return errRetryBoom
				}
				return nil
			}
			for b.Loop() {
				if err := r.Run(ctx, fn); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"resilience-do", func(b *testing.B, okAt int) {
			// The typed verb: resilience.Do returns a value too, at the cost
			// of one closure per call for a policy that is not a Gate.
			r, ctx := retryZeroDelay(), context.Background()
			fn := func(ctx context.Context) (struct{}, error) {
				if resilience.Attempt(ctx) < okAt {
					return struct{}{}, errRetryBoom
				}
				return struct{}{}, nil
			}
			for b.Loop() {
				if _, err := resilience.Do(ctx, r, fn); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"backoff", func(b *testing.B, okAt int) {
			ctx := context.Background()
			op, reset := retryOp(okAt)
			opts := []backoff.RetryOption{backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(5)}
			fn := func() (struct{}, error) { return struct{}{}, op() }
			for b.Loop() {
				reset()
				if _, err := backoff.Retry(ctx, fn, opts...); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"retrygo", func(b *testing.B, okAt int) {
			op, reset := retryOp(okAt)
			opts := []retrygo.Option{retrygo.Attempts(5), retrygo.Delay(0), retrygo.DelayType(retrygo.FixedDelay)}
			for b.Loop() {
				reset()
				if err := retrygo.Do(op, opts...); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"failsafe", func(b *testing.B, okAt int) {
			op, reset := retryOp(okAt)
			exec := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(5).Build())
			for b.Loop() {
				reset()
				if err := exec.Run(op); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"eapache", func(b *testing.B, okAt int) {
			op, reset := retryOp(okAt)
			r := eapache.New(eapache.ConstantBackoff(4, 0), nil)
			for b.Loop() {
				reset()
				if err := r.Run(op); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
}

// BenchmarkRetryFirstSuccess: the call succeeds on its first attempt, the
// common case, which a retry wrapper should make nearly free.
func BenchmarkRetryFirstSuccess(b *testing.B) {
	for _, lib := range retryLibs() {
		b.Run("lib="+lib.name, func(b *testing.B) {
			b.ReportAllocs()
			lib.loop(b, 1)
		})
	}
}

// BenchmarkRetryTwoFailures: the call fails twice, then succeeds, with no
// delay between attempts, so the loop's own overhead is what is measured.
func BenchmarkRetryTwoFailures(b *testing.B) {
	for _, lib := range retryLibs() {
		b.Run("lib="+lib.name, func(b *testing.B) {
			b.ReportAllocs()
			lib.loop(b, 3)
		})
	}
}

const retryPendingJobs = 100_000

// BenchmarkRetryPendingMemory measures what 100,000 retries waiting for
// their next attempt cost: as timer entries in a bulkhead, the jobs given
// to resilience.Submit through a Pipeline with the retry policy
// (lib=submit), or as goroutines sleeping in Policy.Run (lib=goroutines).
// Both deliver the outcomes on one channel with room for all of them, as
// Submit is meant to be used. The metric is the growth of heap plus goroutine stacks, after GC,
// divided by the number of waiting retries. Run with -benchtime 1x.
func BenchmarkRetryPendingMemory(b *testing.B) {
	r, err := retry.New(retry.Config{InitialDelay: time.Hour, MaxDelay: time.Hour, Jitter: retry.NoJitter})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lib=submit", func(b *testing.B) {
		var total float64
		for b.Loop() {
			total += retrySubmitPending(b, r)
		}
		b.ReportMetric(total/float64(b.N), "bytes/pending")
	})
	b.Run("lib=goroutines", func(b *testing.B) {
		var total float64
		for b.Loop() {
			total += retryGoroutinesPending(b, r)
		}
		b.ReportMetric(total/float64(b.N), "bytes/pending")
	})
}

func retrySubmitPending(b *testing.B, r *retry.Policy) float64 {
	bh, err := bulkhead.New(bulkhead.Config{MaxQueue: retryPendingJobs})
	if err != nil {
		b.Fatal(err)
	}
	p := &resilience.Pipeline{Retry: r, Bulkhead: bh}
	var calls atomic.Int64
	fn := func(context.Context) (struct{}, error) { calls.Add(1); return struct{}{}, errRetryBoom }
	before := retryLiveBytes()
	out := make(chan resilience.Result[struct{}], retryPendingJobs)
	for range retryPendingJobs {
		if err := resilience.Submit(context.Background(), p, fn, out); err != nil {
			b.Fatal(err)
		}
	}
	retryWaitCalls(&calls)
	for bh.Metrics().Delayed != retryPendingJobs { // first attempts made, all now waiting
		time.Sleep(time.Millisecond)
	}
	per := float64(retryLiveBytes()-before) / retryPendingJobs
	if err := bh.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
	for range retryPendingJobs {
		if res := <-out; !errors.Is(res.Err, resilience.ErrStopped) {
			b.Fatalf("answer %v, want ErrStopped", res.Err)
		}
	}
	return per
}

func retryGoroutinesPending(b *testing.B, r *retry.Policy) float64 {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	fn := func(context.Context) error { calls.Add(1); return errRetryBoom }
	before := retryLiveBytes()
	out := make(chan error, retryPendingJobs)
	for range retryPendingJobs {
		go func() { out <- r.Run(ctx, fn) }()
	}
	retryWaitCalls(&calls)
	time.Sleep(100 * time.Millisecond) // let the last ones park in their sleep
	per := float64(retryLiveBytes()-before) / retryPendingJobs
	cancel()
	for range retryPendingJobs {
		if err := <-out; err == nil {
			b.Fatal("a retry loop succeeded")
		}
	}
	return per
}

func retryWaitCalls(calls *atomic.Int64) {
	for calls.Load() < retryPendingJobs {
		time.Sleep(time.Millisecond)
	}
}

// retryLiveBytes is the heap in use plus goroutine stacks, after two GCs.
func retryLiveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}
