package breaker

import (
	"sync/atomic"
	"unsafe"
)

// counter names one of the lifetime counters.
type counter uint8

const (
	cSuccess counter = iota
	cFailure
	cIgnored
	cSlow
	cRejectedOpen
	cRejectedHalfOpen
	nCounters
)

// slot holds one stripe of the lifetime counters, padded to a 64-byte cache
// line so that processors counting in neighbouring slots never write the
// same line. (The allocator puts a slice of them on a 64-byte boundary:
// every size class that holds one is a multiple of 64.) Readers sum all
// slots.
type slot struct {
	n [nCounters]uint64
	_ [64 - nCounters*8]byte
}

// shards is a power-of-two set of counter slots and one spill slot after
// them. How callers pick a slot, and whether they add with a plain or an
// atomic increment, depends on the build: see add in count_pinned.go and
// count_atomic.go. Readers always load atomically.
type shards struct {
	s     []slot // len(s) = n + 1; s[n] is the spill slot
	shift uint8  // 64 - log2(n)
}

func newShards(n int) shards {
	shift := uint8(64)
	for k := n; k > 1; k >>= 1 {
		shift--
	}
	return shards{s: make([]slot, n+1), shift: shift}
}

// add counts one c: with a plain increment in the caller's processor's
// own slot where it has one (see count_pinned.go), else with an atomic add.
func (sh *shards) add(c counter) {
	id := pin()
	if uint(id) < uint(len(sh.s)-1) {
		sh.s[id].n[c]++
		unpin()
		return
	}
	unpin()
	sh.addShared(c)
}

// stripe returns the striped slot for the calling goroutine. The standard
// library offers no cheap goroutine id, so it hashes the address of a
// variable on the caller's stack: goroutines have distinct stacks, so one
// goroutine keeps using one slot (until its stack moves) and concurrent
// goroutines spread over the slots. The pointer is only hashed, never
// turned back into a pointer.
func (sh *shards) stripe() *slot {
	var probe byte
	h := uint64(uintptr(unsafe.Pointer(&probe))>>10) * 0x9E3779B97F4A7C15
	return &sh.s[(h>>sh.shift)&uint64(len(sh.s)-2)]
}

// spill returns the slot shared, with atomic adds, by processors that have
// no slot of their own.
func (sh *shards) spill() *slot { return &sh.s[len(sh.s)-1] }

// counts is a sum over the shards.
type counts struct {
	successes, failures, ignored, slow, rejectedOpen, rejectedHalfOpen uint64
}

// load returns counter c summed over every slot.
func (sh *shards) load(c counter) uint64 {
	var t uint64
	for i := range sh.s {
		t += atomic.LoadUint64(&sh.s[i].n[c])
	}
	return t
}

func (sh *shards) sum() counts {
	return counts{
		successes:        sh.load(cSuccess),
		failures:         sh.load(cFailure),
		ignored:          sh.load(cIgnored),
		slow:             sh.load(cSlow),
		rejectedOpen:     sh.load(cRejectedOpen),
		rejectedHalfOpen: sh.load(cRejectedHalfOpen),
	}
}

// totals returns the running call and failure counts for the windows.
func (sh *shards) totals() totals {
	f := sh.load(cFailure)
	return totals{failures: f, calls: f + sh.load(cSuccess)}
}
