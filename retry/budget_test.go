package retry

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/llm-research-lab/resilience"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBudgetConcurrentSpendNeverOverdraws(t *testing.T) {
	b, err := NewBudget(100, 0.5)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	spent := 0
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if b.Retry() {
					mu.Lock()
					spent++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 100, spent, "exactly the capacity can be spent without successes")
	assert.Zero(t, b.Tokens())
	b.Done(true)
	assert.Equal(t, 0.5, b.Tokens())
}

// countingAllowance is an Allowance that refuses every retry after the
// first limit and counts what it was told.
type countingAllowance struct {
	mu               sync.Mutex
	limit            int
	asked, oks, errs int
}

func (a *countingAllowance) Retry() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	return a.asked <= a.limit
}

func (a *countingAllowance) Done(ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok {
		a.oks++
	} else {
		a.errs++
	}
}

func TestAnyAllowanceIsAskedPerRetryAndToldPerCall(t *testing.T) {
	a := &countingAllowance{limit: 1}
	p, err := New(Config{MaxAttempts: 5, Delay: zeroDelay, Budget: a})
	require.NoError(t, err)
	boom := errors.New("boom")

	require.NoError(t, p.Run(context.Background(), func(context.Context) error { return nil }))
	err = p.Run(context.Background(), func(context.Context) error { return boom })
	require.ErrorIs(t, err, resilience.ErrExhausted, "the second retry was refused")
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 2, re.Attempts, "one retry was allowed, the next refused")

	assert.Equal(t, 2, a.asked, "asked before each retry, never before a first attempt")
	assert.Equal(t, 1, a.oks, "told once of the call that succeeded")
	assert.Equal(t, 1, a.errs, "told once of the call that failed")
}
