package retry

import (
	"math"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// Allowance bounds the retries a dependency sees: a [Policy] asks Retry
// before every retry (never before a first attempt) and stops, its
// [Error.Reason] a refusal matching [resilience.ErrExhausted], when it
// says false; it calls Done once at the end of every call it ran, ok
// telling whether the call succeeded. Calls minus retries refused is the
// load an Allowance sees, so "retries ≤ 20 % of calls" is a counter of each.
// Both methods run on the caller's goroutine on every call: they must be
// fast, safe for concurrent use and must not block.
type Allowance interface {
	Retry() bool
	Done(ok bool)
}

var _ Allowance = (*Budget)(nil)

// Budget is a token bucket shared by the retry loops calling one
// dependency: every retry (not first attempts) takes a token, every success
// puts a refill back, and a loop finding the bucket empty stops, its
// [Error.Reason] a [*resilience.RejectedError] matching
// [resilience.ErrExhausted]. It bounds the extra load retries add to a failing
// dependency. A Budget is safe for concurrent use; it has no useful zero
// value, use [NewBudget].
type Budget struct {
	left   atomic.Int64 // tokens × unit
	max    int64
	refill int64
}

// NewBudget returns a full budget of tokens tokens, of which every success
// puts refill back; for example NewBudget(10, 0.1): beyond a burst of 10
// retries, a dependency sees at most one retry for every ten successful
// calls. tokens must be between 1 and 1e9, refill between 0 (no refill)
// and tokens, and not below 1e-9 unless 0; otherwise NewBudget returns a
// [*resilience.ConfigError] naming the argument.
func NewBudget(tokens, refill float64) (*Budget, error) {
	switch {
	case math.IsNaN(tokens) || tokens < 1 || tokens > 1e9:
		return nil, budgetError("tokens", "must be between 1 and 1e9")
	case math.IsNaN(refill) || refill < 0 || refill > tokens:
		return nil, budgetError("refill", "must be between 0 and tokens")
	}
	b := &Budget{max: int64(math.Round(tokens * unit)), refill: int64(math.Round(refill * unit))}
	if refill > 0 && b.refill == 0 {
		return nil, budgetError("refill", "must be 0 or at least 1e-9")
	}
	b.left.Store(b.max)
	return b, nil
}

func budgetError(arg, reason string) error {
	return &resilience.ConfigError{Field: "retry.NewBudget." + arg, Reason: reason}
}

// Tokens returns the tokens left.
func (b *Budget) Tokens() float64 { return float64(b.left.Load()) / unit }

// unit is one token in the bucket's fixed-point count: fine enough that
// any Refill down to 1e-9 counts, coarse enough that 1e9 tokens plus a
// refill fit an int64.
const unit = 1e9

// Retry takes one token, reporting false if less than one is left.
func (b *Budget) Retry() bool {
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

// Done puts the refill back after a call that succeeded, up to the
// capacity. A full bucket is only read, so successes on many cores do not
// fight over its cache line.
func (b *Budget) Done(ok bool) {
	for ok {
		cur := b.left.Load()
		if cur >= b.max {
			return
		}
		if b.left.CompareAndSwap(cur, min(cur+b.refill, b.max)) {
			return
		}
	}
}
