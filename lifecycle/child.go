package lifecycle

import (
	"context"
	"errors"
	"sync"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// Child is anything a [Supervisor] can run: an actor, a goroutine with a
// run function, an http.Server, another supervisor.
//
// The contract:
//   - Start starts the child and returns once it runs, or with the reason
//     it could not start (then nothing of it may be left running). It is
//     called once per Child value; restarts get a fresh value from
//     Spec.New.
//   - Stop asks the child to stop and waits until it has, or until ctx is
//     done; it then returns ctx.Err() and the child may finish stopping in
//     the background. It returns nil after a clean stop. A Stop that
//     ignores ctx does not hang the supervisor, which abandons it, but it
//     leaks the goroutine running it until it returns.
//   - Done is closed when the child has exited, on its own or after Stop.
//   - Err is meaningful once Done is closed: nil for a clean exit, the
//     failure otherwise (an *actor.PanicError for a panicked actor).
type Child interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Done() <-chan struct{}
	Err() error
}

var errNilBehavior = &resilience.ConfigError{Field: "newBehavior", Reason: "returned a nil Behavior"}

// exitNotifier is implemented by the children of this package: they report
// their exit through a callback instead of needing a goroutine to watch
// Done, which halves the cost of a supervised actor.
type exitNotifier interface {
	onExit(fn func(err error))
}

// prompt is implemented by children whose Start does not block and whose
// Stop returns when its ctx is done, so the supervisor may call them
// directly instead of on a goroutine it could abandon.
type prompt interface {
	prompt()
}

// FromActor adapts a running actor: Start does nothing (the actor runs
// since Spawn), Stop calls a.Stop(ctx), Done and Err are the actor's.
// Use it inside Spec.New, after actor.Spawn, so each restart gets a fresh
// actor. [Spawner] does the same and saves a goroutine per actor.
func FromActor[M any](a *actor.Actor[M]) Child {
	return &adopted[M]{a: a}
}

type adopted[M any] struct {
	a *actor.Actor[M]
}

func (c *adopted[M]) Start(context.Context) error { return nil }
func (c *adopted[M]) Done() <-chan struct{}       { return c.a.Done() }
func (c *adopted[M]) Err() error                  { return c.a.Err() }
func (c *adopted[M]) prompt()                     {}

func (c *adopted[M]) Stop(ctx context.Context) error {
	return c.a.Stop(ctx)
}

// Spawner returns a Spec.New function that spawns a fresh actor, with a
// fresh behaviour from newBehavior, on every start and restart; the actor
// stops in [actor.Drain] mode. If publish is not nil it is called with each
// new actor as soon as it is spawned, on the supervisor's goroutine, so
// callers can route messages to the current incarnation (for example
// through an atomic.Pointer).
func Spawner[M any](cfg actor.Config, newBehavior func() actor.Behavior[M], publish func(*actor.Actor[M])) func() (Child, error) {
	return func() (Child, error) {
		if newBehavior == nil {
			return nil, errNilBehavior
		}
		b := newBehavior()
		if f, ok := b.(actor.Func[M]); b == nil || ok && f == nil {
			return nil, errNilBehavior // Spawn would not see it once wrapped
		}
		return &spawned[M]{cfg: cfg, b: b, publish: publish}, nil
	}
}

// spawned is a Child that spawns its actor in Start and reports the
// actor's exit from the actor's own Stopped hook.
type spawned[M any] struct {
	cfg     actor.Config
	b       actor.Behavior[M]
	publish func(*actor.Actor[M])
	hook    func(error)
	a       *actor.Actor[M]
}

// never is the Done channel of a child that has not started: never closed.
var never = make(chan struct{})

func (c *spawned[M]) onExit(fn func(error)) { c.hook = fn }
func (c *spawned[M]) prompt()               {}

func (c *spawned[M]) Start(context.Context) error {
	a, err := actor.Spawn(c.cfg, func() actor.Behavior[M] { return &notifying[M]{Behavior: c.b, hook: c.hook} })
	if err != nil {
		return err
	}
	c.a = a
	if c.publish != nil {
		c.publish(a)
	}
	return nil
}

func (c *spawned[M]) Stop(ctx context.Context) error {
	if c.a == nil {
		return nil
	}
	return c.a.Stop(ctx)
}

func (c *spawned[M]) Done() <-chan struct{} {
	if c.a == nil {
		return never
	}
	return c.a.Done()
}

func (c *spawned[M]) Err() error {
	if c.a == nil {
		return nil
	}
	return c.a.Err()
}

// notifying wraps a behaviour to call hook with the actor's exit cause,
// after the behaviour's own Stopped hook, if any.
type notifying[M any] struct {
	actor.Behavior[M]
	hook func(error)
}

// Discard forwards to the wrapped behaviour's Discard, if it has one.
func (n *notifying[M]) Discard(msg M, cause error) {
	if d, ok := n.Behavior.(interface{ Discard(M, error) }); ok {
		d.Discard(msg, cause)
	}
}

// Stopped runs the wrapped behaviour's Stopped and then the hook, also when
// the former panics (the actor then records that panic as its failure).
func (n *notifying[M]) Stopped(cause error) {
	defer func() {
		v := recover()
		if v != nil && cause == nil {
			cause = &resilience.PanicError{Value: v}
		}
		if n.hook != nil {
			n.hook(cause)
		}
		if v != nil {
			panic(v)
		}
	}()
	if s, ok := n.Behavior.(interface{ Stopped(error) }); ok {
		s.Stopped(cause)
	}
}

// FromFunc adapts a run function: Start runs it on a new goroutine with a
// context that Stop cancels; Stop then waits for it to return. The child
// exits when run returns; its Err is run's error, except that
// context.Canceled after Stop counts as a clean exit. A panic in run is a
// failure.
func FromFunc(run func(ctx context.Context) error) Child {
	return &funcChild{run: run, exitState: newExitState()}
}

type funcChild struct {
	exitState
	run    func(ctx context.Context) error
	cancel context.CancelFunc
}

func (c *funcChild) prompt() {}

func (c *funcChild) Start(context.Context) error {
	if c.run == nil {
		return errors.New("lifecycle: FromFunc: nil run function")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.serve(ctx)
	return nil
}

func (c *funcChild) serve(ctx context.Context) {
	err := safeRun(ctx, c.run)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	c.exit(err)
}

func (c *funcChild) Stop(ctx context.Context) error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exitState is the exit bookkeeping a goroutine-backed child shares: the
// error it exited with, the hook a supervisor set, and Done.
type exitState struct {
	hook func(error) // set by the supervisor before Start
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newExitState() exitState { return exitState{done: make(chan struct{})} }

func (x *exitState) onExit(fn func(error)) { x.hook = fn }
func (x *exitState) Done() <-chan struct{} { return x.done }

// Err returns the error the child exited with.
func (x *exitState) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
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
