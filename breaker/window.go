package breaker

import (
	"math/bits"
	"time"
)

// totals are cumulative outcome counts, summed from the breaker's shards.
// Calls are the successes and failures; ignored calls and rejections are
// not calls for the failure rate.
type totals struct {
	calls, failures uint64
}

// window measures the failure rate over a sliding window of outcomes. The
// actor feeds it running totals, so callers never write to it: a success
// costs them nothing beyond their slot increment.
type window interface {
	// reset starts an empty window at totals t and age now (when the
	// breaker closes).
	reset(t totals, now time.Duration)
	// observe returns the calls and failures in the window at totals t and
	// age now (the time since the breaker was created).
	observe(t totals, now time.Duration) (calls, failures uint64)
}

// newWindow returns the window cfg asks for, or nil when FailureRate is off.
func newWindow(cfg Config) window {
	switch {
	case cfg.FailureRate == 0:
		return nil
	case cfg.WindowDuration > 0:
		return newTimeWindow(cfg.WindowDuration)
	}
	return &countWindow{pos: make([]uint64, cfg.WindowSize)}
}

// shouldTrip reports whether a window holding calls calls, failures of them
// failed, reaches the configured rate with the minimum volume.
func shouldTrip(cfg Config, calls, failures uint64) bool {
	return calls > 0 && calls >= uint64(cfg.MinimumCalls) &&
		float64(failures) >= cfg.FailureRate*float64(calls)
}

// countWindow covers the last len(pos) calls. It keeps the position (in
// the sequence of calls) of each failure still inside the window. A failure
// is placed at the call count when the actor first sees it, which is at or
// after the moment it happened: the failing caller sends the totals it saw,
// and failures whose message was lost to a full mailbox are placed when
// the actor next looks. A failure may so stay in the window a few calls
// longer than exact ordering would keep it: the error is towards tripping,
// never away from it.
type countWindow struct {
	pos  []uint64 // ring of failure positions, oldest at head
	head int
	n    int
	base uint64 // calls at reset
	seen uint64 // failures already placed
	last uint64 // the largest call count observed
}

func (w *countWindow) reset(t totals, _ time.Duration) {
	w.head, w.n, w.base, w.seen, w.last = 0, 0, t.calls, t.failures, t.calls
}

func (w *countWindow) observe(t totals, _ time.Duration) (calls, failures uint64) {
	// Totals carried by messages may arrive out of order: never go back.
	t.calls, t.failures = max(t.calls, w.last), max(t.failures, w.seen)
	w.last = t.calls
	size := uint64(len(w.pos))
	if t.failures-w.seen > size { // only the last size can still be inside
		w.seen = t.failures - size
	}
	for ; w.seen < t.failures; w.seen++ {
		w.push(t.calls)
	}
	for w.n > 0 && w.pos[w.head]+size <= t.calls {
		w.head = (w.head + 1) % len(w.pos)
		w.n--
	}
	return min(size, t.calls-w.base), uint64(w.n)
}

func (w *countWindow) push(p uint64) {
	if w.n == len(w.pos) {
		w.head = (w.head + 1) % len(w.pos)
		w.n--
	}
	w.pos[(w.head+w.n)%len(w.pos)] = p
	w.n++
}

// timeWindow covers at least the last WindowDuration and at most one bucket
// more: it never forgets a failure younger than WindowDuration, and forgets
// each one by WindowDuration plus one bucket (a tenth of the duration,
// rounded up to the nanosecond). It owns no clock and no timer: the actor
// passes the time (as the breaker's age) whenever it observes, and the
// buckets the window slid past meanwhile are emptied then, so an idle
// breaker costs nothing.
//
// Failures are reported one by one, so each is placed in the bucket of the
// moment the actor first sees it (at or after it happened: towards
// tripping). Successes are not reported; the calls counted since the
// previous observation are spread evenly over the buckets from then to now,
// and the share falling before the window is forgotten. The actor observes
// at every failure and, while calls keep coming after one, at every bucket
// boundary (see engine.slide), so the spreading matters only for the calls
// of a quiet spell: for traffic at a steady rate it is exact to a bucket,
// and a burst of successes just before a failure that ends a quiet spell
// is counted partly as older than it was.
type timeWindow struct {
	dur, width time.Duration
	ids        [windowBuckets + 1]int64 // the bucket each slot holds
	calls      [windowBuckets + 1]uint64
	fails      [windowBuckets + 1]uint64
	newest     int64  // the newest bucket number
	last       totals // the totals at the last observation
	lastK      int64  // the bucket of the last observation
	moved      bool   // the last observation saw new calls
}

func newTimeWindow(d time.Duration) *timeWindow {
	w := &timeWindow{dur: d, width: (d + windowBuckets - 1) / windowBuckets}
	w.reset(totals{}, 0)
	return w
}

// bucket returns the number of the bucket holding age now, never one
// before the newest.
func (w *timeWindow) bucket(now time.Duration) int64 {
	return max(int64(max(now, 0)/w.width), w.newest)
}

// oldest returns the oldest bucket still inside the window at age now:
// the first one that ends after now - WindowDuration.
func (w *timeWindow) oldest(now time.Duration) int64 {
	if now < w.dur {
		return 0
	}
	return int64((now - w.dur) / w.width)
}

func (w *timeWindow) reset(t totals, now time.Duration) {
	w.newest = 0
	w.newest = w.bucket(now)
	for i := range w.ids {
		w.ids[i], w.calls[i], w.fails[i] = -1, 0, 0
	}
	w.last, w.lastK = t, w.newest
}

func (w *timeWindow) observe(t totals, now time.Duration) (calls, failures uint64) {
	k, lo := w.bucket(now), w.oldest(now)
	w.newest = k
	// Totals carried by messages may arrive out of order: never go back.
	t.calls, t.failures = max(t.calls, w.last.calls), max(t.failures, w.last.failures)
	df := t.failures - w.last.failures
	ds := t.calls - w.last.calls
	ds -= min(ds, df)
	w.moved = t != w.last
	w.add(k, df, df)
	w.spread(ds, max(w.lastK, lo), k)
	w.last, w.lastK = t, k
	for i, id := range w.ids {
		if id >= lo {
			calls, failures = calls+w.calls[i], failures+w.fails[i]
		}
	}
	return calls, failures
}

// spread adds successes (the calls since the bucket of the last
// observation) evenly over the buckets from there to k, keeping the share
// of those from first (the oldest still in the window) on.
func (w *timeWindow) spread(successes uint64, first, k int64) {
	if successes == 0 || first > k {
		return
	}
	span, m := uint64(k-w.lastK+1), uint64(k-first+1)
	hi, lo := bits.Mul64(successes, m)
	lo, carry := bits.Add64(lo, span/2, 0)    // round to the nearest
	kept, _ := bits.Div64(hi+carry, lo, span) // m ≤ span, so it fits
	for j := first; j <= k; j++ {
		n := kept / m
		if uint64(j-first) < kept%m {
			n++
		}
		w.add(j, n, 0)
	}
}

// add counts calls and failures in bucket j, reusing its slot if it held
// an older bucket.
func (w *timeWindow) add(j int64, calls, failures uint64) {
	i := j % int64(len(w.ids))
	if w.ids[i] != j {
		w.ids[i], w.calls[i], w.fails[i] = j, 0, 0
	}
	w.calls[i] += calls
	w.fails[i] += failures
}

// clockBase anchors the monotonic clock readings breakers keep as
// durations (8 bytes instead of a time.Time's 24).
var clockBase = time.Now()

// sinceBase returns the monotonic time since clockBase.
func sinceBase() time.Duration { return time.Since(clockBase) }

// age returns the time since b was created: the clock of its time window.
func (b *Breaker) age() time.Duration { return sinceBase() - b.born }
