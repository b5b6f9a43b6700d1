package retry

import (
	"sync"
	"testing"

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
				if b.spend() {
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
	b.deposit()
	assert.Equal(t, 0.5, b.Tokens())
}
