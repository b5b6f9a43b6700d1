package deadline

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Adaptive configures a limit derived from observed latency: the
// Percentile of the last Window observations, times Factor, kept within
// [Min, Max]. Until a tenth of the window has been observed the limit is
// Max. Zero fields mean the defaults below; Max is required.
type Adaptive struct {
	Percentile float64       // in (0, 1]; default 0.99
	Factor     float64       // at least 1; default 2
	Min        time.Duration // the lowest limit it may derive; default 1ms
	Max        time.Duration // the highest, and the limit before enough observations; required
	Window     int           // observations kept; default 1000
}

func (a Adaptive) withDefaults() (Adaptive, error) {
	if a.Percentile == 0 {
		a.Percentile = 0.99
	}
	if a.Factor == 0 {
		a.Factor = 2
	}
	if a.Min == 0 {
		a.Min = time.Millisecond
	}
	if a.Window == 0 {
		a.Window = 1000
	}
	switch {
	case !(a.Percentile > 0 && a.Percentile <= 1):
		return a, &resilience.ConfigError{Field: "deadline.Adaptive.Percentile", Reason: fmt.Sprintf("must be in (0, 1], got %v", a.Percentile)}
	case !(a.Factor >= 1) || math.IsInf(a.Factor, 1):
		return a, &resilience.ConfigError{Field: "deadline.Adaptive.Factor", Reason: fmt.Sprintf("must be a finite number >= 1, got %v", a.Factor)}
	case a.Min < 0:
		return a, &resilience.ConfigError{Field: "deadline.Adaptive.Min", Reason: "must not be negative, got " + a.Min.String()}
	case a.Max < a.Min || a.Max <= 0:
		return a, &resilience.ConfigError{Field: "deadline.Adaptive.Max", Reason: "must be positive and at least Min, got " + a.Max.String()}
	case a.Window < 0:
		return a, &resilience.ConfigError{Field: "deadline.Adaptive.Window", Reason: fmt.Sprintf("must not be negative, got %d", a.Window)}
	}
	return a, nil
}

// Derive returns the limit a's rule gives for the observed latencies (in
// any order; it sorts a copy): the Percentile-th smallest times Factor,
// within [Min, Max]. With no observations it returns Max.
func (a Adaptive) Derive(observed []time.Duration) time.Duration {
	if len(observed) == 0 {
		return a.Max
	}
	sorted := slices.Sorted(slices.Values(observed))
	i := int(math.Ceil(a.Percentile*float64(len(sorted)))) - 1
	v := float64(sorted[max(i, 0)]) * a.Factor
	if v >= float64(a.Max) {
		return a.Max
	}
	return max(time.Duration(v), a.Min)
}

// adaptive is the state of one adaptive table entry.
type adaptive struct {
	cfg   Adaptive
	limit atomic.Int64 // the current limit, read by lookups

	mu    sync.Mutex
	ring  []time.Duration
	next  int // where the next observation goes
	full  bool
	since int // observations since the limit was last derived
}

func newAdaptive(cfg Adaptive) *adaptive {
	a := &adaptive{cfg: cfg, ring: make([]time.Duration, cfg.Window)}
	a.limit.Store(int64(cfg.Max))
	return a
}

func (a *adaptive) current() time.Duration { return time.Duration(a.limit.Load()) }

// observe records one latency and re-derives the limit every tenth of a
// window, once a tenth of a window has been seen.
func (a *adaptive) observe(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ring[a.next] = d
	a.next++
	if a.next == len(a.ring) {
		a.next, a.full = 0, true
	}
	a.since++
	step := max(len(a.ring)/10, 1)
	if a.since < step {
		return
	}
	a.since = 0
	seen := a.ring[:a.next]
	if a.full {
		seen = a.ring
	}
	a.limit.Store(int64(a.cfg.Derive(seen)))
}

// SetAdaptive makes op's limit adaptive, starting at cfg.Max. Its
// observations come from [Table.Observe] (the [Middleware] records every
// request of an adaptive route; other callers record their own calls).
// An invalid cfg is refused with a [*resilience.ConfigError].
func (t *Table) SetAdaptive(op string, cfg Adaptive) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	t.update(func(l *limits) { l.ops[op] = entry{ad: newAdaptive(cfg)} })
	return nil
}

// Observe records that op took d. It does nothing unless op's limit is
// adaptive. A call that ran out of time should be observed at its limit
// (a lower bound of its real latency).
func (t *Table) Observe(op string, d time.Duration) {
	if _, ad := t.lookup(op); ad != nil {
		ad.observe(d)
	}
}
