package retry

import (
	"context"
	"errors"
	"testing"
)

// A small positive Refill is accepted by NewBudget, so successes must put
// it back: 2000 successes at 0.0005 refill one whole token.
func TestBudgetSmallRefillRefills(t *testing.T) {
	b, err := NewBudget(1, 0.0005)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := New(Config{MaxAttempts: 2, InitialDelay: 1, Budget: b})
	fail := func(context.Context) error { return errTest }
	_ = r.Run(context.Background(), fail) // the one retry spends the only token
	if b.Tokens() != 0 {
		t.Fatalf("tokens after a retry: %v", b.Tokens())
	}
	for range 4000 {
		_ = r.Run(context.Background(), func(context.Context) error { return nil })
	}
	if b.Tokens() != 1 {
		t.Errorf("after 4000 successes at Refill 0.0005 the budget holds %v tokens, want 1", b.Tokens())
	}
}

var errTest = errors.New("boom")
