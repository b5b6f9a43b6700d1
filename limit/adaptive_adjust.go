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
type probe struct {
	windows int       // windows since the last probe
	on      bool      // this window is a probe
	since   time.Time // start of the probe window
	saved   float64   // the limit before the probe
}

// record adds one call's latency to the window, and adjusts the limit
// when the window is complete. The caller holds a.mu.
func (a *Adaptive) record(start, now time.Time) {
	// During a probe, only calls admitted at the lowered limit count.
	if !a.probe.on || !start.Before(a.probe.since) {
		a.win.n++
		a.win.sum += now.Sub(start)
	}
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
		a.baseline = mean
		a.limit = a.probe.saved
		a.probe = probe{}
		return
	}
	if a.baseline == 0 || mean < a.baseline {
		a.baseline = mean
	}
	if a.probe.windows++; a.probe.windows >= probeEvery {
		a.probe = probe{on: true, since: now, saved: a.limit}
		a.limit = max(float64(a.cfg.MinLimit), a.limit/2)
		return
	}
	a.limit = a.next(a.limit, mean)
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
		l *= a.cfg.Backoff
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
