//go:build race || resilience_nopin || !(amd64 || arm64 || loong64 || mips64 || mips64le || ppc64 || ppc64le || riscv64 || s390x)

package breaker

import (
	"runtime"
	"sync/atomic"
)

// Striped atomic counting, for builds where per-processor counting
// (count_pinned.go) is off: under the race detector, on 32-bit platforms,
// and with the resilience_nopin build tag for those who would rather not
// link to the runtime's procPin. Each call adds atomically to a slot picked by its
// goroutine; the spill slot is unused.

// defaultShards is four slots per processor, at least eight.
func defaultShards() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// pin returns -1: no processor has a slot of its own.
func pin() int { return -1 }

// unpin undoes pin.
func unpin() {}

// addShared counts one c in the caller's striped slot.
func (sh *shards) addShared(c counter) { atomic.AddUint64(&sh.stripe().n[c], 1) }
