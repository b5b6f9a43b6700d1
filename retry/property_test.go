package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/llm-research-lab/resilience"
)

// TestDoProperties runs random configurations against random failure
// patterns and deadlines on virtual time, and checks the loop's invariants.
func TestDoProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := Config{
			MaxAttempts:  rapid.IntRange(1, 12).Draw(rt, "attempts"),
			InitialDelay: time.Duration(rapid.Int64Range(1, int64(time.Second)).Draw(rt, "initial")),
			Backoff:      Backoff(rapid.IntRange(0, 3).Draw(rt, "backoff")),
			Jitter:       Jitter(rapid.IntRange(0, 4).Draw(rt, "jitter")),
			Multiplier:   rapid.Float64Range(1, 10).Draw(rt, "mult"),
		}
		cfg.MaxDelay = cfg.InitialDelay * time.Duration(rapid.Int64Range(1, 100).Draw(rt, "maxFactor"))
		if cfg.Jitter == ProportionalJitter {
			cfg.JitterFactor = rapid.Float64Range(0, 1).Draw(rt, "factor")
		}
		cfg.MaxElapsed = time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(rt, "maxElapsed"))
		fails := rapid.SliceOfN(rapid.Bool(), 12, 12).Draw(rt, "fails")
		timeout := time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(rt, "timeout"))
		synctest.Test(t, func(t *testing.T) {
			events := make(chan Event, 12)
			cfg.Events = events
			r, err := New(cfg)
			if err != nil {
				rt.Fatalf("valid config refused: %v", err)
			}
			ctx := context.Background()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			calls := 0
			start := time.Now()
			err = r.Run(ctx, func(ctx context.Context) error {
				n := resilience.Attempt(ctx)
				calls++
				if n != calls {
					rt.Fatalf("attempt %d reported as %d", calls, n)
				}
				if fails[n-1] {
					return errBoom
				}
				return nil
			})
			close(events)
			var waits []time.Duration
			for e := range events {
				waits = append(waits, e.Delay)
			}
			var total time.Duration
			for _, w := range waits {
				if w < 0 || w > cfg.MaxDelay {
					rt.Fatalf("wait %v outside [0, %v]", w, cfg.MaxDelay)
				}
				total += w
			}
			if got := time.Since(start); got != total {
				rt.Fatalf("slept %v, events announced %v", got, total)
			}
			if timeout > 0 && total >= timeout {
				rt.Fatalf("slept %v into a %v deadline", total, timeout)
			}
			if cfg.MaxElapsed > 0 && total > cfg.MaxElapsed {
				rt.Fatalf("slept %v past MaxElapsed %v", total, cfg.MaxElapsed)
			}
			if calls > cfg.MaxAttempts || len(waits) != calls-1 {
				rt.Fatalf("%d calls, %d waits, max %d", calls, len(waits), cfg.MaxAttempts)
			}
			if err == nil {
				if fails[calls-1] {
					rt.Fatalf("success reported after a failed attempt")
				}
				return
			}
			var re *Error
			if !errors.As(err, &re) || re.Attempts != calls || len(re.Errors) != min(calls, keptLast+1) {
				rt.Fatalf("bad error %v after %d calls", err, calls)
			}
			switch re.Reason {
			case resilience.ErrExhausted:
				if calls != cfg.MaxAttempts {
					rt.Fatalf("exhausted after %d of %d", calls, cfg.MaxAttempts)
				}
			case context.DeadlineExceeded:
				if timeout == 0 {
					rt.Fatalf("deadline stop without a deadline")
				}
			case errElapsed:
				if cfg.MaxElapsed == 0 || calls == cfg.MaxAttempts {
					rt.Fatalf("elapsed stop after %d of %d calls, MaxElapsed %v", calls, cfg.MaxAttempts, cfg.MaxElapsed)
				}
			default:
				rt.Fatalf("unexpected reason %v", re.Reason)
			}
		})
	})
}
