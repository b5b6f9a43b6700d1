package retry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// An error only the first attempt returned must not classify the final
// outcome: callers branch on errors.Is, and the loop went on past it.
func TestErrorIsSeesOnlyTheLastAttempt(t *testing.T) {
	errFirst := errors.New("first only")
	r := mustNew(t, Config{MaxAttempts: 10, Delay: zeroDelay})
	err := r.Run(context.Background(), func(ctx context.Context) error {
		n := resilience.Attempt(ctx)
		if n == 1 {
			return errFirst
		}
		return errBoom
	})
	re := asError(t, err)
	assert.Equal(t, 10, re.Attempts)
	assert.NotErrorIs(t, err, errFirst, "attempt 1's error does not match the final error")
	assert.ErrorIs(t, err, errBoom, "the last attempt's error does")
	assert.ErrorIs(t, err, resilience.ErrExhausted, "and so does the stop reason")
	assert.Same(t, errFirst, re.Errors[0], "the first error stays readable")
}

// A loop of a million failed attempts keeps nine errors, not a million.
func TestErrorMemoryBounded(t *testing.T) {
	const attempts = 1_000_000
	r := mustNew(t, Config{MaxAttempts: attempts, Delay: zeroDelay})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := r.Run(context.Background(), func(ctx context.Context) error {
		return fmt.Errorf("attempt %d", resilience.Attempt(ctx))
	})
	runtime.GC()
	runtime.ReadMemStats(&after)
	re := asError(t, err)
	assert.Equal(t, attempts, re.Attempts)
	require.Len(t, re.Errors, keptLast+1)
	assert.EqualError(t, re.Errors[0], "attempt 1")
	assert.EqualError(t, re.Errors[1], fmt.Sprintf("attempt %d", attempts-keptLast+1))
	assert.EqualError(t, re.Last, fmt.Sprintf("attempt %d", attempts))
	retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("retained heap after %d attempts: %d bytes", attempts, retained)
	assert.Less(t, retained, int64(1<<20), "an Error's size does not grow with the attempts")
	runtime.KeepAlive(err)
}

func TestErrLogKeepsFirstAndLast(t *testing.T) {
	for _, n := range []int{0, 1, 2, keptLast, keptLast + 1, keptLast + 2, 3*keptLast + 5} {
		var log errLog
		for k := 1; k <= n; k++ {
			log = log.add(fmt.Errorf("%d", k))
		}
		var want []string
		for k := 1; k <= n; k++ {
			if k == 1 || k > n-keptLast {
				want = append(want, fmt.Sprint(k))
			}
		}
		var got []string
		for _, e := range log.kept() {
			got = append(got, e.Error())
		}
		assert.Equal(t, want, got, "n=%d", n)
		if n > 0 {
			assert.Same(t, log.last(), log.kept()[len(log.kept())-1], "the last kept is the last")
		}
	}
}
