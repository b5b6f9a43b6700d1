package lifecycle

import (
	"context"
	"errors"
	"sync"

	"github.com/llm-research-lab/resilience"
)

// Component is anything a [Supervisor] can run: an actor, a goroutine with
// a run function ([Func]), an http.Server ([Server]), another supervisor,
// a breaker. Components of this module satisfy it without importing this
// package.
//
// The contract:
//   - Start starts the component and returns once it runs, or with the
//     reason it could not start (then nothing of it may be left running).
//     It is idempotent while the component runs; after the component has
//     exited or been stopped it starts it again, in place, on the same
//     handle. Components whose Start cannot run twice are given to a
//     supervisor through Spec.New instead.
//   - Stop asks the component to stop and waits until it has, or until ctx
//     is done; it then returns ctx.Err() and the component may finish
//     stopping in the background. It returns nil after a clean stop and is
//     idempotent. A Stop that ignores ctx does not hang the supervisor,
//     which abandons it, but it leaks the goroutine running it until it
//     returns.
//   - Done is closed when the current run has exited, on its own or after
//     Stop.
//   - Err is meaningful once Done is closed: nil for a clean exit, the
//     failure otherwise (a *resilience.PanicError for a panic).
type Component interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Done() <-chan struct{}
	Err() error
}

// exitNotifier is implemented by the components of this package: they
// report their exit through a callback instead of needing a goroutine to
// watch Done.
type exitNotifier interface {
	onExit(fn func(err error))
}

// prompt is implemented by components whose Start does not block and whose
// Stop returns when its ctx is done, so the supervisor may call them
// directly instead of on a goroutine it could abandon.
type prompt interface {
	prompt()
}

// never is the Done channel of a component that has not started: never
// closed.
var never = make(chan struct{})

// Func adapts a run function: Start runs it on a new goroutine with a
// context that Stop cancels; Stop then waits for it to return. The
// component exits when run returns; its Err is run's error, except that
// context.Canceled after Stop counts as a clean exit. A panic in run is a
// failure, a *resilience.PanicError. Start after an exit runs run again.
// A nil run makes Start return a *resilience.ConfigError.
func Func(run func(ctx context.Context) error) Component {
	return &funcComponent{run: run}
}

type funcComponent struct {
	run func(ctx context.Context) error

	mu     sync.Mutex
	hook   func(error)
	cur    *exitState // the current run; nil before the first Start
	cancel context.CancelFunc
}

func (c *funcComponent) prompt() {}

func (c *funcComponent) onExit(fn func(error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = fn
}

func (c *funcComponent) Start(context.Context) error {
	if c.run == nil {
		return &resilience.ConfigError{Field: "fn", Reason: "lifecycle.Func: run must not be nil"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && !c.cur.exited() {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := newExitState(c.hook)
	c.cur, c.cancel = x, cancel
	go c.serve(ctx, x)
	return nil
}

func (c *funcComponent) serve(ctx context.Context, x *exitState) {
	err := safeRun(ctx, c.run)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	x.exit(err)
}

func (c *funcComponent) Stop(ctx context.Context) error {
	c.mu.Lock()
	x, cancel := c.cur, c.cancel
	c.mu.Unlock()
	if x == nil {
		return nil
	}
	cancel()
	select {
	case <-x.done:
		return x.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *funcComponent) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return never
	}
	return c.cur.done
}

func (c *funcComponent) Err() error {
	c.mu.Lock()
	x := c.cur
	c.mu.Unlock()
	if x == nil {
		return nil
	}
	return x.Err()
}

// exitState is the exit bookkeeping of one run of a goroutine-backed
// component: the error it exited with, the hook a supervisor set, and Done.
type exitState struct {
	hook func(error) // set before the run starts
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newExitState(hook func(error)) *exitState {
	return &exitState{hook: hook, done: make(chan struct{})}
}

// Err returns the error the run exited with.
func (x *exitState) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// exited reports whether the run has exited.
func (x *exitState) exited() bool {
	select {
	case <-x.done:
		return true
	default:
		return false
	}
}

// exit records err, tells the supervisor's hook and closes Done.
func (x *exitState) exit(err error) {
	x.mu.Lock()
	x.err = err
	x.mu.Unlock()
	if x.hook != nil {
		x.hook(err)
	}
	close(x.done)
}

// safeRun calls fn, turning a panic into an error.
func safeRun(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return fn(ctx)
}
