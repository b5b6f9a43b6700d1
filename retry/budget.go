package retry

import (
	"math"
	"sync/atomic"
)

// BudgetConfig configures [NewBudget]. Zero fields mean the defaults: 10
// tokens, 0.1 token back per success, so that beyond a burst of 10 retries
// a dependency sees at most one retry for every ten successful calls.
type BudgetConfig struct {
	// Tokens is the bucket's capacity and initial content. Default 10;
	// NaN, Inf, values below 1 or above 1e9 are rejected.
	Tokens float64
	// Refill is the number of tokens a success puts back. Default 0.1;
	// NaN, Inf, negative values or values above Tokens are rejected.
	Refill float64
}

// Budget is a token bucket shared by the retry loops calling one
// dependency: every retry (not first attempts) takes a token, every success
// puts Refill back, and a loop finding the bucket empty stops with
// [CauseBudget]. It bounds the extra load retries add to a failing
// dependency. A Budget is safe for concurrent use; it has no useful zero
// value, use [NewBudget].
type Budget struct {
	left   atomic.Int64 // tokens × unit
	max    int64
	refill int64
}

// NewBudget returns a full budget, or a [*ConfigError] naming the invalid
// field.
func NewBudget(cfg BudgetConfig) (*Budget, error) {
	if cfg.Tokens == 0 {
		cfg.Tokens = 10
	}
	if cfg.Refill == 0 {
		cfg.Refill = 0.1
	}
	switch {
	case math.IsNaN(cfg.Tokens) || cfg.Tokens < 1 || cfg.Tokens > 1e9:
		return nil, &ConfigError{"Tokens", "must be between 1 and 1e9"}
	case math.IsNaN(cfg.Refill) || cfg.Refill < 0 || cfg.Refill > cfg.Tokens:
		return nil, &ConfigError{"Refill", "must be between 0 and Tokens"}
	}
	b := &Budget{max: int64(math.Round(cfg.Tokens * unit)), refill: int64(math.Round(cfg.Refill * unit))}
	if cfg.Refill > 0 && b.refill == 0 {
		return nil, &ConfigError{"Refill", "must be 0 or at least 1e-9"}
	}
	b.left.Store(b.max)
	return b, nil
}

// Tokens returns the tokens left.
func (b *Budget) Tokens() float64 { return float64(b.left.Load()) / unit }

// unit is one token in the bucket's fixed-point count: fine enough that
// any Refill down to 1e-9 counts, coarse enough that 1e9 tokens plus a
// refill fit an int64.
const unit = 1e9

// spend takes one token, reporting false if less than one is left.
func (b *Budget) spend() bool {
	for {
		cur := b.left.Load()
		if cur < unit {
			return false
		}
		if b.left.CompareAndSwap(cur, cur-unit) {
			return true
		}
	}
}

// deposit puts Refill back, up to the capacity. A full bucket is only
// read, so successes on many cores do not fight over its cache line.
func (b *Budget) deposit() {
	for {
		cur := b.left.Load()
		if cur >= b.max {
			return
		}
		if b.left.CompareAndSwap(cur, min(cur+b.refill, b.max)) {
			return
		}
	}
}
