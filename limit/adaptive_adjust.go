package limit

import (
	"context"
	"math"
	"time"
)

// window accumulates the latencies of the calls completed since the last
// adjustment.
type window struct {
	start time.Time
	n     int
	sum   time.Duration
	peak  int // most calls in flight during the window
}

// probe is the state of the periodic measurement of the unloaded latency.
// A probe lowers the limit, waits for the calls admitted before it to
// complete (they may have queued at the dependency, and calls admitted
// after them queue behind them), then measures one window.
type probe struct {
	windows int           // windows since the last probe
	on      bool          // the limit is lowered for a probe
	since   time.Time     // when the limit was lowered
	old     int           // calls admitted before since, still in flight
	settled time.Time     // when the last of them completed; zero until then
	saved   float64       // the limit before the probe
	last    time.Duration // the mean of the probe's previous step; 0 on its first
}

// startProbe halves the limit for a step of a probe beginning now. The
// caller holds a.mu.
func (a *Adaptive) startProbe(now time.Time, saved float64, last time.Duration) {
	a.probe = probe{on: true, since: now, old: a.inFlight, saved: saved, settled: now, last: last}
	if a.inFlight > 0 {
		a.probe.settled = time.Time{}
	}
	a.limit = max(float64(a.cfg.MinLimit), a.limit/2)
}

// measured reports whether a call admitted at start counts in the window:
// during a probe, only calls admitted once the probe has settled do. A
// probe settles when the calls admitted before it have completed, or 10
// windows after it began if some never do.
func (a *Adaptive) measured(start, now time.Time) bool {
	p := &a.probe
	switch {
	case !p.on:
		return true
	case start.Before(p.since):
		if p.old--; p.old == 0 {
			p.settled = now
		}
		return false
	case p.settled.IsZero() && now.Sub(p.since) >= 10*a.cfg.Window:
		p.settled = now
		return false
	}
	return !p.settled.IsZero() && !start.Before(p.settled)
}

// record adds the latency of a call admitted at start to the window if
// it counts, and adjusts the limit when the window is complete. The
// caller holds a.mu.
func (a *Adaptive) record(start, now time.Time, counts bool) {
	if !a.measured(start, now) || !counts {
		return
	}
	a.win.n++
	a.win.sum += now.Sub(start)
	if a.win.n < minWindowSamples || now.Sub(a.win.start) < a.cfg.Window {
		return
	}
	mean := a.win.sum / time.Duration(a.win.n)
	a.lastMean = mean
	a.adjust(mean, now)
	a.win = window{start: now, peak: a.inFlight}
}

// adjust sets the limit from a window's mean latency. The caller holds
// a.mu.
func (a *Adaptive) adjust(mean time.Duration, now time.Time) {
	if a.probe.on {
		a.endProbe(mean, now)
		return
	}
	if a.baseline == 0 || mean < a.baseline {
		a.baseline = mean
	}
	// Latency that doubled at once may not come from load (a slower
	// release, a slower mix of calls): probe before trusting it, unless a
	// probe was made lately.
	a.probe.windows++
	doubled := mean > 2*a.baseline && a.probe.windows >= probeAfterJump
	if a.probe.windows >= probeEvery || doubled {
		a.startProbe(now, a.limit, 0)
		return
	}
	a.limit = a.next(a.limit, mean)
}

// endProbe ends a step of a probe whose window's mean latency was mean.
// While halving the limit still lowers latency by a tenth, calls were
// queueing at the dependency, so the probe halves it again; then the
// lowest mean measured is the unloaded latency and the limit before the
// probe comes back. The caller holds a.mu.
func (a *Adaptive) endProbe(mean time.Duration, now time.Time) {
	last := a.probe.last
	if (last == 0 || mean < last*9/10) && a.limit > float64(a.cfg.MinLimit) {
		a.startProbe(now, a.probe.saved, mean)
		return
	}
	if last > 0 {
		mean = min(mean, last)
	}
	a.baseline = mean
	a.limit = a.probe.saved
	a.probe = probe{}
}

// next returns the limit after a window whose mean latency was mean: lower
// when calls queue at the dependency, higher when they do not and the
// limit was used, the same otherwise.
func (a *Adaptive) next(l float64, mean time.Duration) float64 {
	ratio := float64(a.baseline) / float64(mean)
	queued := l * (1 - ratio)
	log := math.Log10(l)
	switch {
	case queued > max(2, 4*log) || ratio < 0.5:
		l *= min(a.cfg.Backoff, 2*ratio) // latency k times the unloaded: about limit/k
	case queued < max(1, 2*log) && 2*a.win.peak >= int(l):
		l += max(1, log)
	}
	return min(max(l, float64(a.cfg.MinLimit)), float64(a.cfg.MaxLimit))
}

// Start makes a stopped limiter admit calls again, at the limit it had;
// on a running one it does nothing. It always returns nil.
func (a *Adaptive) Start(context.Context) error {
	a.life.start()
	return nil
}

// Stop makes later calls return [resilience.ErrStopped] at once, and ends
// every call waiting in line the same way. Calls in flight go on; their
// done still frees their slot. A limiter holds no goroutine, so Stop
// returns nil at once; it is idempotent and safe to call while callers
// keep calling.
func (a *Adaptive) Stop(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.life.stop()
	for _, w := range a.queue {
		w.err = a.stopErr
		close(w.ready)
	}
	a.queue = nil
	return nil
}

// Done returns a channel closed once the limiter is stopped.
func (a *Adaptive) Done() <-chan struct{} { return a.life.doneChan() }

// Err returns nil: a limiter has no failure of its own.
func (a *Adaptive) Err() error { return nil }

// AdaptiveMetrics is a snapshot of an adaptive limiter.
type AdaptiveMetrics struct {
	Limit    int           // the current limit on calls in flight
	InFlight int           // calls admitted and not yet done
	Queued   int           // calls waiting for a slot
	Admitted uint64        // calls admitted since NewAdaptive
	Rejected uint64        // calls refused: the line was full, or their deadline came before their turn
	Unloaded time.Duration // the latency the limit is judged against; 0 before the first window
}

// Metrics returns the current state and counters.
func (a *Adaptive) Metrics() AdaptiveMetrics {
	a.mu.Lock()
	defer a.mu.Unlock()
	return AdaptiveMetrics{
		Limit: int(a.limit), InFlight: a.inFlight, Queued: len(a.queue),
		Admitted: a.admitted.Load(), Rejected: a.rejected.Load(), Unloaded: a.baseline,
	}
}
