package breaker

import (
	"sync/atomic"
	"unsafe"
)

// shard holds one stripe of the lifetime counters, padded to 128 bytes
// (two cache lines, as sync.Pool pads its per-P locals) so that goroutines
// counting in neighbouring shards never write the same line, nor lines the
// adjacent-line prefetcher pairs. Readers sum all shards.
type shard struct {
	successes        atomic.Uint64
	failures         atomic.Uint64
	ignored          atomic.Uint64
	slow             atomic.Uint64
	rejectedOpen     atomic.Uint64
	rejectedHalfOpen atomic.Uint64
	_                [128 - 6*8]byte
}

// shards is a power-of-two set of counter shards.
type shards struct {
	s     []shard
	shift uint8 // 64 - log2(len(s))
}

func newShards(n int) shards {
	shift := uint8(64)
	for k := n; k > 1; k >>= 1 {
		shift--
	}
	return shards{s: make([]shard, n), shift: shift}
}

// pick returns the calling goroutine's shard. The standard library offers
// no cheap processor or goroutine id, so it hashes the address of a
// variable on the caller's stack: goroutines have distinct stacks, so one
// goroutine keeps using one shard (until its stack moves) and concurrent
// goroutines spread over the shards. The pointer is only hashed, never
// turned back into a pointer.
func (sh *shards) pick() *shard {
	var probe byte
	h := uint64(uintptr(unsafe.Pointer(&probe))>>10) * 0x9E3779B97F4A7C15
	return &sh.s[(h>>sh.shift)&uint64(len(sh.s)-1)]
}

// counts is a sum over the shards.
type counts struct {
	successes, failures, ignored, slow, rejectedOpen, rejectedHalfOpen uint64
}

func (sh *shards) sum() counts {
	var c counts
	for i := range sh.s {
		s := &sh.s[i]
		c.successes += s.successes.Load()
		c.failures += s.failures.Load()
		c.ignored += s.ignored.Load()
		c.slow += s.slow.Load()
		c.rejectedOpen += s.rejectedOpen.Load()
		c.rejectedHalfOpen += s.rejectedHalfOpen.Load()
	}
	return c
}

// totals returns the running call and failure counts for the windows.
func (sh *shards) totals() totals {
	var t totals
	for i := range sh.s {
		s := &sh.s[i]
		f := s.failures.Load()
		t.failures += f
		t.calls += f + s.successes.Load()
	}
	return t
}
