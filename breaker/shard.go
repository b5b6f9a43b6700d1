package breaker

import (
	"runtime"
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
// line so that goroutines counting in neighbouring slots never write the
// same line. (The allocator puts a slice of them on a 64-byte boundary:
// every size class that holds one is a multiple of 64.) Readers sum all
// slots.
type slot struct {
	n [nCounters]uint64
	_ [64 - nCounters*8]byte
}

// shards is a power-of-two set of counter slots. Each call adds atomically
// to the slot picked by its goroutine (see stripe), so concurrent callers
// mostly write distinct cache lines and no increment is ever lost; readers
// load every slot atomically and sum.
type shards struct {
	s     []slot // len(s) is a power of two
	shift uint8  // 64 - log2(len(s))
}

// defaultShards is four slots per processor, at least eight.
func defaultShards() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

func newShards(n int) shards {
	shift := uint8(64)
	for k := n; k > 1; k >>= 1 {
		shift--
	}
	return shards{s: make([]slot, n), shift: shift}
}

// add counts one c in the caller's striped slot.
func (sh *shards) add(c counter) { atomic.AddUint64(&sh.stripe().n[c], 1) }

// stripe returns the striped slot for the calling goroutine. The standard
// library offers no cheap goroutine id, so it hashes the address of a
// variable on the caller's stack: goroutines have distinct stacks, so one
// goroutine keeps using one slot (until its stack moves) and concurrent
// goroutines spread over the slots. The pointer is only hashed, never
// turned back into a pointer.
func (sh *shards) stripe() *slot {
	var probe byte
	h := uint64(uintptr(unsafe.Pointer(&probe))>>10) * 0x9E3779B97F4A7C15
	// shift&63 spares the compiler's guard for shifts of 64 or more: with
	// one slot the shift is 64, read as 0, and the mask still gives 0.
	return &sh.s[(h>>(sh.shift&63))&uint64(len(sh.s)-1)]
}

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
