// Package breaker is a circuit breaker: it stops calling a dependency that
// keeps failing, lets a few probe calls through after a timeout, and closes
// again when they succeed.
//
// Use it around calls to a remote service, a database or anything whose
// failures come in bursts and whose callers should fail fast meanwhile.
// The standard library has no breaker; its nearest neighbour is
// [context.WithTimeout], which bounds one call but learns nothing from the
// ones before.
//
// A [Breaker] is a [resilience.Gate]: call through it with
// [resilience.Do] or [Breaker.Run], put it in a [resilience.Pipeline], or
// use the two-step [Breaker.Allow] in middleware. A refusal is a
// [*resilience.RejectedError] whose Reason is [resilience.ErrOpen] (open,
// or half-open with every probe slot taken) or [resilience.ErrStopped];
// its RetryAfter says how long until the next probe.
//
// A Breaker is an actor: one goroutine (started on first need, owned by
// the Breaker and stopped by [Breaker.Stop]) is the only writer of its
// state, and publishes an immutable snapshot that callers read with one
// atomic load. A successful call in the closed state sends no message,
// reads no clock and writes only a counter in a cache line of its own; an
// open breaker refuses with no allocation. Callers message the actor only
// when something may change: a failure streak reaching the threshold, a
// half-open probe slot, a probe's result. See docs/breaker.md for the
// design and its measured trade-offs.
//
// A closed breaker opens on consecutive failures, on failures within a
// period (Config.FailurePeriod), on a failure rate over a count or time
// window (Config.FailureRate), or on a rule of your own over the
// [Counts] of the current generation (Config.ReadyToTrip). A half-open
// breaker closes on a run of probe successes or a success ratio, and
// reopens on its first probe failure or a configured number of them.
// [Breaker.ForceOpen], [Breaker.ForceHalfOpen], [Breaker.ForceClose] and
// [Breaker.Reset] move it by hand.
//
// Panics follow one policy: a panic in user code the breaker runs (the
// function, the classifier) counts as a failure, gives back any probe slot
// it held, and is raised again in the caller's goroutine. A panic in the
// trip rule, which the actor runs, trips nothing and is raised again, as a
// [*resilience.PanicError], in the caller whose failure it was judging.
//
// A [Family] holds one breaker per key (host, tenant, model), created on
// first use and evicted when idle, so memory stays bounded; see
// docs/bulkhead.md. Breakers and families satisfy the lifecycle component
// contract (Start, Stop, Done, Err), so a supervision tree can hold them.
package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

var _ resilience.Gate = (*Breaker)(nil)

// Breaker is a circuit breaker, safe for concurrent use by any number of
// goroutines. Create it with [New]; there is no useful zero value. The owner
// calls [Breaker.Stop] when done with it.
type Breaker struct {
	snap   atomic.Pointer[snapshot] // written by the actor only
	cfg    *Config                  // shared by the breakers of a family
	name   string                   // Config.Name, or a family's key
	shards shards

	// Written by the actor on transitions, read by Metrics.
	opened, closed, dropped atomic.Uint64

	// lost is set by a failing caller whose message to the actor could
	// not be sent; the actor then rereads the window's totals.
	lost atomic.Bool

	mu      sync.Mutex // guards spawning and stopping the actor, and the fields below
	act     atomic.Pointer[actor.Actor[msg]]
	stopped bool
	gone    bool                     // stopped, and the actor (if any) has exited
	exited  chan struct{}            // Done's channel, made on first need
	next    func() (*Breaker, error) // set when a family evicts it: the key's current breaker
	born    time.Duration            // when New ran, with a time window: see age
}

// snapshot is one published state. Every field above the padding is
// immutable once published; the atomics below it belong to this generation
// only, so a late writer (a call that started in an older generation)
// touches a snapshot nobody reads any more: stale results are ignored by
// construction.
type snapshot struct {
	pass    bool   // closed, running, no slow-call timing: the fast path
	reject  bool   // open: the fast rejection
	state   State  // reported state
	forced  bool   // held by ForceOpen or ForceClose
	stopped bool   // Stop was called, or the actor died
	gen     uint64 // the generation
	// refuse is the refusal: once stopped, the stop refusal or errEvicted;
	// while open or half-open, the prebuilt ErrOpen refusal.
	refuse error
	done   func(error) // Allow's done for this generation, built once
	// base is the lifetime calls and failures when this generation began,
	// nil for none (a new breaker's first generation costs no memory).
	base *totals
	_    [64]byte

	// Closed and half-open: consecutive failures in this generation, and
	// the lifetime success count before the current run of successes
	// began (written by the first failure of each run).
	streak atomic.Int64
	mark   atomic.Uint64

	// Half-open: probe outcomes that did not fit in the mailbox, by
	// judged outcome, for the actor to fold in.
	probes [resilience.Ignored + 1]atomic.Uint32

	// Closed: a flag a caller sets when the streak reaches the threshold
	// (read by the actor even when the message telling it so could not be
	// sent). Last, so the snapshot packs into 160 bytes.
	tripHit atomic.Bool
}

// New returns a closed breaker configured by cfg, or a
// [*resilience.ConfigError] naming the first invalid field. No goroutine
// is started until the breaker needs one (the first trip or manual
// control).
func New(cfg Config) (*Breaker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return newBreaker(&cfg, cfg.Name), nil
}

// newBreaker returns a closed breaker named name, configured by cfg, which
// must have been through withDefaults and is not copied.
func newBreaker(cfg *Config, name string) *Breaker {
	b := &Breaker{cfg: cfg, name: name, shards: newShards(cfg.Shards)}
	m := newMachine(b.cfg)
	b.snap.Store(b.newSnapshot(&m))
	if cfg.WindowDuration > 0 || cfg.FailurePeriod > 0 { // a time window places its first calls from here
		b.born = sinceBase()
	}
	return b
}

// newSnapshot builds the snapshot describing m.
func (b *Breaker) newSnapshot(m *machine) *snapshot {
	s := &snapshot{state: m.state, forced: m.forced, gen: m.gen}
	if t := b.shards.totals(); t != (totals{}) {
		s.base = &t
		s.mark.Store(t.calls - t.failures)
	}
	switch m.state {
	case Closed:
		s.pass = b.cfg.SlowCallDuration == 0
		s.done = func(err error) { // Allow's done: the success path is inlined
			if err == nil {
				b.closedSuccess(s)
				return
			}
			b.closedError(context.Background(), s, err)
		}
	case Open:
		s.reject = true
		until := m.until // zero when forced open: no probe is scheduled
		if !until.IsZero() {
			until = until.Add(probeMargin)
		}
		s.refuse = refusal(b.name, resilience.ErrOpen, until)
	case HalfOpen:
		s.refuse = refusal(b.name, resilience.ErrOpen, time.Time{})
		s.done = func(err error) { b.finish(context.Background(), permit{s: s, probe: true}, err) }
	}
	return s
}

// stoppedSnapshot returns a copy of s that refuses every call with
// [resilience.ErrStopped], wrapping cause (the actor's failure) if there
// is one; an evicted breaker's sends calls on to the key's current one.
// The caller holds b.mu.
func (b *Breaker) stoppedSnapshot(s *snapshot, cause error) *snapshot {
	var err error = stoppedRefusal(b.name, cause)
	if b.next != nil {
		err = errEvicted
	}
	return &snapshot{state: s.state, forced: s.forced, gen: s.gen, base: s.base, stopped: true, refuse: err}
}

// successor returns the breaker that now holds an evicted breaker's key.
func (b *Breaker) successor() (*Breaker, error) {
	b.mu.Lock()
	next := b.next
	b.mu.Unlock()
	return next()
}

// State returns the current state. It is one atomic load.
func (b *Breaker) State() State { return b.snap.Load().state }

// Name returns the breaker's Config.Name, or in a [Family] its key
// (fmt.Sprint of it when the key is not a string).
func (b *Breaker) Name() string { return b.name }

// Run calls fn through b and returns its error unchanged. While b is open
// (or half-open with every probe slot taken) it returns a
// [*resilience.RejectedError] whose Reason is [resilience.ErrOpen] without
// calling fn; after Stop, one whose Reason is [resilience.ErrStopped]. ctx
// is passed to fn. The breaker waits for its actor only on rare steps (a
// half-open admission, a probe's report, the failure that trips it, every
// failure with a failure-rate window), and each such wait ends when ctx
// does; a half-open admission cut short returns ctx's error.
//
// A panic in fn is counted as a failure and continues unwinding in the
// caller's goroutine; it never reaches the breaker's actor.
// [resilience.Do] calls through b the same way, via [Breaker.Allow], and
// returns fn's value too.
func (b *Breaker) Run(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return errNilFunc
	}
	s := b.snap.Load()
	if s.pass {
		return b.runClosed(ctx, s, fn)
	}
	if s.reject {
		return b.rejectOpen(s)
	}
	err := b.runSlow(ctx, s, fn)
	if err != errEvicted {
		return err
	}
	next, err := b.successor()
	if err != nil {
		return err
	}
	return next.Run(ctx, fn)
}

// errNilFunc is returned for a nil function.
var errNilFunc = &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}

// runClosed is Run's fast path: closed generation s, no slow-call timing.
func (b *Breaker) runClosed(ctx context.Context, s *snapshot, fn func(context.Context) error) error {
	ok := false
	defer b.closedGuard(s, &ok)
	err := fn(ctx)
	ok = true
	if err != nil {
		b.closedError(ctx, s, err)
		return err
	}
	b.closedSuccess(s)
	return nil
}

// rejectOpen counts a call refused by open snapshot s and returns the
// refusal.
func (b *Breaker) rejectOpen(s *snapshot) error {
	b.shards.add(cRejectedOpen)
	return s.refuse
}

// closedGuard is the closed path's panic guard: deferred before fn runs,
// it counts a failure if fn did not return (ok is still false), and the
// panic goes on unwinding in the caller. A deferred method call costs a
// little less here than a deferred closure.
func (b *Breaker) closedGuard(s *snapshot, ok *bool) {
	if !*ok {
		b.closedResult(context.Background(), s, failure)
	}
}

// runSlow is Run for every case but a plain closed breaker. It returns
// errEvicted, without calling fn, for a breaker its family evicted.
func (b *Breaker) runSlow(ctx context.Context, s *snapshot, fn func(context.Context) error) error {
	p, err := b.acquireCtx(ctx, s)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			b.finishOutcome(ctx, p, failure, b.isSlow(p))
		}
	}()
	err = fn(ctx)
	ok = true
	b.finish(ctx, p, err)
	return err
}

// Allow is the two-step form of [Breaker.Run] for middleware, streaming
// calls and [resilience.Do]: it returns an error if the call must not be
// made (the same errors as Run), and otherwise a done function the caller
// must call exactly once with the call's error when it finishes. In the
// closed and half-open states done is built once per state, so Allow does
// not allocate unless Config.SlowCallDuration is set (done then carries
// the start time). A caller that abandons the call should pass an error
// its classifier ignores, such as context.Canceled, so a half-open probe
// slot is freed. Like Run, Allow's waits for the actor end with ctx; done
// has no context, so its rare waits (a probe's report, a tripping
// failure) are bounded by [Breaker.Stop].
func (b *Breaker) Allow(ctx context.Context) (done func(error), err error) {
	s := b.snap.Load()
	if s.pass {
		return s.done, nil
	}
	if s.reject {
		return nil, b.rejectOpen(s)
	}
	return b.allowSlow(ctx, s)
}

// allowSlow is Allow for every case but a plain closed or open breaker,
// kept apart so that Allow's own frame stays small.
func (b *Breaker) allowSlow(ctx context.Context, s *snapshot) (done func(error), err error) {
	p, err := b.acquireCtx(ctx, s)
	switch {
	case err == errEvicted:
		next, err := b.successor()
		if err != nil {
			return nil, err
		}
		return next.Allow(ctx)
	case err != nil:
		return nil, err
	case p.start.IsZero():
		return p.s.done, nil
	}
	return func(err error) { b.finish(ctx, p, err) }, nil
}

// Start makes b ready for calls. A breaker is ready once [New] returns and
// starts its goroutine on first need, so Start does nothing but report a
// stopped breaker ([resilience.ErrStopped]). It is idempotent.
func (b *Breaker) Start(context.Context) error {
	if s := b.snap.Load(); s.stopped {
		return stoppedRefusal(b.name, nil)
	}
	return nil
}

// Stop stops the breaker's actor and waits for it, or for ctx to be done.
// Calls made afterwards are refused with [resilience.ErrStopped]. It
// returns nil, ctx.Err() if ctx ended first (the actor then finishes
// stopping in the background), or the actor's failure. Calls in flight are
// not waited for; their results are counted and otherwise ignored. Stop is
// idempotent.
func (b *Breaker) Stop(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	a := b.act.Load()
	if a == nil && !b.gone {
		b.snap.Store(b.stoppedSnapshot(b.snap.Load(), nil))
		b.markExited()
	}
	b.mu.Unlock()
	if a == nil {
		return nil
	}
	return a.Stop(ctx)
}

// Done returns a channel that is closed once b has stopped and its
// goroutine, if it had one, has exited: after [Breaker.Stop], or when the
// actor failed.
func (b *Breaker) Done() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.exited == nil {
		b.exited = make(chan struct{})
		if b.gone {
			close(b.exited)
		}
	}
	return b.exited
}

// Err returns nil while b runs and after a clean stop, and the actor's
// failure if it failed.
func (b *Breaker) Err() error {
	if a := b.act.Load(); a != nil {
		select {
		case <-a.Done():
			return a.Err()
		default:
		}
	}
	return nil
}

// markExited records that b has stopped for good and closes Done's
// channel. The caller holds b.mu.
func (b *Breaker) markExited() {
	if b.gone {
		return
	}
	b.gone = true
	if b.exited != nil {
		close(b.exited)
	}
}

// ref returns the actor, starting it on first use.
func (b *Breaker) ref() (*actor.Actor[msg], error) {
	if a := b.act.Load(); a != nil {
		return a, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if a := b.act.Load(); a != nil {
		return a, nil
	}
	if b.stopped {
		return nil, resilience.ErrStopped
	}
	// Until now nothing could change the state: the engine starts from
	// the first snapshot, so an idle breaker costs neither a goroutine nor
	// the engine's memory.
	eng := &engine{b: b, m: newMachine(b.cfg), cur: b.snap.Load(), win: newWindow(*b.cfg), fails: newFailureLog(*b.cfg)}
	a, err := actor.Spawn(actor.Config{Name: b.name, Mailbox: b.cfg.Mailbox}, func() actor.Behavior[msg] { return eng })
	if err != nil {
		return nil, err
	}
	b.act.Store(a)
	return a, nil
}

// tell sends m to the actor without blocking.
func (b *Breaker) tell(m msg) error {
	a, err := b.ref()
	if err != nil {
		return err
	}
	return a.Tell(m)
}

// stoppedOr maps the actor's stop to [resilience.ErrStopped] and returns
// any other error as it is.
func stoppedOr(err error) error {
	if errors.Is(err, resilience.ErrStopped) {
		return resilience.ErrStopped
	}
	return err
}

// ForceOpen opens the breaker and holds it open, rejecting every call,
// until [Breaker.Reset]. It waits for the actor to apply it, or for ctx.
func (b *Breaker) ForceOpen(ctx context.Context) error { return b.control(ctx, ctlOpen) }

// ForceHalfOpen moves the breaker to half-open now, whatever its state,
// releasing a forced one: up to HalfOpenMaxRequests probes pass, and their
// results close or reopen it as after an open timeout. It waits for the
// actor to apply it, or for ctx.
func (b *Breaker) ForceHalfOpen(ctx context.Context) error { return b.control(ctx, ctlHalfOpen) }

// ForceClose closes the breaker and holds it closed, whatever the
// failures, until [Breaker.Reset]. It waits for the actor, or for ctx.
func (b *Breaker) ForceClose(ctx context.Context) error { return b.control(ctx, ctlClose) }

// Reset returns the breaker to a fresh closed state: the failure streak,
// window and open-timeout backoff are forgotten, a forced state is
// released. Lifetime metrics are kept. It waits for the actor, or for ctx.
func (b *Breaker) Reset(ctx context.Context) error { return b.control(ctx, ctlReset) }

func (b *Breaker) control(ctx context.Context, c control) error {
	err := askWait(ctx, b, func(r actor.Reply[error]) msg {
		return msg{kind: kControl, control: c, ack: r}
	})
	if err == resilience.ErrStopped {
		return stoppedRefusal(b.name, nil)
	}
	return err
}

// askWait is ask for a request that waits for room in the mailbox. The
// actor's reply, an error or nil, is returned as it is.
func askWait(ctx context.Context, b *Breaker, mk func(actor.Reply[error]) msg) error {
	a, err := b.ref()
	if err != nil {
		return err
	}
	r, ch := actor.NewReply[error]()
	if err := a.Send(ctx, mk(r)); err != nil {
		return stoppedOr(err)
	}
	select {
	case err := <-ch:
		return err
	case <-a.Done():
		select {
		case err := <-ch:
			return err
		default:
			return resilience.ErrStopped
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}
