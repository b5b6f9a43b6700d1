package fleet

import (
	"math"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/retry"
)

var _ retry.Allowance = (*Budget)(nil)

// Budget is a fleet retry budget, a [retry.Allowance] for
// [retry.Config].Budget: across every replica, the retries of one
// dependency stay within Ratio of its calls over the agent's window, plus
// a start of 10 retries per replica. Each call earns Ratio of a retry
// locally at once; each flush (the one that also carries the dependency's
// breaker counts, when it has a fleet breaker) brings back the fleet's
// totals, and the replica's allowance becomes its share of what the fleet
// has left. So a replica whose own calls are few may still retry while
// the fleet as a whole is within its budget. Retry and Done are atomic
// operations and never touch Redis. Create it with [Agent.Budget].
type Budget struct {
	ratio   int64        // retries earned per call, × unit
	tokens  atomic.Int64 // retries this replica may make, × unit
	calls   atomic.Uint64
	retries atomic.Uint64
}

// tokenUnit is one retry in a Budget's fixed-point count.
const tokenUnit = 1 << 20

// startRetries is what each replica may retry before the fleet has
// counted any call.
const startRetries = 10

// Budget returns the fleet retry budget of the dependency name: retries
// at most ratio × calls across the fleet. ratio must be in (0, 1]. Asking
// twice for one name returns the first Budget when ratio is the same.
func (a *Agent) Budget(name string, ratio float64) (*Budget, error) {
	if math.IsNaN(ratio) || ratio <= 0 || ratio > 1 {
		return nil, &resilience.ConfigError{Field: "ratio", Reason: "must be in (0, 1]"}
	}
	if name == "" {
		return nil, &resilience.ConfigError{Field: "name", Reason: "must not be empty"}
	}
	d, err := a.dependency(name)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	units := int64(math.Round(ratio * tokenUnit))
	if d.bud != nil {
		if d.bud.ratio != units {
			return nil, &resilience.ConfigError{Field: "ratio", Reason: "differs from the budget already made for this name"}
		}
		return d.bud, nil
	}
	b := &Budget{ratio: units}
	b.tokens.Store(startRetries * tokenUnit)
	d.bud = b
	return b, nil
}

// Retry takes one retry from the replica's allowance, reporting false
// when less than one is left.
func (b *Budget) Retry() bool {
	b.retries.Add(1) // counted first, so refill never misses a retry it races with
	for {
		cur := b.tokens.Load()
		if cur < tokenUnit {
			b.retries.Add(^uint64(0))
			return false
		}
		if b.tokens.CompareAndSwap(cur, cur-tokenUnit) {
			return true
		}
	}
}

// Done counts a call; it earns Ratio of a retry.
func (b *Budget) Done(bool) {
	b.calls.Add(1)
	b.tokens.Add(b.ratio)
}

// refill sets the allowance from the fleet's window totals: this replica's
// share of ratio × calls − retries, plus what it earned and spent since the
// flush read its counters (sent).
func (b *Budget) refill(active, calls, retries uint64, sent sample) {
	n := int64(max(1, active))
	left := max(0, b.ratio*int64(calls)+tokenUnit*(startRetries*n-int64(retries))) / n
	for {
		// A Retry or Done that changes tokens after this load makes the
		// swap fail; one counted before it is in since.
		old := b.tokens.Load()
		since := int64(b.calls.Load()-sent.budgetCalls)*b.ratio - int64(b.retries.Load()-sent.budgetRetries)*tokenUnit
		if b.tokens.CompareAndSwap(old, left+since) {
			return
		}
	}
}
