package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// Supervisor runs children in order, restarts them by its strategy when
// they exit, and stops them in reverse order, one at a time, each within
// its own stop timeout. It is itself a [Child], so supervisors nest (see
// [Sub]); a supervisor that exceeds its restart intensity stops its
// children and fails, and its parent decides what happens next.
//
// A Supervisor is built by [New] (the zero value is not usable), started
// once by [Supervisor.Start] and stopped by [Supervisor.Stop]. Its methods are safe for concurrent use.
// Its decisions are made by a pure function (see decide.go) and carried
// out by one actor; child Start and Stop calls run on that actor, or on a
// goroutine it abandons if they do not return in time.
type Supervisor struct {
	cfg   Config
	specs []Spec
	path  string // written before Start; nested supervisors get their parent's prefix

	mu      sync.Mutex // orders Start against Stop
	started bool       // guarded by mu
	halted  bool       // Stop was called; guarded by mu
	halt    context.CancelFunc
	haltCtx context.Context // cancelled by Stop: no child starts after it
	ref     atomic.Pointer[actor.Actor[message]]

	exitMu sync.Mutex
	exits  []exitNote // child exits not yet seen by the actor
	woken  atomic.Bool

	watchers sync.WaitGroup // goroutines watching Done of foreign children

	done    chan struct{} // closed when the actor has exited and every child stopped
	err     error         // the supervisor's failure; written before done is closed
	stopErr error         // its last stop report; written before done is closed
}

// exitNote is a child's exit, queued for the actor.
type exitNote struct {
	child       int
	gen         uint64 // incarnation; a note from an older one is stale
	err         error
	startFailed bool // the incarnation never started
}

// ChildStatus is a snapshot of one child, as returned by [Supervisor.Children].
type ChildStatus struct {
	Name     string
	Path     string
	Running  bool  // it has a started incarnation
	Restarts int   // starts after the first
	LastErr  error // the error of its last exit, if any
}

// New returns a supervisor for the given children, not yet started. It
// returns a *ConfigError if cfg or a child Spec is invalid.
func New(cfg Config, children ...Spec) (*Supervisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	specs, err := validateSpecs(children)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{cfg: cfg, specs: specs, path: cfg.Name, done: make(chan struct{})}
	s.haltCtx, s.halt = context.WithCancel(context.Background())
	return s, nil
}

// Sub returns the Spec of a nested supervisor named cfg.Name that runs
// children; each start or restart builds a fresh one. Its StartTimeout and
// StopTimeout are the sums of its children's plus one second, so that it
// normally outlasts them; set the fields to change them.
func Sub(cfg Config, children ...Spec) Spec {
	start, stop := time.Second, time.Second
	for _, c := range children {
		start += max(orDefault(c.StartTimeout, DefaultStartTimeout), 0)
		stop += max(orDefault(c.StopTimeout, DefaultStopTimeout), 0)
	}
	return Spec{
		Name:         orDefault(cfg.Name, "supervisor"),
		New:          func() (Child, error) { return New(cfg, children...) },
		StartTimeout: start,
		StopTimeout:  stop,
	}
}

// Name returns the supervisor's name.
func (s *Supervisor) Name() string { return s.cfg.Name }

// Path returns the supervisor's path in its tree, e.g. "app/db".
func (s *Supervisor) Path() string { return s.path }

// Start starts the children in order, each within its StartTimeout (and
// ctx). If one fails, those already started are stopped in reverse order,
// each within its StopTimeout, and Start returns a *ComponentError naming
// the child, joined with any trouble stopping the others; nothing is left
// running then. Start may be called once; see [ErrAlreadyStarted]. Once
// [Supervisor.Stop] has been called, Start starts nothing and returns
// [ErrStopped]; a Stop during Start cancels the start of the child being
// started, starts none of the rest, and Start returns an error.
func (s *Supervisor) Start(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.haltCtx, cancel)()
	reply := make(chan error, 1)
	ref, err := s.spawn(startMsg{ctx: sctx, reply: reply})
	if err != nil {
		return err
	}
	select {
	case err = <-reply:
	case <-s.done:
		err = errors.Join(resilience.ErrStopped, s.err)
	}
	if err != nil {
		if s.haltCtx.Err() != nil {
			err = errors.Join(ErrStopped, err)
		}
		// Bounded: the actor stops each started child within its StopTimeout.
		_ = ref.Stop(context.Background())
		<-s.done
	}
	return err
}

// spawn starts the supervisor's actor with start as its first message,
// once, unless Stop came first. Both happen under mu, before the actor is
// published, so a concurrent Stop's request is always handled after start.
func (s *Supervisor) spawn(start startMsg) (*actor.Actor[message], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.started:
		return nil, ErrAlreadyStarted
	case s.halted:
		return nil, ErrStopped
	}
	s.started = true
	ref, err := actor.Spawn(actor.Config{Name: s.path, DiscardOnStop: true}, func() actor.Behavior[message] { return &executor{s: s} })
	if err != nil {
		return nil, err
	}
	if err := ref.Tell(start); err != nil { // a new, empty mailbox takes it
		_ = ref.Stop(context.Background())
		return nil, err
	}
	s.ref.Store(ref)
	return ref, nil
}

// Stop stops the children in reverse start order, one at a time, each
// within the lesser of its StopTimeout and what is left of ctx, cancels
// pending restarts, and waits for the supervisor to exit. A child that does
// not stop in time is abandoned: its Stop keeps running in the background
// and it is listed in the returned *TimeoutError (which also lists
// children abandoned during earlier restarts). Failed stops are
// *ComponentErrors; all are joined. Stop returns nil after a clean stop or
// if the supervisor was never started (it then never starts: a later
// Start returns [ErrStopped]); it is safe to call more than once, later
// calls wait for the first until their own ctx ends.
//
// From the moment Stop is called no child starts any more: a child Start
// in progress sees its context cancelled and restarts are dropped. When
// ctx ends, the children not yet stopped are asked to stop but not waited
// for, and listed as abandoned; if the supervisor had not even begun
// stopping (it was busy starting or restarting a child), the *TimeoutError
// names the supervisor itself and the stop continues in the background.
func (s *Supervisor) Stop(ctx context.Context) error {
	ref := s.haltNow()
	if ref == nil {
		return nil
	}
	begin := time.Now()
	reply := make(chan error, 1)
	began := make(chan struct{})
	if err := ref.Send(ctx, stopMsg{ctx: ctx, reply: reply, began: began}); err != nil && !errors.Is(err, resilience.ErrStopped) {
		// The mailbox stayed full: stop the actor from outside; it stops
		// its children on the way out, each within its StopTimeout.
		_ = ref.Stop(ctx)
		return s.abandonedSelf(begin)
	}
	select {
	case err := <-reply:
		select {
		case <-s.done:
		case <-ctx.Done():
		}
		return err
	case <-s.done:
		return s.stopErr
	case <-ctx.Done():
		select {
		case <-began:
		default:
			return s.abandonedSelf(begin)
		}
		// The actor is stopping children under this same ctx: it gives
		// up on the rest at once, so its report is worth the wait.
		select {
		case err := <-reply:
			<-s.done
			return err
		case <-s.done:
			return s.stopErr
		}
	}
}

// haltNow marks the supervisor stopped, so that nothing starts any more,
// and returns its actor (nil if it never started, when Done is closed).
func (s *Supervisor) haltNow() *actor.Actor[message] {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.halt()
	if !s.halted && !s.started {
		s.finish(nil, nil)
	}
	s.halted = true
	return s.ref.Load()
}

func (s *Supervisor) abandonedSelf(begin time.Time) error {
	return &TimeoutError{Abandoned: []Abandoned{{Name: s.cfg.Name, Path: s.path, Given: time.Since(begin)}}}
}

// Done returns a channel closed when the supervisor has exited: after
// Stop, after a failed Start, or after it gave up on too many restarts.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err returns nil while the supervisor runs and after a requested stop,
// and its failure once it has given up: an *IntensityError (or, for a bug
// in the supervisor itself, an *actor.PanicError).
func (s *Supervisor) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Children returns a snapshot of the children, in start order. It returns
// ctx.Err() if ctx ends first and actor.ErrStopped once the supervisor has
// exited.
func (s *Supervisor) Children(ctx context.Context) ([]ChildStatus, error) {
	ref := s.ref.Load()
	if ref == nil {
		return nil, resilience.ErrStopped
	}
	reply := make(chan []ChildStatus, 1)
	if err := ref.Send(ctx, infoMsg{reply: reply}); err != nil {
		return nil, err
	}
	select {
	case st := <-reply:
		return st, nil
	case <-s.done:
		return nil, resilience.ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noteExit queues a child's exit for the actor and wakes it. It never
// blocks: a full mailbox means the actor has messages to handle and will
// look at the queue after each of them.
func (s *Supervisor) noteExit(n exitNote) {
	s.exitMu.Lock()
	s.exits = append(s.exits, n)
	s.exitMu.Unlock()
	if !s.woken.Swap(true) {
		if ref := s.ref.Load(); ref != nil {
			_ = ref.Tell(wakeMsg{}) // full or stopped: the actor sees the queue anyway
		}
	}
}

// takeExits returns and clears the queued exits.
func (s *Supervisor) takeExits() []exitNote {
	s.woken.Store(false)
	s.exitMu.Lock()
	defer s.exitMu.Unlock()
	n := s.exits
	s.exits = nil
	return n
}

// watch starts a goroutine that reports c's exit, for children that cannot
// report it themselves. It ends when c exits or forget is closed; the
// actor waits for all of them before the supervisor is done.
func (s *Supervisor) watch(j int, gen uint64, c Child, forget <-chan struct{}) {
	s.watchers.Add(1)
	go func() {
		defer s.watchers.Done()
		select {
		case <-c.Done():
			s.noteExit(exitNote{child: j, gen: gen, err: c.Err()})
		case <-forget:
		}
	}()
}

// finish publishes the supervisor's outcome.
func (s *Supervisor) finish(err, stopErr error) {
	s.err, s.stopErr = err, stopErr
	close(s.done)
}

var _ Child = (*Supervisor)(nil)
