package deadline

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
)

// defaultTimeout is the default limit of a [Table] that has not been given
// one.
const defaultTimeout = 30 * time.Second

// Table holds the limit of each operation: a default plus overrides by
// operation name. Lookups ([Table.Limit]) read an immutable snapshot with
// one atomic load and allocate nothing; changes copy the snapshot and
// publish the copy, so they are meant to be rare (configuration, not
// traffic).
//
// The zero Table is ready to use: every operation gets 30 seconds.
// A Table is safe for concurrent use and must not be copied after first use.
type Table struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[limits]
}

type limits struct {
	def time.Duration
	ops map[string]entry
}

// entry is one operation's override: a fixed limit, or an adaptive one.
type entry struct {
	d  time.Duration
	ad *adaptive
}

var defaultLimits = &limits{def: defaultTimeout}

// NewTable returns a Table with the default limit def (0 means 30 seconds)
// and the given overrides, which it copies. Negative durations, and zero
// overrides, are refused with a [*resilience.ConfigError] naming the entry.
func NewTable(def time.Duration, overrides map[string]time.Duration) (*Table, error) {
	if def == 0 {
		def = defaultTimeout
	}
	if def < 0 {
		return nil, &resilience.ConfigError{Field: "deadline.Table.Default", Reason: "must be positive, got " + def.String()}
	}
	for op, d := range overrides {
		if err := checkOverride(op, d); err != nil {
			return nil, err
		}
	}
	ops := make(map[string]entry, len(overrides))
	for op, d := range overrides {
		ops[op] = entry{d: d}
	}
	t := &Table{}
	t.snap.Store(&limits{def: def, ops: ops})
	return t, nil
}

func checkOverride(op string, d time.Duration) error {
	if d <= 0 {
		return &resilience.ConfigError{Field: "deadline.Table[" + strconv.Quote(op) + "]", Reason: "must be positive, got " + d.String()}
	}
	return nil
}

func (t *Table) load() *limits {
	if l := t.snap.Load(); l != nil {
		return l
	}
	return defaultLimits
}

// Limit returns the limit for op: its override if it has one, the default
// otherwise. It allocates nothing. Use it with the op's name as a
// Pipeline's Name:
//
//	p := &resilience.Pipeline{Name: op, Timeout: tbl.Limit(op)}
func (t *Table) Limit(op string) time.Duration {
	d, _ := t.lookup(op)
	return d
}

// lookup returns op's limit and, if it is adaptive, its state.
func (t *Table) lookup(op string) (time.Duration, *adaptive) {
	l := t.load()
	e, ok := l.ops[op]
	switch {
	case !ok:
		return l.def, nil
	case e.ad != nil:
		return e.ad.current(), e.ad
	}
	return e.d, nil
}

// Default returns the limit of operations without an override.
func (t *Table) Default() time.Duration { return t.load().def }

// Set gives op its own limit d, which must be positive.
func (t *Table) Set(op string, d time.Duration) error {
	if err := checkOverride(op, d); err != nil {
		return err
	}
	t.update(func(l *limits) { l.ops[op] = entry{d: d} })
	return nil
}

// Delete removes op's override, so op gets the default again.
func (t *Table) Delete(op string) {
	t.update(func(l *limits) { delete(l.ops, op) })
}

// SetDefault changes the default limit; d must be positive.
func (t *Table) SetDefault(d time.Duration) error {
	if d <= 0 {
		return &resilience.ConfigError{Field: "deadline.Table.Default", Reason: "must be positive, got " + d.String()}
	}
	t.update(func(l *limits) { l.def = d })
	return nil
}

// update publishes a modified copy of the current snapshot.
func (t *Table) update(change func(*limits)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.load()
	l := &limits{def: old.def, ops: maps.Clone(old.ops)}
	if l.ops == nil {
		l.ops = make(map[string]entry)
	}
	change(l)
	t.snap.Store(l)
}
