package hedge

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// latencies keeps the last [window] first-attempt latencies and the
// quantile of them that serves as the hedge delay. Recording is lock-free:
// each latency takes the next slot of a ring; every few records the
// recorder recomputes the quantile from a copy of the ring. Readers see the
// last quantile computed, or -1 before there were enough latencies.
type latencies struct {
	q       float64
	next    atomic.Uint64
	samples [window]atomic.Int64
	current atomic.Int64 // the quantile, in nanoseconds; -1 until computed
}

// recomputeEvery is how many records pass between two recomputations.
const recomputeEvery = 4

func newLatencies(q float64) *latencies {
	l := &latencies{q: q}
	l.current.Store(-1)
	return l
}

// record adds one latency.
func (l *latencies) record(d time.Duration) {
	n := l.next.Add(1)
	l.samples[(n-1)%window].Store(int64(max(d, 0)))
	if n >= minSamples && n%recomputeEvery == 0 {
		l.current.Store(int64(l.quantile(min(n, window))))
	}
}

// quantile returns the q-quantile (nearest rank) of the first n slots.
func (l *latencies) quantile(n uint64) time.Duration {
	var buf [window]int64
	s := buf[:n]
	for i := range s {
		s[i] = l.samples[i].Load()
	}
	slices.Sort(s)
	rank := int(math.Ceil(l.q*float64(n))) - 1
	return time.Duration(s[max(rank, 0)])
}

// delay returns the current quantile, or fallback before there is one.
func (l *latencies) delay(fallback time.Duration) time.Duration {
	if d := l.current.Load(); d >= 0 {
		return time.Duration(d)
	}
	return fallback
}
