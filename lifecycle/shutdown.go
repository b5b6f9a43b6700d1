package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
)

// Defaults for [ShutdownConfig] fields left zero.
const (
	defaultServerTimeout = 10 * time.Second
	defaultGracePeriod   = 30 * time.Second
	defaultTreeTimeout   = 30 * time.Second
	defaultHookTimeout   = 5 * time.Second
)

// ShutdownConfig configures a [Coordinator]. The zero value is valid: no
// propagation delay, no servers, no tree, and the default bound of every
// phase.
type ShutdownConfig struct {
	// PropagationDelay is how long to keep serving after readiness starts
	// failing, so that load balancers notice before listeners close.
	// Default 0 (none); a few seconds is typical behind Kubernetes.
	PropagationDelay time.Duration
	// ServerTimeout bounds http.Server.Shutdown for all Servers together;
	// servers still busy then are closed. 0 means 10s.
	ServerTimeout time.Duration
	// GracePeriod bounds the wait for tracked connections (see
	// [Coordinator.Acquire]) to be released. 0 means 30s.
	GracePeriod time.Duration
	// TreeTimeout bounds the stop of Tree. 0 means 30s; give it at least
	// the sum of the tree's stop timeouts.
	TreeTimeout time.Duration
	// HookTimeout is the timeout of a hook registered with a zero timeout.
	// 0 means 5s.
	HookTimeout time.Duration
	// Servers stop accepting in the third phase (http.Server.Shutdown).
	// List a server here or as a tree child ([Server]), not both.
	Servers []*http.Server
	// Tree, usually the root *Supervisor, is started by
	// [Coordinator.Start] and stopped in the fifth phase. Optional.
	Tree Component
}

func (c ShutdownConfig) withDefaults() (ShutdownConfig, error) {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"PropagationDelay", c.PropagationDelay}, {"ServerTimeout", c.ServerTimeout},
		{"GracePeriod", c.GracePeriod}, {"TreeTimeout", c.TreeTimeout}, {"HookTimeout", c.HookTimeout}} {
		if f.v < 0 {
			return c, &resilience.ConfigError{Field: "lifecycle.ShutdownConfig." + f.name, Reason: "must not be negative"}
		}
	}
	for i, s := range c.Servers {
		if s == nil {
			return c, &resilience.ConfigError{Field: fmt.Sprintf("lifecycle.ShutdownConfig.Servers[%d]", i), Reason: "is nil"}
		}
	}
	c.ServerTimeout = orDefault(c.ServerTimeout, defaultServerTimeout)
	c.GracePeriod = orDefault(c.GracePeriod, defaultGracePeriod)
	c.TreeTimeout = orDefault(c.TreeTimeout, defaultTreeTimeout)
	c.HookTimeout = orDefault(c.HookTimeout, defaultHookTimeout)
	return c, nil
}

// Coordinator runs a graceful shutdown in phases, each bounded: mark not
// ready, wait for the propagation delay, stop accepting (http.Server
// Shutdown), drain tracked connections, stop the supervision tree, run the
// shutdown hooks in reverse registration order. It also tracks connections
// ([Coordinator.Acquire], [Coordinator.Track]) and serves the readiness
// probe.
//
// A Coordinator is a [Component]: Start starts the tree, Stop runs the
// shutdown, and [Coordinator.Serve] does both around a context, the usual
// body of main. It is built by [NewCoordinator] (the zero value is not
// usable) and is safe for concurrent use. It runs once: after Stop, Start
// returns resilience.ErrStopped.
type Coordinator struct {
	cfg ShutdownConfig

	// gate holds closedBit once shutdown began, plus the number of
	// connections tracked.
	gate     atomic.Int64
	idle     chan struct{} // closed once shutting down with no connection tracked
	idleOnce sync.Once

	began atomic.Bool
	mu    sync.Mutex
	hooks []hook

	done chan struct{} // closed when Stop has finished
	err  error         // written before done is closed
}

type hook struct {
	name    string
	timeout time.Duration
	fn      func(ctx context.Context) error
}

// closedBit marks the guard gate closed.
const closedBit = int64(1) << 62

// NewCoordinator returns a coordinator, or a *resilience.ConfigError.
func NewCoordinator(cfg ShutdownConfig) (*Coordinator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Coordinator{cfg: cfg, idle: make(chan struct{}), done: make(chan struct{})}, nil
}

// Hook registers fn to run at the end of shutdown, after the tree has
// stopped. Hooks run one at a time in reverse registration order, each
// with its own timeout (zero means ShutdownConfig.HookTimeout) and a ctx
// that ends then. A hook that fails, panics or does not return in time is
// reported and the next one runs; one that ignores its ctx is abandoned on
// its goroutine. It returns resilience.ErrStopped once shutdown has begun
// and a *resilience.ConfigError for an empty name, a nil fn or a negative
// timeout.
func (c *Coordinator) Hook(name string, timeout time.Duration, fn func(ctx context.Context) error) error {
	switch {
	case name == "":
		return &resilience.ConfigError{Field: "name", Reason: "lifecycle.Coordinator.Hook: is required"}
	case fn == nil:
		return &resilience.ConfigError{Field: "fn", Reason: "lifecycle.Coordinator.Hook: must not be nil"}
	case timeout < 0:
		return &resilience.ConfigError{Field: "timeout", Reason: "lifecycle.Coordinator.Hook: must not be negative"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.began.Load() {
		return resilience.ErrStopped
	}
	c.hooks = append(c.hooks, hook{name: name, timeout: orDefault(timeout, c.cfg.HookTimeout), fn: fn})
	return nil
}

// Acquire tracks one connection or request; call release when it is
// done (release is idempotent). Stop waits, up to the grace period, until
// every tracked connection is released. Acquire returns
// resilience.ErrStopped once shutdown has passed its propagation delay (at
// once when there is none): during the delay the service is marked not
// ready but still serves what load balancers send.
func (c *Coordinator) Acquire() (release func(), err error) {
	if c.gate.Add(1)&closedBit != 0 {
		c.leave()
		return nil, resilience.ErrStopped
	}
	var once atomic.Bool
	return func() {
		if !once.Swap(true) {
			c.leave()
		}
	}, nil
}

func (c *Coordinator) leave() {
	if c.gate.Add(-1) == closedBit {
		c.idleOnce.Do(func() { close(c.idle) })
	}
}

// ActiveConnections returns the number of connections tracked.
func (c *Coordinator) ActiveConnections() int {
	return int(c.gate.Load() &^ closedBit)
}

// ShuttingDown reports whether shutdown has begun.
func (c *Coordinator) ShuttingDown() bool { return c.began.Load() }

// Done returns a channel closed when Stop has finished.
func (c *Coordinator) Done() <-chan struct{} { return c.done }

// Err returns the result of Stop once Done is closed, nil before.
func (c *Coordinator) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Start starts the tree, if there is one, and returns its Start's error.
// It is idempotent as the tree's Start is, and returns
// resilience.ErrStopped once Stop has been called.
func (c *Coordinator) Start(ctx context.Context) error {
	if c.began.Load() {
		return resilience.ErrStopped
	}
	if c.cfg.Tree == nil {
		return nil
	}
	return c.cfg.Tree.Start(ctx)
}

// Serve starts the coordinator, waits until ctx is done (for example by
// [NotifyContext] on a signal) or the tree exits on its own, then stops it
// and returns the result of Stop, joined with the tree's failure if it
// failed; or Start's error if it did not start. The shutdown is bounded by
// the phases' own timeouts, not by ctx, which may be done already.
func (c *Coordinator) Serve(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	var treeDone <-chan struct{}
	if c.cfg.Tree != nil {
		treeDone = c.cfg.Tree.Done()
	}
	var failed error
	select {
	case <-ctx.Done():
	case <-treeDone:
		failed = c.cfg.Tree.Err()
	}
	return errors.Join(failed, c.Stop(context.WithoutCancel(ctx)))
}

// Stop runs the shutdown phases in order and returns when the last one has
// finished:
//
//  1. not ready: [Coordinator.Readiness] starts failing, Hook starts
//     returning resilience.ErrStopped;
//  2. wait PropagationDelay, still serving; then Acquire starts returning
//     resilience.ErrStopped;
//  3. stop accepting: Shutdown every server, within ServerTimeout, Close
//     those still busy;
//  4. drain: wait up to GracePeriod for tracked connections to be released;
//  5. stop the tree, within TreeTimeout (each child within its own);
//  6. run the hooks in reverse registration order, each within its own
//     timeout.
//
// Every phase runs even if an earlier one failed or timed out. The result
// joins a *ComponentError per failure; a part that did not finish in time
// (a server, a child, a hook, or connections still held after the grace
// period, Op "drain") wraps a *resilience.TimeoutError, so
// errors.Is(err, resilience.ErrTimeout) reports that something was
// abandoned. It is nil if everything finished cleanly. If ctx ends, the
// remaining phases are hurried: each is started with an expired context
// and not waited for. A later call does not wait (a hook calling Stop
// would wait for itself): it returns resilience.ErrStopped while the first
// runs and the first's result once it has finished; use
// [Coordinator.Done] to wait.
func (c *Coordinator) Stop(ctx context.Context) error {
	c.mu.Lock()
	first := !c.began.Swap(true)
	c.mu.Unlock()
	if !first {
		select {
		case <-c.done:
			return c.err
		default:
			return resilience.ErrStopped
		}
	}
	var rep report
	sleep(ctx, c.cfg.PropagationDelay) // 2: not ready, still serving
	c.closeGate()                      // new connections refused from here on
	c.stopServers(ctx, &rep)           // 3
	c.drain(ctx, &rep)                 // 4
	c.stopTree(ctx, &rep)              // 5
	c.runHooks(ctx, &rep)              // 6
	c.err = rep.err()
	close(c.done)
	return c.err
}

func (c *Coordinator) closeGate() {
	if c.gate.Or(closedBit) == 0 {
		c.idleOnce.Do(func() { close(c.idle) })
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// stopServers shuts the servers down concurrently within ServerTimeout.
func (c *Coordinator) stopServers(ctx context.Context, rep *report) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, srv := range c.cfg.Servers {
		wg.Go(func() {
			path := fmt.Sprintf("server/%d", i)
			if srv.Addr != "" {
				path += "@" + srv.Addr
			}
			given, err, timedOut := call(ctx, c.cfg.ServerTimeout, true, srv.Shutdown)
			if err != nil {
				_ = srv.Close() // its error adds nothing to Shutdown's
			}
			mu.Lock()
			defer mu.Unlock()
			if timedOut {
				rep.add(abandonedErr("server", path, given))
				return
			}
			rep.absorb("server", path, err)
		})
	}
	wg.Wait()
}

// drain waits for the tracked connections, up to GracePeriod.
func (c *Coordinator) drain(ctx context.Context, rep *report) {
	begin := time.Now()
	t := time.NewTimer(c.cfg.GracePeriod)
	defer t.Stop()
	select {
	case <-c.idle:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	if n := c.ActiveConnections(); n > 0 {
		te := &resilience.TimeoutError{Op: "drain", Limit: time.Since(begin)}
		rep.add(&ComponentError{Op: "drain", Name: "connections", Err: fmt.Errorf("%w: %w", stillActive(n), te)})
	}
}

// stopTree stops the tree within TreeTimeout.
func (c *Coordinator) stopTree(ctx context.Context, rep *report) {
	if c.cfg.Tree == nil {
		return
	}
	given, err, timedOut := call(ctx, c.cfg.TreeTimeout, stopsPromptly(c.cfg.Tree), c.cfg.Tree.Stop)
	if timedOut {
		rep.add(abandonedErr("stop", "tree", given))
		return
	}
	rep.absorb("stop", "tree", err)
}

// runHooks runs the hooks in reverse registration order.
func (c *Coordinator) runHooks(ctx context.Context, rep *report) {
	c.mu.Lock()
	hooks := c.hooks
	c.mu.Unlock()
	for i := len(hooks) - 1; i >= 0; i-- {
		h := hooks[i]
		path := "hook/" + h.name
		given, err, timedOut := call(ctx, h.timeout, false, h.fn)
		switch {
		case timedOut:
			rep.add(abandonedErr("hook", path, given))
		case err != nil:
			rep.failures = append(rep.failures, &ComponentError{Op: "hook", Name: path, Err: err})
		}
	}
}
