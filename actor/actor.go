// Package actor runs typed actors: one goroutine that owns its state and
// handles messages, one at a time, from a bounded mailbox.
//
// Use it when some state must have exactly one writer and many goroutines
// need to talk to it: the breaker, retry and deadline schedulers and the
// lifecycle supervisors of this module are all built on it. Compared with a
// bare goroutine and channel, an [Actor] adds the parts that are easy to get
// wrong: a send that never blocks ([Actor.Tell]), request/reply that cannot
// hang ([Ask]), timers owned by the actor ([Self.Schedule]), an ordered,
// idempotent stop that accounts for every accepted message ([Actor.Stop]),
// and panic capture reported through [Actor.Done] and [Actor.Err].
//
// The goroutine started by [Spawn] is owned by the returned *Actor: whoever
// holds it calls Stop, which signals and waits.
package actor

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/llm-research-lab/resilience"
)

// defaultMailbox is the mailbox capacity used when Config.Mailbox is zero.
const defaultMailbox = 64

// Config configures [Spawn]. The zero value is valid: an unnamed actor with
// a mailbox of 64 messages that drains it when stopped.
type Config struct {
	// Name identifies the actor in errors and reports. Default "actor".
	Name string
	// Mailbox is the number of messages that may wait to be handled.
	// 0 means 64; negative values are rejected. There is no unbounded
	// mailbox: a full one makes Tell return a *resilience.RejectedError
	// whose Reason is resilience.ErrFull.
	Mailbox int
	// DiscardOnStop makes a stop skip the messages still queued: they are
	// counted as undelivered and passed to the behaviour's Discard method,
	// if any. By default a stop handles every accepted message first,
	// unless the Stop context ends before.
	DiscardOnStop bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Mailbox < 0 {
		return c, &resilience.ConfigError{Field: "actor.Config.Mailbox", Reason: "must not be negative"}
	}
	if c.Mailbox == 0 {
		c.Mailbox = defaultMailbox
	}
	if c.Name == "" {
		c.Name = "actor"
	}
	return c, nil
}

// Behavior handles the messages of an actor whose messages are of type M.
// Receive runs on the actor's goroutine only, one message at a time, so the
// behaviour may keep its state in plain fields without locks.
//
// A Behavior may also have either or both of these methods, which run on
// the actor's goroutine after the last Receive and must not block:
//
//	Discard(msg M, cause error) // told of each accepted message never handled
//	Stopped(cause error)        // a last step when the actor stops
//
// Discard is called for every message the actor accepted but will not
// handle (a discarding stop, a stop deadline, a panic) and for every timer
// that has not fired; it is how a behaviour keeps the promise that every
// request gets an answer. Stopped runs after the mailbox is drained or
// discarded, for example to answer requests held in the behaviour's own
// state; cause is nil after a clean stop and the *resilience.PanicError
// after a panic. A Discard or Stopped method that panics or calls
// runtime.Goexit fails the actor (a method that exited is not called
// again), but every caller is still answered.
type Behavior[M any] interface {
	Receive(self *Self[M], msg M)
}

// discarder and stopper are the optional methods of a Behavior.
type discarder[M any] interface {
	Discard(msg M, cause error)
}

type stopper interface {
	Stopped(cause error)
}

// Func adapts a function to a [Behavior].
type Func[M any] func(self *Self[M], msg M)

// Receive calls f(self, msg).
func (f Func[M]) Receive(self *Self[M], msg M) { f(self, msg) }

// Actor is an actor that handles messages of type M. It is created by
// [Spawn] and is safe for concurrent use. Most callers want [Actor.Tell] or
// [Ask]; the owner calls [Actor.Stop]. There is no useful zero value.
//
// An Actor is a lifecycle component: [Actor.Start] after the actor stopped
// or failed starts it again in place, with a fresh behaviour from the
// factory given to Spawn; the handle, and so every reference to it, stays
// valid. [Actor.Done] and [Actor.Err] describe the current incarnation.
type Actor[M any] struct {
	cfg         Config
	newBehavior func() Behavior[M]
	full        *resilience.RejectedError // every full-mailbox refusal
	cur         atomic.Pointer[life[M]]   // the current incarnation
	restart     sync.Mutex                // one Start at a time replaces cur
	handled     atomic.Uint64
	slots       sync.Pool // recycled reply slots of Ask
}

// Spawn starts an actor that handles its messages with a behaviour made by
// newBehavior, and returns its handle. newBehavior is called again on each
// restart ([Actor.Start] after a stop), so every incarnation starts from a
// fresh state. The caller owns the goroutine: it runs until [Actor.Stop]
// is called (or the behaviour panics, or calls [Self.Stop]); Stop waits for
// it. A nil newBehavior, or one that returns nil, or an invalid cfg, is a
// [*resilience.ConfigError].
func Spawn[M any](cfg Config, newBehavior func() Behavior[M]) (*Actor[M], error) {
	if newBehavior == nil {
		return nil, &resilience.ConfigError{Field: "newBehavior", Reason: "must not be nil"}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Actor[M]{cfg: cfg, newBehavior: newBehavior,
		full: &resilience.RejectedError{Name: cfg.Name, Reason: resilience.ErrFull}}
	l, err := a.incarnate()
	if err != nil {
		return nil, err
	}
	a.cur.Store(l)
	go l.run()
	return a, nil
}

// incarnate builds a new incarnation with a fresh behaviour, not yet running.
func (a *Actor[M]) incarnate() (*life[M], error) {
	b := a.newBehavior()
	if f, ok := b.(Func[M]); b == nil || ok && f == nil {
		return nil, &resilience.ConfigError{Field: "newBehavior", Reason: "returned a nil Behavior"}
	}
	return &life[M]{
		h:             a,
		name:          a.cfg.Name,
		behavior:      b,
		discardOnStop: a.cfg.DiscardOnStop,
		mailbox:       make(chan envelope[M], a.cfg.Mailbox),
		stopping:      make(chan struct{}),
		done:          make(chan struct{}),
	}, nil
}

// Start makes sure the actor runs. It does nothing while the actor runs
// (an actor runs from Spawn on). Once the actor has stopped or failed it
// starts a new incarnation, with a fresh behaviour, on the same handle;
// if a stop is under way it first waits for it, and returns ctx.Err() if
// ctx ends first. It returns a [*resilience.ConfigError] if the factory
// returns nil.
func (a *Actor[M]) Start(ctx context.Context) error {
	l := a.cur.Load()
	if !l.stopReq.Load() {
		return nil
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	a.restart.Lock()
	defer a.restart.Unlock()
	if a.cur.Load() != l {
		return nil // a concurrent Start restarted it
	}
	n, err := a.incarnate()
	if err != nil {
		return err
	}
	a.cur.Store(n)
	go n.run()
	return nil
}

// Name returns the actor's name.
func (a *Actor[M]) Name() string { return a.cfg.Name }

// Tell puts msg in the mailbox without blocking. It returns a
// [*resilience.RejectedError] with Reason [resilience.ErrFull] if the
// mailbox is full, and [resilience.ErrStopped] once the actor is stopping
// or stopped (wrapping the [*resilience.PanicError] once an actor that
// failed is done, so errors.As finds why). A nil error means the message
// was accepted: it will be handled, or counted as undelivered by Stop.
func (a *Actor[M]) Tell(msg M) error { return a.cur.Load().offer(envelope[M]{msg: msg}) }

// Send puts msg in the mailbox, waiting for room until ctx is done. It
// returns ctx.Err() if ctx ends first and [resilience.ErrStopped] (as
// [Actor.Tell] does) if the actor stops first; the message was then not
// accepted. Prefer [Actor.Tell] from inside another actor: an actor
// blocked on a full mailbox cannot drain its own.
func (a *Actor[M]) Send(ctx context.Context, msg M) error { return a.cur.Load().send(ctx, msg) }

// Stop asks the actor to stop and waits until its goroutine has exited or
// ctx is done. Messages sent from now on are refused with
// [resilience.ErrStopped]; messages already accepted are handled, or
// discarded if Config.DiscardOnStop is set (a draining stop whose ctx
// ends discards the rest). Stop is idempotent and safe from any goroutine:
// the first call's ctx governs the stop, later calls only wait, each
// bounded by its own ctx.
//
// It returns nil after a clean stop, the [*resilience.PanicError] if a
// handler panicked, or ctx.Err() if ctx ended before the goroutine exited
// (the actor then keeps stopping in the background; its handler is not
// interrupted). [Actor.Undelivered] then counts the messages never handled.
// Stop must not be called from the actor's own handler, which would wait
// for itself: use [Self.Stop] there.
func (a *Actor[M]) Stop(ctx context.Context) error { return a.cur.Load().stop(ctx) }

// Done returns a channel that is closed when the current incarnation's
// goroutine has exited, whatever the reason. Supervisors select on it,
// then read [Actor.Err].
func (a *Actor[M]) Done() <-chan struct{} { return a.cur.Load().done }

// Err returns nil while the actor runs and after a clean stop, and the
// [*resilience.PanicError] after a handler panic. It is meaningful once
// Done is closed.
func (a *Actor[M]) Err() error { return a.cur.Load().Err() }

// Undelivered returns the number of accepted messages the current
// incarnation never handled; it is final once Done is closed, 0 before.
func (a *Actor[M]) Undelivered() int {
	l := a.cur.Load()
	select {
	case <-l.done:
		return l.undelivered
	default:
		return 0
	}
}

// Len returns the number of messages waiting in the mailbox.
func (a *Actor[M]) Len() int { return len(a.cur.Load().mailbox) }

// Cap returns the mailbox capacity.
func (a *Actor[M]) Cap() int { return a.cfg.Mailbox }

// Handled returns the number of messages and timers handled so far, by
// every incarnation.
func (a *Actor[M]) Handled() uint64 { return a.handled.Load() }
