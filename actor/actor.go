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
)

// DefaultMailbox is the mailbox capacity used when Config.Mailbox is zero.
const DefaultMailbox = 64

// Config configures [Spawn]. The zero value is valid: an unnamed actor with
// a mailbox of [DefaultMailbox] messages.
type Config struct {
	// Name identifies the actor in errors and reports. Default "actor".
	Name string
	// Mailbox is the number of messages that may wait to be handled.
	// Default DefaultMailbox; negative values are rejected. There is no
	// unbounded mailbox: a full one makes Tell return ErrMailboxFull.
	Mailbox int
}

func (c Config) withDefaults() (Config, error) {
	if c.Mailbox < 0 {
		return c, &ConfigError{Field: "Mailbox", Reason: "must not be negative"}
	}
	if c.Mailbox == 0 {
		c.Mailbox = DefaultMailbox
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
// A Behavior may also implement [Discarder] to be told of every accepted
// message that will never be handled, and [Stopper] to run a last step on
// the actor's goroutine when it stops.
type Behavior[M any] interface {
	Receive(self *Self[M], msg M)
}

// Func adapts a function to a [Behavior].
type Func[M any] func(self *Self[M], msg M)

// Receive calls f(self, msg).
func (f Func[M]) Receive(self *Self[M], msg M) { f(self, msg) }

// Discarder is implemented by behaviours that must answer messages the actor
// accepted but will never handle (a discard stop, a stop deadline, a panic).
// Discard runs on the actor's goroutine after the last Receive; it must not
// block. It is how a behaviour keeps the promise that every request gets an
// answer.
type Discarder[M any] interface {
	Discard(msg M, cause error)
}

// Stopper is implemented by behaviours that need a last step when the actor
// stops, for example to answer requests held in their own state. Stopped runs
// on the actor's goroutine after the mailbox is drained or discarded; cause is
// nil after a clean stop and the *PanicError after a panic. A Discard or
// Stopped hook that panics or calls runtime.Goexit fails the actor (a hook
// that exited is not called again), but every caller is still answered.
type Stopper interface {
	Stopped(cause error)
}

// State is an actor's lifecycle state, as reported by [Actor.State].
type State int32

// The states of an actor, in the order it moves through them.
const (
	Running  State = iota // handling messages
	Stopping              // Stop was called; draining or discarding the mailbox
	Stopped               // the goroutine has exited cleanly
	Failed                // the goroutine has exited after a handler panic
)

// String returns the state's lowercase name.
func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Stopping:
		return "stopping"
	case Stopped:
		return "stopped"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// StopMode says what [Actor.Stop] does with messages still in the mailbox.
type StopMode int

const (
	// Drain handles every message already accepted, then stops. If the
	// Stop context ends first, the rest are discarded and counted.
	Drain StopMode = iota
	// Discard stops after the message being handled; the rest are counted
	// as undelivered and passed to the behaviour's Discard method, if any.
	Discard
)

// closedBit marks the gate closed; the bits below it count senders that are
// between their check of the gate and the end of their channel send.
const closedBit = int64(1) << 62

// Actor is a running actor that handles messages of type M. It is created by
// [Spawn] and is safe for concurrent use. Most callers want [Actor.Tell] or
// [Ask]; the owner calls [Actor.Stop]. There is no useful zero value.
type Actor[M any] struct {
	name     string
	behavior Behavior[M]
	mailbox  chan envelope[M] // closed by seal once no sender can use it

	// gate admits senders: closedBit once stopping has begun, plus the
	// number of senders in flight. Whoever leaves a closed gate empty (the
	// last sender out, or requestStop if none is in) seals the mailbox, so
	// its final content is known and every accepted message is either
	// handled or counted. Nobody waits for the gate to empty.
	gate     atomic.Int64
	sealOnce sync.Once // closes mailbox

	state   atomic.Int32
	handled atomic.Uint64

	stopOnce   sync.Once
	stopReq    atomic.Bool     // set when Stop begins; checked before each message
	stopping   chan struct{}   // closed when Stop begins; never sent on
	stopMode   StopMode        // written before stopping is closed
	stopCancel <-chan struct{} // first Stop's ctx.Done(); written before stopping is closed

	leftover    envelope[M]  // a message taken out by the loop after Stop began
	hasLeftover bool         // loop-only, like leftover
	outstanding []pendingAsk // loop-only: asks handled without a reply yet
	slots       sync.Pool    // recycled reply slots of Ask

	inHooks     bool          // loop-only: finish is running the shutdown hooks
	published   bool          // loop-only: the outcome is published
	done        chan struct{} // closed by the loop when it exits; never sent on
	err         error         // loop-only until done is closed, then read-only
	refusal     error         // what senders are told once done; written before done is closed
	undelivered int           // written before done is closed
}

// Spawn starts an actor that handles its messages with b, and returns its
// handle. The caller owns the goroutine: it runs until [Actor.Stop] is called
// (or the behaviour panics, or calls [Self.Stop]); Stop waits for it.
func Spawn[M any](cfg Config, b Behavior[M]) (*Actor[M], error) {
	if b == nil {
		return nil, ErrNilBehavior
	}
	if f, ok := b.(Func[M]); ok && f == nil {
		return nil, ErrNilBehavior
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Actor[M]{
		name:     cfg.Name,
		behavior: b,
		mailbox:  make(chan envelope[M], cfg.Mailbox),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go a.run()
	return a, nil
}

// Name returns the actor's name.
func (a *Actor[M]) Name() string { return a.name }

// envelope is what the mailbox carries: a message and, for an [Ask], the
// reply slot the actor answers if it stops without replying.
type envelope[M any] struct {
	msg M
	ask asker // nil unless sent by Ask
	gen uint64
}

// Tell puts msg in the mailbox without blocking. It returns
// [ErrMailboxFull] if the mailbox is full and [ErrStopped] once the actor is
// stopping or stopped (wrapping the [*PanicError] once an actor that failed
// is done, so errors.As finds why). A nil error means the message was accepted: it will
// be handled, or counted as undelivered by Stop.
func (a *Actor[M]) Tell(msg M) error { return a.offer(envelope[M]{msg: msg}) }

// offer is Tell for an envelope.
func (a *Actor[M]) offer(env envelope[M]) error {
	if a.gate.Add(1)&closedBit != 0 {
		a.leave()
		return a.refused()
	}
	var err error
	select {
	case a.mailbox <- env:
	default:
		err = ErrMailboxFull
	}
	a.leave()
	return err
}

// leave ends a sender's passage through the gate. The sender that leaves a
// closed gate empty seals the mailbox: every sender that passed the gate
// before it closed has finished its send.
func (a *Actor[M]) leave() {
	if a.gate.Add(-1) == closedBit {
		a.seal()
	}
}

// refused is the error for a sender the closed gate turned away:
// [ErrStopped], wrapping the [*PanicError] once a failed actor is done.
func (a *Actor[M]) refused() error {
	select {
	case <-a.done:
		return a.refusal
	default:
		return ErrStopped
	}
}

// seal closes the mailbox, once. It is called only when the gate is closed
// and no sender that passed it is still sending, so nobody can send on the
// mailbox any more; it can only shrink. Closing it wakes the loop.
func (a *Actor[M]) seal() { a.sealOnce.Do(func() { close(a.mailbox) }) }

// Send puts msg in the mailbox, waiting for room until ctx is done. It
// returns ctx.Err() if ctx ends first and [ErrStopped] (as [Actor.Tell]
// does) if the actor stops first; the message was then not accepted. Prefer [Actor.Tell] from inside
// another actor: an actor blocked on a full mailbox cannot drain its own.
func (a *Actor[M]) Send(ctx context.Context, msg M) error {
	if a.gate.Add(1)&closedBit != 0 {
		a.leave()
		return a.refused()
	}
	defer a.leave()
	env := envelope[M]{msg: msg}
	select {
	case a.mailbox <- env:
		return nil
	default:
	}
	select {
	case a.mailbox <- env:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopping:
		return ErrStopped
	}
}

// Stop asks the actor to stop and waits until its goroutine has exited or
// ctx is done. Messages sent from now on are refused with [ErrStopped];
// messages already accepted are handled (mode [Drain]) or discarded (mode
// [Discard]). Stop is idempotent and safe from any goroutine: the first
// call's mode and ctx govern the stop, later calls only wait.
//
// It returns the number of accepted messages that were never handled, and
// an error: nil after a clean stop, the [*PanicError] if a handler panicked,
// or ctx.Err() if ctx ended before the goroutine exited (the actor then keeps
// stopping in the background; its handler is not interrupted). Stop must not
// be called from the actor's own handler, which would wait for itself: use
// [Self.Stop] there.
func (a *Actor[M]) Stop(ctx context.Context, mode StopMode) (undelivered int, err error) {
	a.requestStop(mode, ctx.Done())
	select {
	case <-a.done:
		return a.undelivered, a.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// requestStop starts the stop once, without waiting for anyone: it records
// the mode, wakes blocked Send calls, and closes the gate to new senders.
// If no sender is in flight it seals the mailbox itself; otherwise the last
// one to leave does (their sends never block for long: Tell does not block
// and Send gives up when stopping closes).
func (a *Actor[M]) requestStop(mode StopMode, cancel <-chan struct{}) {
	a.stopOnce.Do(func() {
		a.stopMode, a.stopCancel = mode, cancel
		a.state.CompareAndSwap(int32(Running), int32(Stopping))
		a.stopReq.Store(true)
		close(a.stopping)
		if a.gate.Or(closedBit) == 0 {
			a.seal()
		}
	})
}

// failure is the actor's failure; askers read it after the actor
// abandoned their ask, which it does after writing err.
func (a *Actor[M]) failure() error { return a.err }

// Done returns a channel that is closed when the actor's goroutine has
// exited, whatever the reason. Supervisors select on it, then read
// [Actor.Err].
func (a *Actor[M]) Done() <-chan struct{} { return a.done }

// Err returns nil while the actor runs and after a clean stop, and the
// [*PanicError] after a handler panic. It is meaningful once Done is closed.
func (a *Actor[M]) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}

// State returns the actor's current state.
func (a *Actor[M]) State() State { return State(a.state.Load()) }

// Len returns the number of messages waiting in the mailbox.
func (a *Actor[M]) Len() int { return len(a.mailbox) }

// Cap returns the mailbox capacity.
func (a *Actor[M]) Cap() int { return cap(a.mailbox) }

// Handled returns the number of messages and timers handled so far.
func (a *Actor[M]) Handled() uint64 { return a.handled.Load() }
