package limit

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/gate"
)

// AdaptiveConfig configures [NewAdaptive]. The zero AdaptiveConfig starts
// at 20 calls in flight, adapts between 1 and 1000 once a second, and
// queues no call.
type AdaptiveConfig struct {
	// Name names the limiter in its refusals.
	Name string
	// InitialLimit is the limit before the first adjustment. 0 means 20,
	// or MinLimit or MaxLimit if 20 is outside them.
	InitialLimit int
	// MinLimit is the lowest the limit goes. 0 means 1.
	MinLimit int
	// MaxLimit is the highest the limit goes. 0 means 1000; it must not be
	// below MinLimit.
	MaxLimit int
	// MaxQueue is the most calls that wait for a slot once the limit is
	// reached; one beyond it is refused at once. 0 means none wait.
	MaxQueue int
	// Window is how often the limit is adjusted: at the first call that
	// completes Window after the last adjustment, provided at least 10
	// calls completed since. 0 means 1 second.
	Window time.Duration
	// Backoff is the ratio the limit is multiplied by when latency shows
	// calls queueing at the dependency. It must be in (0, 1]; 0 means 0.9.
	Backoff float64
}

// Defaults of a zero AdaptiveConfig.
const (
	defaultInitialLimit = 20
	defaultMaxLimit     = 1000
	defaultWindow       = time.Second
	defaultBackoff      = 0.9
	minWindowSamples    = 10
	probeEvery          = 50 // windows between two measurements of the unloaded latency
	probeAfterJump      = 10 // windows after a probe before doubled latency calls for another
)

// Adaptive limits the calls in flight to one dependency, and learns the
// limit from their latency. It is a [resilience.Gate] for the Bulkhead
// slot of a [resilience.Pipeline]: a bulkhead whose size is found, not
// guessed. It is safe for concurrent use; create it with [NewAdaptive].
// It starts no goroutine: the limit is adjusted by the call that
// completes a window.
//
// Each window, Adaptive compares the window's mean latency with the
// unloaded latency (the lowest window mean seen) and estimates how many
// calls queue at the dependency: limit × (1 − unloaded/mean). When that
// estimate exceeds 4·log10 of the limit (at least 2), or the mean latency
// has doubled, the limit is multiplied by Backoff, or by twice the
// latency ratio if that is lower; when it is under 2·log10 of the limit
// (at least 1) and the calls in flight reached half the limit, the limit
// grows by log10 of itself, at least 1.
//
// The unloaded latency is measured afresh by a probe: after the first
// window, every 50 windows, and when latency doubles at once (at most
// every 10 windows), the limit is halved, and halved again while that
// lowers latency by a tenth; the lowest mean measured becomes the unloaded
// latency and the limit comes back. So a dependency that became lastingly
// slower (a new release, heavier calls) does not keep the limit down, and
// a limit that starts far above the dependency's capacity still learns
// its unloaded latency.
type Adaptive struct {
	cfg     AdaptiveConfig
	release func(time.Time, error) // a.done, bound once

	mu       sync.Mutex
	limit    float64
	inFlight int
	queue    []*waiter // oldest first
	win      window
	baseline time.Duration // the unloaded latency; 0 until the first window
	probe    probe
	lastMean time.Duration // mean latency of the last window
	stopErr  *resilience.RejectedError
	refusal  *resilience.RejectedError // the last one, reused while its Until holds
	life                               // stopped, and the channel Stop closes
	admitted atomic.Uint64
	rejected atomic.Uint64
}

// waiter is a call waiting for a slot. ready is closed when it is granted
// one (err nil) or the limiter stops (err set).
type waiter struct {
	ready chan struct{}
	start time.Time // when granted
	err   error
}

// NewAdaptive returns an adaptive limiter, or a [*resilience.ConfigError]
// naming the first invalid field.
func NewAdaptive(cfg AdaptiveConfig) (*Adaptive, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Adaptive{
		cfg:     cfg,
		limit:   float64(cfg.InitialLimit),
		stopErr: &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrStopped},
		life:    newLife(),
	}
	a.win.start = time.Now()
	a.probe.windows = probeEvery - 1 // probe once the first window has set a baseline
	a.release = a.done
	return a, nil
}

// withDefaults validates cfg and fills in its zero fields.
func (cfg AdaptiveConfig) withDefaults() (AdaptiveConfig, error) {
	switch {
	case cfg.MinLimit < 0:
		return cfg, adaptiveError("MinLimit", "must not be negative")
	case cfg.MaxLimit < 0:
		return cfg, adaptiveError("MaxLimit", "must not be negative")
	case cfg.InitialLimit < 0:
		return cfg, adaptiveError("InitialLimit", "must not be negative")
	case cfg.MaxQueue < 0:
		return cfg, adaptiveError("MaxQueue", "must not be negative")
	case cfg.Window < 0:
		return cfg, adaptiveError("Window", "must not be negative")
	case math.IsNaN(cfg.Backoff) || cfg.Backoff < 0 || cfg.Backoff > 1:
		return cfg, adaptiveError("Backoff", "must be in (0, 1]")
	}
	cfg.MinLimit = orDefault(cfg.MinLimit, 1)
	cfg.MaxLimit = orDefault(cfg.MaxLimit, max(defaultMaxLimit, cfg.MinLimit))
	if cfg.MaxLimit < cfg.MinLimit {
		return cfg, adaptiveError("MaxLimit", "must not be below MinLimit")
	}
	if cfg.InitialLimit == 0 {
		cfg.InitialLimit = min(max(defaultInitialLimit, cfg.MinLimit), cfg.MaxLimit)
	}
	if cfg.InitialLimit < cfg.MinLimit || cfg.InitialLimit > cfg.MaxLimit {
		return cfg, adaptiveError("InitialLimit", "must be within MinLimit and MaxLimit")
	}
	cfg.Window = time.Duration(orDefault(int(cfg.Window), int(defaultWindow)))
	if cfg.Backoff == 0 {
		cfg.Backoff = defaultBackoff
	}
	return cfg, nil
}

func adaptiveError(field, reason string) error {
	return &resilience.ConfigError{Field: "limit.AdaptiveConfig." + field, Reason: reason}
}

// Allow admits a call if fewer calls than the limit are in flight, or
// waits in line for a slot when MaxQueue allows. A call that finds the
// line full is refused at once with a [*resilience.RejectedError] matching
// [resilience.ErrFull], whose RetryAfter is the recent mean latency, as is
// one whose ctx deadline comes before its turn is likely to (that error
// also matches context.DeadlineExceeded). When ctx is done during the
// wait, Allow returns ctx's error; after [Adaptive.Stop], ErrStopped.
// Refusals may be shared between callers: treat them as read-only.
//
// done must be called exactly once with the call's result: it frees the
// slot, and the call's latency counts towards the limit (unless the error
// is context.Canceled: a call its caller gave up on says nothing of the
// dependency's latency).
func (a *Adaptive) Allow(ctx context.Context) (done func(error), err error) {
	a.mu.Lock()
	if a.stopped.Load() {
		a.mu.Unlock()
		return nil, a.stopErr
	}
	now := time.Now()
	if a.inFlight < int(a.limit) && len(a.queue) == 0 {
		a.inFlight++
		a.win.peak = max(a.win.peak, a.inFlight)
		a.mu.Unlock()
		a.admitted.Add(1)
		return a.permit(now), nil
	}
	if err := a.shed(ctx, now); err != nil {
		a.mu.Unlock()
		a.rejected.Add(1)
		return nil, err
	}
	w := &waiter{ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.mu.Unlock()
	return a.wait(ctx, w)
}

// shed refuses a call that may not wait: the line is full, or the call's
// deadline comes before its expected turn. The caller holds a.mu.
func (a *Adaptive) shed(ctx context.Context, now time.Time) error {
	if len(a.queue) >= a.cfg.MaxQueue {
		return a.refused(now)
	}
	deadline, ok := ctx.Deadline()
	turn := time.Duration(len(a.queue)+1) * a.lastMean / time.Duration(max(1, int(a.limit)))
	if ok && now.Add(turn).After(deadline) {
		return errors.Join(a.refused(now), context.DeadlineExceeded)
	}
	return nil
}

// refused returns the refusal for a full limiter, with Until a mean
// latency from now, reusing the last one while it is at most half a mean
// latency old. The caller holds a.mu.
func (a *Adaptive) refused(now time.Time) *resilience.RejectedError {
	if r := a.refusal; r != nil && r.Until.Sub(now) >= a.lastMean/2 && r.Until.Sub(now) <= a.lastMean {
		return r
	}
	a.refusal = &resilience.RejectedError{Name: a.cfg.Name, Reason: resilience.ErrFull, Until: now.Add(a.lastMean)}
	return a.refusal
}

// wait waits for w's grant, ctx or Stop.
func (a *Adaptive) wait(ctx context.Context, w *waiter) (func(error), error) {
	select {
	case <-w.ready:
	case <-ctx.Done():
		a.mu.Lock()
		granted := a.withdraw(w)
		a.mu.Unlock()
		if granted && w.err == nil {
			a.done(w.start, context.Canceled) // frees the slot, counts no latency
		}
		return nil, ctx.Err()
	}
	if w.err != nil {
		return nil, w.err
	}
	a.admitted.Add(1)
	return a.permit(w.start), nil
}

// withdraw takes w out of the line and reports whether it had already
// left it (granted a slot, or ended by Stop). The caller holds a.mu.
func (a *Adaptive) withdraw(w *waiter) (left bool) {
	for i, q := range a.queue {
		if q == w {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			return false
		}
	}
	return true
}

// permit returns the done of a call admitted at start.
func (a *Adaptive) permit(start time.Time) func(error) {
	return func(err error) { a.release(start, err) }
}

// done frees a slot, records the call's latency and hands free slots to
// waiters in turn.
func (a *Adaptive) done(start time.Time, err error) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight--
	a.record(start, now, !errors.Is(err, context.Canceled))
	a.grant(now)
}

// grant admits waiters while slots are free. The caller holds a.mu.
func (a *Adaptive) grant(now time.Time) {
	for len(a.queue) > 0 && a.inFlight < int(a.limit) {
		w := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.inFlight++
		a.win.peak = max(a.win.peak, a.inFlight)
		w.start = now
		close(w.ready)
	}
}

// Run calls fn once the limiter admits it, and returns fn's error or the
// refusal. A nil fn is refused with a [*resilience.ConfigError].
func (a *Adaptive) Run(ctx context.Context, fn func(context.Context) error) error {
	return gate.Run(ctx, a, fn)
}

// Limit returns the current limit on calls in flight.
func (a *Adaptive) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

var _ resilience.Gate = (*Adaptive)(nil)
