package eventlog

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
)

// Config configures a [Log]. The zero Config logs to slog.Default(), at
// most 5 records per source per minute, through channels of 64 events.
type Config struct {
	// Logger receives the records; nil means slog.Default().
	Logger *slog.Logger
	// Burst is how many records one source may write per Interval; the
	// rest are counted and reported when the Interval ends. 0 means 5.
	Burst int
	// Interval is the length of a source's window. 0 means one minute.
	Interval time.Duration
	// Buffer is the capacity of each channel the Log hands out: how many
	// events may wait while the handler is busy before the components
	// drop them. 0 means 64.
	Buffer int
}

// Metrics are a Log's lifetime counters.
type Metrics struct {
	Logged     uint64 // records handed to the handler, summaries included
	Suppressed uint64 // records not written because their source was over its Burst
	Panics     uint64 // records whose handler panicked (recovered)
}

// Log is a component that writes breaker and retry events to a
// *slog.Logger on one goroutine of its own, capped per source. Create it
// with [New], put the channels of [Log.Breakers] and [Log.Retry] in the
// components' Config.Events, and call [Log.Start]; events sent before
// Start wait in the channels. The zero value is not usable. It is safe
// for concurrent use.
type Log struct {
	cfg      Config
	breakers chan breaker.Event
	hedges   chan hedge.Event

	mu      sync.Mutex
	retries []namedRetry  // the channels handed out by Retry
	started bool          // run has been started
	stopped bool          // Stop has been called
	quit    chan struct{} // closed by Stop
	wake    chan struct{} // tells run that retries changed; capacity 1
	done    chan struct{} // closed when run has returned (or at Stop if never started)

	logged, suppressed, panics atomic.Uint64
}

// namedRetry is one retry policy's channel.
type namedRetry struct {
	name string
	ch   chan retry.Event
}

// New returns a Log for cfg, or a [*resilience.ConfigError] naming a
// negative field.
func New(cfg Config) (*Log, error) {
	switch {
	case cfg.Burst < 0:
		return nil, &resilience.ConfigError{Field: "eventlog.Config.Burst", Reason: "must not be negative"}
	case cfg.Interval < 0:
		return nil, &resilience.ConfigError{Field: "eventlog.Config.Interval", Reason: "must not be negative"}
	case cfg.Buffer < 0:
		return nil, &resilience.ConfigError{Field: "eventlog.Config.Buffer", Reason: "must not be negative"}
	}
	cfg.Burst = or(cfg.Burst, 5)
	cfg.Interval = or(cfg.Interval, time.Minute)
	cfg.Buffer = or(cfg.Buffer, 64)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Log{
		cfg: cfg, breakers: make(chan breaker.Event, cfg.Buffer), hedges: make(chan hedge.Event, cfg.Buffer),
		quit: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}, nil
}

func or[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Breakers returns the channel to set as breaker.Config.Events (or as a
// breaker.FamilyConfig's Breaker.Events): one channel serves every
// breaker, each event naming its own. After Stop, nothing reads it and
// the breakers drop their events.
func (l *Log) Breakers() chan<- breaker.Event { return l.breakers }

// Hedges returns the channel to set as hedge.Config.Events: one channel
// serves every hedging policy, each event naming its own. After Stop,
// nothing reads it and the policies drop their events.
func (l *Log) Hedges() chan<- hedge.Event { return l.hedges }

// Retry returns a new channel to set as retry.Config.Events of the policy
// named name; the records of its events carry retry=name. After Stop it
// returns nil, which makes a policy send no events.
func (l *Log) Retry(name string) chan<- retry.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil
	}
	ch := make(chan retry.Event, l.cfg.Buffer)
	l.retries = append(l.retries, namedRetry{name, ch})
	select {
	case l.wake <- struct{}{}:
	default: // run will see the change already
	}
	return ch
}

// Start starts the goroutine that reads the channels. It is idempotent; on
// a stopped Log it returns [resilience.ErrStopped].
func (l *Log) Start(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.stopped:
		return resilience.ErrStopped
	case !l.started:
		l.started = true
		go l.run()
	}
	return nil
}

// Stop tells the goroutine to write the events already in the channels
// and the pending suppression summaries, then to exit, and waits for it
// or for ctx: a handler that blocks makes Stop return ctx.Err(), and the
// goroutine exits once the handler returns. Stop is idempotent; events
// sent afterwards are dropped by their components.
func (l *Log) Stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		close(l.quit)
		if !l.started {
			close(l.done)
		}
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done returns a channel closed once the Log has stopped and its
// goroutine has exited.
func (l *Log) Done() <-chan struct{} { return l.done }

// Err returns nil: a handler's panic is recovered and counted, not a
// failure of the Log.
func (l *Log) Err() error { return nil }

// Metrics returns the lifetime counters.
func (l *Log) Metrics() Metrics {
	return Metrics{Logged: l.logged.Load(), Suppressed: l.suppressed.Load(), Panics: l.panics.Load()}
}

// retryList returns the retry channels handed out so far.
func (l *Log) retryList() []namedRetry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]namedRetry(nil), l.retries...)
}

// The fixed select cases of run, before one per retry channel.
const (
	caseQuit = iota
	caseWake
	caseTimer
	caseBreakers
	caseHedges
	caseRetries
)

// run is the Log's goroutine: one select over the quit and wake signals,
// the summary timer, the breakers' and hedges' channels and every retry
// channel.
func (l *Log) run() {
	defer close(l.done)
	w := &writer{l: l, win: windows{burst: l.cfg.Burst, interval: l.cfg.Interval, by: map[source]*window{}}}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	retries := l.retryList()
	cases := selectCases(l, timer, retries)
	for {
		i, v, _ := reflect.Select(cases)
		switch i {
		case caseQuit:
			w.drain(l.breakers, l.hedges, retries)
			w.flush(true)
			return
		case caseWake:
			retries = l.retryList()
			cases = selectCases(l, timer, retries)
		case caseTimer:
			w.flush(false)
		case caseBreakers:
			w.breaker(v.Interface().(breaker.Event))
		case caseHedges:
			w.hedge(v.Interface().(hedge.Event))
		default:
			w.retry(retries[i-caseRetries].name, v.Interface().(retry.Event))
		}
		w.arm(timer)
	}
}

// selectCases builds run's select: quit, wake, the timer, the breakers'
// and the hedges' channels, then one case per retry channel.
func selectCases(l *Log, timer *time.Timer, retries []namedRetry) []reflect.SelectCase {
	recv := func(ch any) reflect.SelectCase {
		return reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
	}
	cases := []reflect.SelectCase{recv(l.quit), recv(l.wake), recv(timer.C), recv(l.breakers), recv(l.hedges)}
	for _, r := range retries {
		cases = append(cases, recv(r.ch))
	}
	return cases
}
