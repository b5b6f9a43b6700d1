package limit

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
)

// cell is one key's bucket: its theoretical arrival time, as in [Rate].
type cell struct{ tat atomic.Int64 }

// shard is one part of a keyed limiter's key table. Lookups take the read
// lock; inserting and sweeping take the write lock. A cell is taken out of
// the map only once marked evictedCell, so a caller holding it notices.
type shard[K comparable] struct {
	mu     sync.RWMutex
	m      map[K]*cell
	swept  int   // len(m) after the last sweep; under mu
	fullAt int64 // no bucket in m is full before this, ns since epoch; under mu
	last   atomic.Pointer[refusal]
	_      [64]byte // keeps neighbouring shards' locks off one cache line
}

// load returns key's cell, or nil.
func (s *shard[K]) load(key K) *cell {
	s.mu.RLock()
	c := s.m[key]
	s.mu.RUnlock()
	return c
}

// refusal returns the refusal whose Until is next, reusing the shard's
// last one: a key refused over and over keeps its next permit time.
func (s *shard[K]) refusal(k *Keyed[K], next int64) error {
	if last := s.last.Load(); last != nil && last.next == next {
		return last.err
	}
	e := &resilience.RejectedError{Name: k.name, Reason: ErrLimited, Until: k.epoch.Add(time.Duration(next))}
	s.last.Store(&refusal{next: next, err: e})
	return e
}

// insert returns key's cell, adding an empty one (a full bucket) if key
// is absent. A shard that has doubled since its last sweep is swept first,
// so the sweeps cost O(1) per new key; a table at MaxKeys makes room.
func (k *Keyed[K]) insert(s *shard[K], key K, now int64) (*cell, error) {
	if k.keys.Load() >= k.maxKeys {
		k.makeRoom(now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[key]; c != nil {
		return c, nil
	}
	if len(s.m) >= max(8, 2*s.swept) {
		k.sweep(s, now-k.idle)
	}
	if !k.reserveKey() {
		k.refused.Add(1)
		return nil, k.full
	}
	c := new(cell)
	s.m[key] = c
	s.fullAt = min(s.fullAt, now+k.interval) // its bucket is full again after its first call
	return c, nil
}

// reserveKey counts one more key, unless MaxKeys are held.
func (k *Keyed[K]) reserveKey() bool {
	for {
		n := k.keys.Load()
		if n >= k.maxKeys {
			return false
		}
		if k.keys.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// sweep evicts the buckets of s that were full at cutoff (ns since
// epoch), if any can be. The caller holds s.mu.
func (k *Keyed[K]) sweep(s *shard[K], cutoff int64) {
	if cutoff >= s.fullAt {
		next := int64(math.MaxInt64)
		for key, c := range s.m {
			tat := c.tat.Load()
			if tat <= cutoff && c.tat.CompareAndSwap(tat, evictedCell) {
				delete(s.m, key)
				k.keys.Add(-1)
				k.evicted.Add(1)
				continue
			}
			next = min(next, c.tat.Load())
		}
		s.fullAt = next
	}
	s.swept = len(s.m)
}

// makeRoom sweeps every full bucket out of shards, one at a time and
// starting where the last call stopped, until the table is below MaxKeys
// or every shard was tried. A shard with no bucket full yet is skipped
// without a scan.
func (k *Keyed[K]) makeRoom(now int64) {
	start := k.cursor.Add(1)
	for i := range uint32(keyedShards) {
		if k.keys.Load() < k.maxKeys {
			return
		}
		s := &k.shards[(start+i)&(keyedShards-1)]
		s.mu.Lock()
		k.sweep(s, now)
		s.mu.Unlock()
	}
}
