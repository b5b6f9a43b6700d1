package limit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/gate"
)

// Defaults of a zero KeyedConfig.
const (
	defaultMaxKeys     = 100_000
	defaultIdleTimeout = time.Minute
)

// KeyedConfig configures [NewKeyed].
type KeyedConfig struct {
	// Rate is the rate and burst of every key; Rate.PerSecond is required.
	// Rate.Name names the limiter in its refusals.
	Rate Config
	// MaxKeys caps the keys held at once. A new key beyond it first evicts
	// keys whose bucket is full, however recently used, and is refused
	// with [resilience.ErrFull] if none is. 0 means 100,000; negative is
	// rejected.
	MaxKeys int
	// IdleTimeout is how long a key goes unused before new keys sweep it
	// out. Its bucket is full by then, so the key loses nothing; the
	// timeout only saves re-creating keys that come back soon. 0 means 1
	// minute; negative is rejected.
	IdleTimeout time.Duration
}

// Keyed is a set of rate limiters, one bucket per key (a tenant, a client
// address, an API token), all with the same rate and burst. It is safe for
// concurrent use; create it with [NewKeyed]. Most callers call
// [Keyed.Allow] with the key of each request; [Keyed.For] gives a
// [resilience.Gate] for a Pipeline's Limiter slot.
//
// A key costs one map entry and one 8-byte cell, no goroutine and no
// timer. A key whose bucket is full (unused for Burst/PerSecond seconds)
// is indistinguishable from a key never seen, so it is evicted without
// losing anything: new keys sweep the keys unused for IdleTimeout out of
// their shard as it grows, and a key table at MaxKeys makes room by
// evicting any full bucket.
// Looking a key up takes a shard's read lock; taking a permit is a
// compare-and-swap, as in [Rate].
type Keyed[K comparable] struct {
	name     string
	interval int64
	tol      int64
	epoch    time.Time
	salt     maphash.Seed
	shards   []shard[K] // len is a power of two
	keys     atomic.Int64
	maxKeys  int64
	idle     int64         // IdleTimeout, ns
	cursor   atomic.Uint32 // the shard makeRoom starts at

	full, stopErr *resilience.RejectedError
	life
	counts           counts
	evicted, refused atomic.Uint64 // keys evicted; new keys refused at MaxKeys
}

// keyedShards is the number of shards: enough that two processors rarely
// share one, few enough that an empty limiter stays small.
const keyedShards = 64

// NewKeyed returns a keyed limiter, or a [*resilience.ConfigError] naming
// the first invalid field.
func NewKeyed[K comparable](cfg KeyedConfig) (*Keyed[K], error) {
	switch {
	case cfg.MaxKeys < 0:
		return nil, &resilience.ConfigError{Field: "limit.KeyedConfig.MaxKeys", Reason: "must not be negative"}
	case cfg.IdleTimeout < 0:
		return nil, &resilience.ConfigError{Field: "limit.KeyedConfig.IdleTimeout", Reason: "must not be negative"}
	}
	r, err := New(cfg.Rate)
	if err != nil {
		var ce *resilience.ConfigError
		if !errors.As(err, &ce) {
			return nil, err
		}
		field := "limit.KeyedConfig.Rate." + strings.TrimPrefix(ce.Field, "limit.Config.")
		return nil, &resilience.ConfigError{Field: field, Reason: ce.Reason}
	}
	k := &Keyed[K]{
		name: cfg.Rate.Name, interval: r.interval, tol: r.tol, epoch: time.Now(),
		salt: maphash.MakeSeed(), shards: make([]shard[K], keyedShards),
		maxKeys: int64(orDefault(cfg.MaxKeys, defaultMaxKeys)),
		idle:    int64(orDefault(int(cfg.IdleTimeout), int(defaultIdleTimeout))),
		full:    &resilience.RejectedError{Name: cfg.Rate.Name, Reason: resilience.ErrFull},
		stopErr: r.stopErr, life: newLife(), counts: newCounts(),
	}
	for i := range k.shards {
		k.shards[i].m = make(map[K]*cell)
	}
	return k, nil
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Allow takes a permit from key's bucket if one is available now, and
// never waits. A call beyond the rate is refused with a
// [*resilience.RejectedError] matching [ErrLimited], whose Until is when
// the key's next permit comes; a new key that finds MaxKeys keys held,
// none of them idle, with one matching [resilience.ErrFull]; after
// [Keyed.Stop], with [resilience.ErrStopped]. A call for a key already
// held does not allocate. Refusals may be shared between callers: treat
// them as read-only.
func (k *Keyed[K]) Allow(_ context.Context, key K) error {
	if k.stopped.Load() {
		return k.stopErr
	}
	now := int64(time.Since(k.epoch))
	s := &k.shards[maphash.Comparable(k.salt, key)&(keyedShards-1)]
	for {
		c := s.load(key)
		if c == nil {
			var err error
			if c, err = k.insert(s, key, now); err != nil {
				return err
			}
		}
		next, ok, evicted := k.take(c, now)
		switch {
		case evicted:
			continue // swept out meanwhile: look again
		case !ok:
			k.counts.stripe().limited.Add(1)
			return s.refusal(k, next)
		}
		k.counts.stripe().allowed.Add(1)
		return nil
	}
}

// take takes a permit from c at now. It reports evicted if c was swept
// out of its shard, and then changes nothing.
func (k *Keyed[K]) take(c *cell, now int64) (next int64, ok, evicted bool) {
	for {
		tat := c.tat.Load()
		if tat == evictedCell {
			return 0, false, true
		}
		next, ok := gcra(tat, now, k.interval, k.tol)
		if !ok || c.tat.CompareAndSwap(tat, next) {
			return next, ok, false
		}
	}
}

// For returns a [resilience.Gate] that admits calls against key's bucket,
// as [Keyed.Allow] does, for a Pipeline's Limiter slot. The gate holds
// the key, not its bucket, so it stays valid however long it is kept; its
// done does nothing, as with [Rate]. For allocates the gate.
func (k *Keyed[K]) For(key K) resilience.Gate { return &keyGate[K]{k: k, key: key} }

// keyGate is the Gate of one key.
type keyGate[K comparable] struct {
	k   *Keyed[K]
	key K
}

// Allow admits a call if key's bucket has a permit now.
func (g *keyGate[K]) Allow(ctx context.Context) (func(error), error) {
	if err := g.k.Allow(ctx, g.key); err != nil {
		return nil, err
	}
	return noop, nil
}

// Run calls fn if key's bucket admits it now.
func (g *keyGate[K]) Run(ctx context.Context, fn func(context.Context) error) error {
	return gate.Run(ctx, g, fn)
}

// evictedCell is the tat of a cell swept out of its shard; no real tat
// comes near it.
const evictedCell = math.MinInt64

// Start makes a stopped limiter admit calls again; on a running one it
// does nothing. It always returns nil.
func (k *Keyed[K]) Start(context.Context) error {
	k.life.start()
	return nil
}

// Stop makes later calls return [resilience.ErrStopped] at once. A keyed
// limiter holds no goroutine, so Stop returns nil at once; it keeps its
// keys, so [Keyed.Start] resumes with every bucket as it was. It is
// idempotent and safe to call while callers keep calling.
func (k *Keyed[K]) Stop(context.Context) error {
	k.life.stop()
	return nil
}

// Done returns a channel closed once the limiter is stopped.
func (k *Keyed[K]) Done() <-chan struct{} { return k.life.doneChan() }

// Err returns nil: a limiter has no failure of its own.
func (k *Keyed[K]) Err() error { return nil }

// KeyedMetrics is a snapshot of a keyed limiter's counters.
type KeyedMetrics struct {
	Metrics        // the rate and burst of each key, and the calls of all keys
	Keys    int    // keys held now
	Evicted uint64 // keys dropped because their bucket was full
	Full    uint64 // calls of new keys refused because MaxKeys keys were busy
}

// Metrics returns the current counters; it does not block calls.
func (k *Keyed[K]) Metrics() KeyedMetrics {
	allowed, limited := k.counts.sum()
	return KeyedMetrics{
		Metrics: Metrics{PerSecond: 1e9 / float64(k.interval), Burst: int(k.tol/k.interval) + 1,
			Allowed: allowed, Limited: limited},
		Keys: int(k.keys.Load()), Evicted: k.evicted.Load(), Full: k.refused.Load(),
	}
}
