package breaker

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
	// reset starts an empty window at totals t (when the breaker closes).
	reset(t totals)
	// observe returns the calls and failures in the window at totals t.
	observe(t totals) (calls, failures uint64)
}

// newWindow returns the window cfg asks for, or nil when FailureRate is off.
func newWindow(cfg Config) window {
	switch {
	case cfg.FailureRate == 0:
		return nil
	case cfg.WindowDuration > 0:
		return &timeWindow{}
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

func (w *countWindow) reset(t totals) {
	w.head, w.n, w.base, w.seen, w.last = 0, 0, t.calls, t.failures, t.calls
}

func (w *countWindow) observe(t totals) (calls, failures uint64) {
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

// timeWindow covers the last WindowDuration: the actor ticks it every tenth
// of the duration with the totals at that moment, and the window is the
// difference between now and the oldest of the last ten marks (or the
// reset, when the window is younger than that). It spans between one and
// 1.1 WindowDuration.
type timeWindow struct {
	marks [windowBuckets]totals // ring, oldest at head once full
	head  int
	n     int
	base  totals
}

func (w *timeWindow) reset(t totals) { w.head, w.n, w.base = 0, 0, t }

// tick records the totals at a bucket boundary.
func (w *timeWindow) tick(t totals) {
	if w.n == len(w.marks) {
		w.marks[w.head] = t
		w.head = (w.head + 1) % len(w.marks)
		return
	}
	w.marks[(w.head+w.n)%len(w.marks)] = t
	w.n++
}

func (w *timeWindow) observe(t totals) (calls, failures uint64) {
	from := w.base
	if w.n == len(w.marks) {
		from = w.marks[w.head]
	}
	if t.calls < from.calls || t.failures < from.failures {
		return 0, 0 // totals from before the window began
	}
	return t.calls - from.calls, t.failures - from.failures
}
