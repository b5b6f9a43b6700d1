package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
		"Delay": {Delay: func(int, error, time.Duration) time.Duration {
			if !delayPanicked.Swap(true) {
				panic("Delay")
			}
			return time.Millisecond
		}},
		"Rand": {Rand: rand.Source(&panickySource{})},
		"AttemptsFor": {AttemptsFor: func(err error) int {
			if errors.Is(err, errTrigger) {
				panic("AttemptsFor")
			}
			return 0
		}},
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
