package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
)

// hedgeCases are the two shapes of a hedged call:
//
//	primary  the first attempt answers at once, long before the 1s delay:
//	         no hedge starts
//	hedge    the first attempt stalls until it is cancelled; with a delay
//	         of 1ns a hedge starts at once and answers, and the first
//	         attempt is cancelled (a delay the timer has passed by the
//	         time the policy waits on it: a longer one below a
//	         millisecond measures the runtime's timer wake-up, not the
//	         libraries)
//
// Both libraries take the first success as the answer (failsafe-go's
// CancelIf(err == nil); without it, failsafe waits out the delay even
// after a success). The policy and the executor are built once, outside
// the timed loop. failsafe-go returns without waiting for the cancelled
// attempt; resilience's Run waits for it, so no goroutine outlives a call.
var hedgeCases = []struct {
	name  string
	delay time.Duration
	stall bool // the first attempt stalls until cancelled
}{{"primary", time.Second, false}, {"hedge", time.Nanosecond, true}}

func BenchmarkHedge(b *testing.B) {
	for _, c := range hedgeCases {
		b.Run(c.name+"/lib=resilience", func(b *testing.B) {
			h, err := hedge.New(hedge.Config{Delay: c.delay})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			fn := func(ctx context.Context) (int, error) {
				if c.stall && resilience.Attempt(ctx) == 1 {
					<-ctx.Done()
					return 0, ctx.Err()
				}
				return 1, nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if v, err := resilience.Do(ctx, h, fn); err != nil || v != 1 {
					b.Fatal(v, err)
				}
			}
		})
		b.Run(c.name+"/lib=failsafe", func(b *testing.B) {
			hp := hedgepolicy.NewBuilderWithDelay[int](c.delay).
				CancelIf(func(_ int, err error) bool { return err == nil }).Build()
			ex := failsafe.With[int](hp).WithContext(context.Background())
			fn := func(e failsafe.Execution[int]) (int, error) {
				if c.stall && !e.IsHedge() {
					<-e.Canceled()
					return 0, context.Canceled
				}
				return 1, nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if v, err := ex.GetWithExecution(fn); err != nil || v != 1 {
					b.Fatal(v, err)
				}
			}
		})
	}
}
