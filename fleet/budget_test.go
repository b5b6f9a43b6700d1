package fleet

import (
	"testing"
	"time"

	"github.com/llm-research-lab/resilience/fleet/internal/redistest"
)

// TestFleetBudgetPoolsRetries: replica A makes 1000 calls and no retry;
// replica B makes none, yet may retry on the fleet's credit, and the
// fleet's retries stay within ratio × calls + 10 per replica.
func TestFleetBudgetPoolsRetries(t *testing.T) {
	srv := redistest.Start(t)
	cfg := fastConfig()
	cfg.Window = 10 * time.Second
	cfg.QuietInterval = 100 * time.Millisecond
	var budgets []*Budget
	for range 2 {
		b, err := newAgent(t, srv, cfg).Budget("search", 0.1)
		if err != nil {
			t.Fatal(err)
		}
		budgets = append(budgets, b)
	}
	a, b := budgets[0], budgets[1]
	for range 1000 {
		a.Done(true)
	}
	retries := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for b.Retry() {
			retries++
		}
	}
	const bound = 0.1*1000 + startRetries*2
	t.Logf("replica B retried %d times on A's calls (bound %v)", retries, bound)
	if retries <= startRetries || retries > bound {
		t.Fatalf("B retried %d times, want more than %d (its own start) and at most %v", retries, startRetries, bound)
	}
}
