package deadline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/timers"
)

// maxShards bounds Config.Shards.
const maxShards = 1024

// Config configures [New]. The zero value is valid.
type Config struct {
	// Name names the watchdog in its refusals; "" means "deadline".
	Name string
	// Shards is the number of independently locked timer heaps callers
	// spread over, rounded up to a power of two; 0 means twice GOMAXPROCS.
	// It must be between 0 and 1024.
	Shards int
	// OnLate, if set, is called when a function abandoned by
	// [Watchdog.RunOrAbandon] finally returns. It runs on that function's
	// goroutine, after the caller has gone, and may block only that
	// goroutine. nil means nothing but the counters in [Metrics].
	OnLate func(Late)
}

func (c Config) validate() error {
	switch {
	case c.Shards < 0:
		return &resilience.ConfigError{Field: "deadline.Config.Shards", Reason: "must not be negative"}
	case c.Shards > maxShards:
		return &resilience.ConfigError{Field: "deadline.Config.Shards", Reason: "must be at most 1024"}
	}
	return nil
}

// Watchdog times contexts with one runtime timer instead of one per
// context: [Watchdog.WithTimeout] pushes the deadline into one of a few
// locked heaps, the context's cancel takes it out, and the timer, aimed at
// the earliest pending deadline, cancels the contexts that are due. It has
// no goroutine of its own; with no pending deadline its timer rests. It is
// a [resilience.Timer], so a [resilience.Pipeline] can use it; a Pipeline
// with no Timer uses a shared one built the same way.
//
// A Watchdog is what [Watchdog.RunOrAbandon] needs: an owner for the
// goroutines of abandoned calls, which counts them ([Metrics]), reports
// them (Config.OnLate) and waits for them ([Watchdog.Stop]). It satisfies
// the component contract (Start, Stop, Done, Err) so a supervisor can own
// it. A Watchdog is safe for concurrent use; a nil *Watchdog times
// contexts on the shared timer and abandons nothing.
type Watchdog struct {
	set     *timers.Set
	onLate  func(Late)
	stopErr *resilience.RejectedError

	mu      sync.Mutex // guards the abandon bookkeeping below
	stopped bool
	running int           // goroutines started by RunOrAbandon and not yet returned
	drained chan struct{} // closed when stopped with nothing running

	abandoned atomic.Int64
	abandons  atomic.Uint64
}

var _ resilience.Timer = (*Watchdog)(nil)

// New returns a watchdog. It starts no goroutine; its owner calls
// [Watchdog.Stop] to wait for abandoned calls. An invalid cfg is a
// [*resilience.ConfigError].
func New(cfg Config) (*Watchdog, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "deadline"
	}
	return &Watchdog{
		set:     timers.New(cfg.Shards),
		onLate:  cfg.OnLate,
		stopErr: &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrStopped},
		drained: make(chan struct{}),
	}, nil
}

// WithTimeout is [context.WithTimeout] on the watchdog's timer: the
// context ends with context.DeadlineExceeded after d, or when parent ends.
// The caller must call cancel when its work returns. It costs one
// allocation for the context (96 bytes) and one for cancel (16), and keeps
// working after Stop (a caller in shutdown still needs its limits).
func (w *Watchdog) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	t := w.start(parent, d)
	if c, ok := t.Ctx.(*timers.Call); ok {
		return c, c.Cancel
	}
	return t.Ctx, func() { t.Stop() }
}

// start times a context on w's timer, or on the shared one if w is nil.
func (w *Watchdog) start(parent context.Context, d time.Duration) timers.Timeout {
	if w == nil {
		return timers.Start(parent, d)
	}
	return w.set.Start(parent, d)
}

// Start makes a stopped watchdog accept abandonable calls again, once
// everything it waited for has returned; before that it returns the
// [*resilience.RejectedError] with Reason [resilience.ErrStopped]. On a
// running watchdog it does nothing.
func (w *Watchdog) Start(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		return nil
	}
	select {
	case <-w.drained:
	default:
		return w.stopErr
	}
	w.stopped = false
	w.drained = make(chan struct{})
	return nil
}

// Stop refuses new [Watchdog.RunOrAbandon] calls and waits, until ctx is
// done, for every abandoned function to return; it returns ctx's error if
// ctx ends first (Go cannot interrupt them; [Watchdog.Done] closes when
// the last one returns); the error says how many still run. Contexts already handed out keep their limits,
// and WithTimeout keeps working. Stop is idempotent.
func (w *Watchdog) Stop(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		if w.running == 0 {
			close(w.drained)
		}
	}
	drained := w.drained
	w.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	n := w.running
	w.mu.Unlock()
	return fmt.Errorf("deadline: %d abandoned calls still running: %w", n, ctx.Err())
}

// Done returns a channel closed once the watchdog is stopped and every
// function it abandoned has returned.
func (w *Watchdog) Done() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.drained
}

// Err returns nil: a watchdog has no failure of its own (a late
// function's error or panic goes to Config.OnLate).
func (w *Watchdog) Err() error { return nil }

// Metrics is a snapshot of a watchdog's counters.
type Metrics struct {
	Pending int    // deadlines armed and neither fired nor cancelled
	Fired   uint64 // deadlines that ended their context before its cancel
	// Abandoned is the number of functions still running after
	// RunOrAbandon released their caller; AbandonedTotal counts them all.
	Abandoned      int
	AbandonedTotal uint64
}

// Metrics returns the watchdog's counters (zero for a nil *Watchdog). It
// briefly locks each heap.
func (w *Watchdog) Metrics() Metrics {
	if w == nil {
		return Metrics{}
	}
	return Metrics{
		Pending:        w.set.Pending(),
		Fired:          w.set.Fired(),
		Abandoned:      int(w.abandoned.Load()),
		AbandonedTotal: w.abandons.Load(),
	}
}
