package fleet

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/internal/events"
	"github.com/redis/go-redis/v9"
)

// Agent is the one part of a process that talks to Redis for the fleet.
// It owns two goroutines, started by [Agent.Start] and stopped by
// [Agent.Stop]: a loop that samples the local breakers, limiters and
// budgets and flushes their counts, and a subscriber that receives the
// fleet's state changes. Calls through its [Breaker], [Limiter] and
// [Budget] never touch Redis: they read what the agent last published.
//
// An Agent is safe for concurrent use; create it with [New]. It satisfies
// the lifecycle component contract (Start, Stop, Done, Err).
type Agent struct {
	client  redis.UniversalClient
	cfg     Config
	hash    hasher
	replica string // this replica's label
	channel string
	guard   *breaker.Breaker // the agent's own breaker around Redis

	mu       sync.Mutex
	deps     map[string]*dep // by dependency name
	byLabel  map[string]*dep // by label, for messages
	limiters map[string]*Limiter
	started  bool
	stopped  bool
	cancel   context.CancelFunc
	pubsub   *redis.PubSub
	done     chan struct{}

	wg        sync.WaitGroup // the loop, the subscriber, Redis operations
	wake      chan struct{}  // capacity 1: a limiter ran dry
	inflight  atomic.Bool    // a Redis operation is running
	connected atomic.Bool
	halt      atomic.Bool  // set by Stop: views stay local
	offsetMs  atomic.Int64 // local Unix ms minus Redis ms, at the last reply
	counts    counters
}

type counters struct {
	flushes, leases, failures, messages, dropped atomic.Uint64
}

// Metrics are an agent's lifetime counters and its connection state.
type Metrics struct {
	Connected     bool   // the last Redis operation succeeded
	Flushes       uint64 // breaker and budget flushes that succeeded
	Leases        uint64 // limiter leases that succeeded
	Failures      uint64 // Redis operations that failed, timed out or were skipped by the agent's breaker
	Messages      uint64 // state changes received on the channel
	EventsDropped uint64 // events not sent because Config.Events was full
}

// New returns an agent for the fleet that shares client, or a
// *resilience.ConfigError naming the first invalid field. The client is
// the caller's, configured as they need (single node, Sentinel or
// Cluster; AUTH, ACL user, TLS); the agent never closes it. No goroutine
// runs until [Agent.Start].
func New(client redis.UniversalClient, cfg Config) (*Agent, error) {
	if client == nil {
		return nil, &resilience.ConfigError{Field: "client", Reason: "must not be nil"}
	}
	cfg, err := cfg.defaults()
	if err != nil {
		return nil, err
	}
	guard, err := breaker.New(breaker.Config{Name: "fleet redis", FailureThreshold: 3,
		OpenTimeout: max(cfg.TroubleInterval, time.Second), HalfOpenMaxRequests: 1, SuccessThreshold: 1})
	if err != nil {
		return nil, err
	}
	secret := cfg.Secret
	if len(secret) == 0 {
		secret = []byte(cfg.Namespace)
	}
	h := hasher{secret: secret}
	replica := randomReplica()
	if cfg.Replica != "" {
		replica = h.label("replica", cfg.Replica)
	}
	return &Agent{client: client, cfg: cfg, hash: h, replica: replica,
		channel: channelName(cfg.Namespace), guard: guard,
		deps: map[string]*dep{}, byLabel: map[string]*dep{}, limiters: map[string]*Limiter{},
		done: make(chan struct{}), wake: make(chan struct{}, 1)}, nil
}

// Start starts the agent's loop and subscriber. It returns
// resilience.ErrStopped after Stop, and does nothing on a running agent.
// Until Start, fleet breakers, limiters and budgets work on local state
// only. ctx is not kept: stop the agent with [Agent.Stop].
func (a *Agent) Start(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return resilience.ErrStopped
	}
	if a.started {
		return nil
	}
	a.started = true
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(2)
	go a.loop(ctx)
	go a.subscribe(ctx)
	return nil
}

// Stop stops the agent and waits for its goroutines, or for ctx. Fleet
// breakers, limiters and budgets go on with local state only (a limiter
// with its share of the rate); creating new ones fails with
// resilience.ErrStopped. An operation stuck on a hung Redis ends by the
// client's read timeout; Stop returns ctx.Err() if ctx ends first, and Done
// is closed once everything has exited. Stop is idempotent.
func (a *Agent) Stop(ctx context.Context) error {
	a.mu.Lock()
	first := !a.stopped
	a.stopped = true
	a.halt.Store(true)
	if first {
		if a.cancel != nil {
			a.cancel()
		}
		if a.pubsub != nil {
			_ = a.pubsub.Close() // wakes the subscriber; its error is of no use now
		}
		go a.finish()
	}
	a.mu.Unlock()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish waits for every goroutine, puts every part on local state, stops
// the guard and closes done.
func (a *Agent) finish() {
	a.wg.Wait()
	a.goLocal(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.guard.Stop(ctx) // a breaker without an actor stops at once
	close(a.done)
}

// Done returns a channel closed once the agent has stopped and all its
// goroutines have exited.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Err returns nil: Redis failures degrade the agent, they do not end it.
func (a *Agent) Err() error { return nil }

// Metrics returns the agent's counters.
func (a *Agent) Metrics() Metrics {
	return Metrics{Connected: a.connected.Load(), Flushes: a.counts.flushes.Load(),
		Leases: a.counts.leases.Load(), Failures: a.counts.failures.Load(),
		Messages: a.counts.messages.Load(), EventsDropped: a.counts.dropped.Load()}
}

// errBusy is a Redis operation skipped because the previous one is still
// stuck: the agent never has two in flight, so a hung Redis costs one
// goroutine, not a growing pile.
var errBusy = errors.New("fleet: previous redis operation still running")

// call runs op with the operation deadline, through the agent's breaker.
// It waits at most OpTimeout, whether or not the client honours contexts.
func (a *Agent) call(ctx context.Context, op func(context.Context) error) error {
	done, err := a.guard.Allow(ctx)
	if err != nil {
		return a.failed(err)
	}
	if !a.inflight.CompareAndSwap(false, true) {
		done(errBusy)
		return a.failed(errBusy)
	}
	res := make(chan error, 1)
	opCtx, cancel := context.WithTimeout(ctx, a.cfg.OpTimeout)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := op(opCtx)
		cancel()
		a.inflight.Store(false) // before the result: the next operation may follow at once
		res <- err
	}()
	timer := time.NewTimer(a.cfg.OpTimeout)
	defer timer.Stop()
	select {
	case err = <-res:
	case <-timer.C:
		err = &resilience.TimeoutError{Op: "fleet redis", Limit: a.cfg.OpTimeout}
	}
	done(err)
	if err != nil {
		return a.failed(err)
	}
	a.setConnected(true)
	return nil
}

func (a *Agent) failed(err error) error {
	a.counts.failures.Add(1)
	a.setConnected(false)
	return err
}

func (a *Agent) setConnected(ok bool) {
	if a.connected.Swap(ok) == ok {
		return
	}
	change := "degraded"
	if ok {
		change = "connected"
	}
	a.emit(Event{Change: change, At: time.Now()})
}

func (a *Agent) emit(e Event) { events.Send(a.cfg.Events, e, &a.counts.dropped) }

// loop is the agent's main goroutine: every TroubleInterval (or when a
// limiter runs dry) it visits every dependency and limiter.
func (a *Agent) loop(ctx context.Context) {
	defer a.wg.Done()
	tick := time.NewTicker(a.cfg.TroubleInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.wake:
		}
		deps, lims := a.parts()
		for _, d := range deps {
			d.visit(ctx, a, time.Now())
		}
		for _, l := range lims {
			l.visit(ctx, time.Now())
		}
		if !a.connected.Load() {
			a.goLocal(time.Now())
		}
	}
}

// parts returns the registered dependencies and limiters.
func (a *Agent) parts() ([]*dep, []*Limiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	deps := make([]*dep, 0, len(a.deps))
	for _, d := range a.deps {
		deps = append(deps, d)
	}
	lims := make([]*Limiter, 0, len(a.limiters))
	for _, l := range a.limiters {
		lims = append(lims, l)
	}
	return deps, lims
}

// goLocal is the degraded mode: a known fleet open is kept until its
// deadline, then each breaker is back to its local state; limiters use
// their share of the rate.
func (a *Agent) goLocal(now time.Time) {
	deps, lims := a.parts()
	for _, d := range deps {
		d.mu.Lock()
		br := d.br
		d.mu.Unlock()
		if br != nil {
			br.expire(a, now)
		}
	}
	for _, l := range lims {
		l.degrade()
	}
}

// dependency returns the dependency named name, creating it.
func (a *Agent) dependency(name string) (*dep, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return nil, resilience.ErrStopped
	}
	if d, ok := a.deps[name]; ok {
		return d, nil
	}
	label := a.hash.label("dependency", name)
	d := &dep{name: name, keys: newKeys(a.cfg.Namespace, label)}
	a.deps[name] = d
	a.byLabel[label] = d
	return d, nil
}

// localTime converts a Redis time in ms to local time with the last offset.
func (a *Agent) localTime(redisMs int64) time.Time {
	return time.UnixMilli(redisMs + a.offsetMs.Load())
}

// halted reports whether Stop has been called.
func (a *Agent) halted() bool { return a.halt.Load() }
