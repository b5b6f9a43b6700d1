package lifecycle

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for [ShutdownConfig] fields left zero.
const (
	DefaultServerTimeout = 10 * time.Second // DefaultServerTimeout is ShutdownConfig.ServerTimeout's default.
	DefaultGracePeriod   = 30 * time.Second // DefaultGracePeriod is ShutdownConfig.GracePeriod's default.
	DefaultTreeTimeout   = 30 * time.Second // DefaultTreeTimeout is ShutdownConfig.TreeTimeout's default.
	DefaultHookTimeout   = 5 * time.Second  // DefaultHookTimeout is ShutdownConfig.HookTimeout's default.
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
	// servers still busy then are closed. Default 10s.
	ServerTimeout time.Duration
	// GracePeriod bounds the wait for connection guards to be released.
	// Default 30s.
	GracePeriod time.Duration
	// TreeTimeout bounds the stop of Tree. Default 30s; give it at least
	// the sum of the tree's stop timeouts.
	TreeTimeout time.Duration
	// HookTimeout is the timeout of a hook registered with a zero timeout.
	// Default 5s.
	HookTimeout time.Duration
	// Servers stop accepting in the third phase (http.Server.Shutdown).
	// List a server here or as a tree child ([FromServer]), not both.
	Servers []*http.Server
	// Tree, usually the root *Supervisor, is stopped in the fifth phase.
	// Optional.
	Tree Child
}

func (c ShutdownConfig) withDefaults() (ShutdownConfig, error) {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"PropagationDelay", c.PropagationDelay}, {"ServerTimeout", c.ServerTimeout},
		{"GracePeriod", c.GracePeriod}, {"TreeTimeout", c.TreeTimeout}, {"HookTimeout", c.HookTimeout}} {
		if f.v < 0 {
			return c, &ConfigError{Field: f.name, Reason: "must not be negative"}
		}
	}
	for i, s := range c.Servers {
		if s == nil {
			return c, &ConfigError{Field: fmt.Sprintf("Servers[%d]", i), Reason: "is nil"}
		}
	}
	c.ServerTimeout = orDefault(c.ServerTimeout, DefaultServerTimeout)
	c.GracePeriod = orDefault(c.GracePeriod, DefaultGracePeriod)
	c.TreeTimeout = orDefault(c.TreeTimeout, DefaultTreeTimeout)
	c.HookTimeout = orDefault(c.HookTimeout, DefaultHookTimeout)
	return c, nil
}

// Coordinator runs a graceful shutdown in phases, each bounded: mark not
// ready, wait for the propagation delay, stop accepting (http.Server
// Shutdown), drain connection guards, stop the supervision tree, run the
// shutdown hooks in reverse registration order. It also hands out the
// connection guards and serves the readiness probe.
//
// A Coordinator is built by [NewCoordinator] (the zero value is not
// usable); it is safe for concurrent use. Most callers want [Coordinator.Hook], [Coordinator.Track] and, on a
// signal (see [NotifyContext]), [Coordinator.Shutdown].
type Coordinator struct {
	cfg ShutdownConfig

	// gate holds closedBit once shutdown began, plus the number of
	// guards held.
	gate     atomic.Int64
	idle     chan struct{} // closed once shutting down with no guard held
	idleOnce sync.Once

	began atomic.Bool
	mu    sync.Mutex
	hooks []hook

	done chan struct{} // closed when Shutdown has finished
	err  error         // written before done is closed
}

type hook struct {
	name    string
	timeout time.Duration
	fn      func(ctx context.Context) error
}

// closedBit marks the guard gate closed.
const closedBit = int64(1) << 62

// NewCoordinator returns a coordinator, or a *ConfigError.
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
// its goroutine. It returns ErrShuttingDown once shutdown has begun and a
// *ConfigError for an empty name, a nil fn or a negative timeout.
func (c *Coordinator) Hook(name string, timeout time.Duration, fn func(ctx context.Context) error) error {
	switch {
	case name == "":
		return &ConfigError{Field: "Hook name", Reason: "is required"}
	case fn == nil:
		return &ConfigError{Field: "Hook fn", Reason: "is required"}
	case timeout < 0:
		return &ConfigError{Field: "Hook timeout", Reason: "must not be negative"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.began.Load() {
		return ErrShuttingDown
	}
	c.hooks = append(c.hooks, hook{name: name, timeout: orDefault(timeout, c.cfg.HookTimeout), fn: fn})
	return nil
}

// Guard is one tracked connection or request, from [Coordinator.Acquire].
// Shutdown waits, up to the grace period, until every guard is released.
// It is safe for concurrent use; the zero Guard tracks nothing.
type Guard struct {
	c        *Coordinator
	released atomic.Bool
}

// Release gives the guard back. It is idempotent, and does nothing on a
// nil or zero Guard.
func (g *Guard) Release() {
	if g == nil || g.c == nil || g.released.Swap(true) {
		return
	}
	g.c.leave()
}

// Acquire takes a connection guard; release it when the connection or
// request is done. It returns ErrShuttingDown once shutdown has passed its
// propagation delay (at once when there is none): during the delay the
// service is marked not ready but still serves what load balancers send.
func (c *Coordinator) Acquire() (*Guard, error) {
	if c.gate.Add(1)&closedBit != 0 {
		c.leave()
		return nil, ErrShuttingDown
	}
	return &Guard{c: c}, nil
}

func (c *Coordinator) leave() {
	if c.gate.Add(-1) == closedBit {
		c.idleOnce.Do(func() { close(c.idle) })
	}
}

// ActiveConnections returns the number of guards held.
func (c *Coordinator) ActiveConnections() int {
	return int(c.gate.Load() &^ closedBit)
}

// ShuttingDown reports whether shutdown has begun.
func (c *Coordinator) ShuttingDown() bool { return c.began.Load() }

// Done returns a channel closed when Shutdown has finished.
func (c *Coordinator) Done() <-chan struct{} { return c.done }

// Err returns the result of Shutdown once Done is closed, nil before.
func (c *Coordinator) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Shutdown runs the shutdown phases in order and returns when the last
// one has finished:
//
//  1. not ready: [Coordinator.Readiness] starts failing, Hook starts
//     returning ErrShuttingDown;
//  2. wait PropagationDelay, still serving; then Acquire starts returning
//     ErrShuttingDown;
//  3. stop accepting: Shutdown every server, within ServerTimeout, Close
//     those still busy;
//  4. drain: wait up to GracePeriod for the guards to be released;
//  5. stop the tree, within TreeTimeout (each child within its own);
//  6. run the hooks in reverse registration order, each within its own
//     timeout.
//
// Every phase runs even if an earlier one failed or timed out. The result
// joins a *ComponentError per failure and, if anything was abandoned or
// guards were still held, one *TimeoutError (errors.Is ErrShutdownTimeout)
// listing them; nil if everything finished cleanly. If ctx ends, the
// remaining phases are hurried: each is started with an expired context
// and not waited for. A second call returns ErrAlreadyShuttingDown at
// once, without waiting; use [Coordinator.Done] to wait.
func (c *Coordinator) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	first := !c.began.Swap(true)
	c.mu.Unlock()
	if !first {
		return ErrAlreadyShuttingDown
	}
	var rep report
	sleep(ctx, c.cfg.PropagationDelay) // 2: not ready, still serving
	c.closeGate()                      // new guards refused from here on
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
				rep.abandoned = append(rep.abandoned, Abandoned{Name: "server", Path: path, Given: given})
				return
			}
			rep.absorb("server", path, err)
		})
	}
	wg.Wait()
}

// drain waits for the guards, up to GracePeriod.
func (c *Coordinator) drain(ctx context.Context, rep *report) {
	t := time.NewTimer(c.cfg.GracePeriod)
	defer t.Stop()
	select {
	case <-c.idle:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	rep.active = c.ActiveConnections()
}

// stopTree stops the tree within TreeTimeout.
func (c *Coordinator) stopTree(ctx context.Context, rep *report) {
	if c.cfg.Tree == nil {
		return
	}
	given, err, timedOut := call(ctx, c.cfg.TreeTimeout, stopsPromptly(c.cfg.Tree), c.cfg.Tree.Stop)
	if timedOut {
		rep.abandoned = append(rep.abandoned, Abandoned{Name: "tree", Path: "tree", Given: given})
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
			rep.abandoned = append(rep.abandoned, Abandoned{Name: h.name, Path: path, Given: given})
		case err != nil:
			rep.failures = append(rep.failures, &ComponentError{Op: "hook", Name: path, Err: err})
		}
	}
}
