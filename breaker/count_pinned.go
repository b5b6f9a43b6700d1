//go:build !race && !resilience_nopin && (amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package breaker

import (
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// Per-processor counting. An exact counter shared by goroutines needs an
// atomic read-modify-write per call, and a locked add costs more than the
// rest of a closed call put together. Instead each processor (each P of
// the Go scheduler) owns one slot: a caller pins itself to its processor,
// which stops the scheduler from preempting or moving it, makes a plain
// increment in that processor's slot, and unpins. Only one goroutine runs
// on a processor at a time, so no increment is lost; readers load the
// slots atomically and see each word whole. sync.Pool keeps its per-P
// caches the same way.
//
// runtime.procPin and runtime.procUnpin are reached through go:linkname.
// The runtime keeps both for packages outside the standard library and
// promises not to change them (go.dev/issue/67401). Builds with the race
// detector, which cannot see a processor's exclusivity, and builds with
// the resilience_nopin tag use count_atomic.go instead, and so do 32-bit
// platforms, where a reader could see half of a plain 64-bit store.

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// defaultShards is one slot per processor.
func defaultShards() int { return runtime.GOMAXPROCS(0) }

// pin pins the caller to its processor and returns the processor's id.
func pin() int { return procPin() }

// unpin undoes pin.
func unpin() { procUnpin() }

// addShared counts one c from a processor without a slot of its own.
func (sh *shards) addShared(c counter) { atomic.AddUint64(&sh.spill().n[c], 1) }
