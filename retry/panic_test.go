package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

var errTrigger = errors.New("makes the callback panic")

// panickySource panics on its first draw, then behaves.
type panickySource struct{ drawn bool }

func (p *panickySource) Uint64() uint64 {
	if !p.drawn {
		p.drawn = true
		panic("Rand")
	}
	return 1
}

// callbackPanics lists configs whose user callback panics when the loop
// decides about errTrigger (Delay and Rand: on their first call).
func callbackPanics() map[string]Config {
	var delayPanicked atomic.Bool
	return map[string]Config{
		"Classify": {Classify: func(err error) resilience.Outcome {
			if errors.Is(err, errTrigger) {
				panic("Classify")
			}
			return resilience.Failure
		}},
		"Delay": {Delay: func(int, time.Duration) time.Duration {
			if !delayPanicked.Swap(true) {
				panic("Delay")
			}
			return time.Millisecond
		}},
		"Rand": {Rand: rand.Source(&panickySource{})},
	}
}

// A panic in a user callback the scheduler's actor runs is that job's
// answer, as a *PanicError with the value and the stack; the scheduler
// keeps serving other jobs and stops cleanly.
func TestSchedulerCallbackPanicIsTheJobsAnswer(t *testing.T) {
	for name, cfg := range callbackPanics() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, cfg, SchedulerConfig{Workers: 2})
				err := <-s.Submit(context.Background(), func(context.Context) error { return errTrigger })
				re := asError(t, err)
				assert.Equal(t, 1, re.Attempts)
				assert.Same(t, errTrigger, re.Last)
				var pe *resilience.PanicError
				require.ErrorAs(t, re.Reason, &pe, "the panic is the stop reason")
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, name, pe.Value)
				assert.Contains(t, string(pe.Stack), "panic", "the stack of the panic")

				for range 3 {
					require.NoError(t, <-s.Submit(context.Background(), func(ctx context.Context) error {
						n := resilience.Attempt(ctx)
						if n == 1 {
							return errBoom
						}
						return nil
					}), "the scheduler keeps retrying other jobs")
				}
				require.NoError(t, s.Stop(context.Background()), "the actor did not fail")
				assert.Zero(t, s.Pending())
			})
		})
	}
}

// On the synchronous path a panic in user code, fn or a callback, is
// raised again in the caller's goroutine with its value.
func TestRunPanicsInTheCallersGoroutine(t *testing.T) {
	for name, cfg := range callbackPanics() {
		cfg.MaxAttempts = 2
		r := mustNew(t, cfg)
		fn := func(context.Context) error { return errTrigger }
		assert.PanicsWithValue(t, name, func() { _ = r.Run(context.Background(), fn) }, "Run, %s", name)
	}
	r := mustNew(t, Config{Delay: zeroDelay})
	assert.PanicsWithValue(t, "fn", func() {
		_ = r.Run(context.Background(), func(ctx context.Context) error {
			n := resilience.Attempt(ctx)
			if n == 2 {
				panic("fn")
			}
			return errBoom
		})
	})
	assert.PanicsWithValue(t, "fn", func() {
		_, _ = resilience.Do(context.Background(), r, func(context.Context) (int, error) { panic("fn") })
	})
	_, err := resilience.Do(context.Background(), r, func(context.Context) (int, error) { return 1, nil })
	assert.NoError(t, err, "the Policy is still usable")
}
