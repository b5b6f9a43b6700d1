package limit

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// slot holds one stripe of the counters, padded to a 64-byte cache line so
// that callers counting in neighbouring slots never write the same line.
type slot struct {
	allowed, limited atomic.Uint64
	_                [48]byte
}

// counts are the Allowed and Limited counters, striped over slots so that
// concurrent callers mostly write distinct cache lines; Metrics sums them.
type counts struct {
	s []slot // len(s) is a power of two
}

func newCounts() counts {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	return counts{s: make([]slot, max(8, n))}
}

// stripe returns the calling goroutine's slot. It hashes the address of a
// variable on the caller's stack: goroutines have distinct stacks, so one
// goroutine keeps to one slot and concurrent ones spread out. The address
// is only hashed, never turned back into a pointer.
func (c *counts) stripe() *slot {
	var probe byte
	h := uint64(uintptr(unsafe.Pointer(&probe))>>10) * 0x9E3779B97F4A7C15
	return &c.s[(h>>32)&uint64(len(c.s)-1)]
}

// sum returns the totals over every slot.
func (c *counts) sum() (allowed, limited uint64) {
	for i := range c.s {
		allowed += c.s[i].allowed.Load()
		limited += c.s[i].limited.Load()
	}
	return allowed, limited
}
