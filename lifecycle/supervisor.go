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
// its own stop timeout. It is itself a [Component], so supervisors nest (a
// Spec whose Component is a *Supervisor); a supervisor that exceeds its
// restart intensity stops its children and fails, and its parent decides
// what happens next.
//
// A Supervisor is built by [New] (the zero value is not usable), started
// by [Supervisor.Start] and stopped by [Supervisor.Stop]; Start after it
// failed starts it again, in place, but a stop sticks. Its methods are safe for
// concurrent use. Its decisions are made by a pure function (see
// decide.go) and carried out by one actor; child Start and Stop calls run
// on that actor, or on a goroutine it abandons if they do not return in
// time.
type Supervisor struct {
	cfg   Config
	specs []Spec
	path  string // written before Start; nested supervisors get their parent's prefix

	mu      sync.Mutex          // orders Start against Stop
	cur     atomic.Pointer[run] // the current run; replaced under mu once done
	stopped bool                // Stop was called: Start refuses; guarded by mu
}

// run is one run of a supervisor, from Start to its exit.
type run struct {
	s       *Supervisor
	started bool // guarded by s.mu
	halted  bool // Stop was called; guarded by s.mu
	halt    context.CancelFunc
	haltCtx context.Context // cancelled by Stop: no child starts after it
	ref     atomic.Pointer[actor.Actor[message]]

	exitMu sync.Mutex
	exits  []exitNote // child exits not yet seen by the actor
	woken  atomic.Bool

	watch *watcher // watches the Done of foreign children; executor-only

	done    chan struct{} // closed when the actor has exited and every child stopped
	err     error         // the supervisor's failure; written before done is closed
	stopErr error         // its last stop report; written before done is closed
}

func newRun(s *Supervisor) *run {
	r := &run{s: s, done: make(chan struct{})}
	r.watch = newWatcher(r)
	r.haltCtx, r.halt = context.WithCancel(context.Background())
	return r
}

// exitNote is a child's exit, queued for the actor.
type exitNote struct {
	child       int
	gen         uint64 // incarnation; a note from an older one is stale
	err         error
	startFailed bool // the incarnation never started
}

// Status is a snapshot of one child, as returned by [Supervisor.Children].
type Status struct {
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
	s := &Supervisor{cfg: cfg, specs: specs, path: cfg.Name}
	s.cur.Store(newRun(s))
	return s, nil
}

// Name returns the supervisor's name.
func (s *Supervisor) Name() string { return s.cfg.Name }

// Path returns the supervisor's path in its tree, e.g. "app/db".
func (s *Supervisor) Path() string { return s.path }

// Start starts the children in order, each within its StartTimeout (and
// ctx). If one fails, those already started are stopped in reverse order,
// each within its StopTimeout, and Start returns a *ComponentError naming
// the child, joined with any trouble stopping the others; nothing is left
// running then. Start is idempotent: it returns nil at once while the
// supervisor runs (or is being started). Once the supervisor has failed
// (see [IntensityError]), Start starts it again, in place, with fresh
// restart counts. A stop sticks: once [Supervisor.Stop] has been called,
// Start starts nothing and returns [resilience.ErrStopped]; a Stop during
// Start cancels the start of the child being started, starts none of the
// rest, and Start returns an error matching resilience.ErrStopped. (A
// parent supervisor restarts a nested one in place however it ended.)
func (s *Supervisor) Start(ctx context.Context) error { return s.start(ctx, false) }

// restart is Start for a parent supervisor: it starts s again even after
// a Stop, which the parent itself issued.
func (s *Supervisor) restart(ctx context.Context) error { return s.start(ctx, true) }

func (s *Supervisor) start(ctx context.Context, again bool) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reply := make(chan error, 1)
	r, ref, err := s.spawn(startMsg{ctx: sctx, reply: reply}, again)
	if r == nil || err != nil {
		return err
	}
	defer context.AfterFunc(r.haltCtx, cancel)()
	select {
	case err = <-reply:
	case <-r.done:
		err = errors.Join(resilience.ErrStopped, r.err)
	}
	if err != nil {
		if r.haltCtx.Err() != nil {
			err = errors.Join(resilience.ErrStopped, err)
		}
		// Bounded: the actor stops each started child within its StopTimeout.
		_ = ref.Stop(context.Background())
		<-r.done
	}
	return err
}

// spawn starts a run's actor with start as its first message, unless the
// supervisor runs already (nil run, nil error) or was stopped (unless
// again). Both happen under mu, before the actor is published, so a
// concurrent Stop's request is always handled after start.
func (s *Supervisor) spawn(start startMsg, again bool) (*run, *actor.Actor[message], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if again {
		s.stopped = false
	} else if s.stopped {
		return nil, nil, resilience.ErrStopped
	}
	r := s.cur.Load()
	select {
	case <-r.done:
		r = newRun(s)
		s.cur.Store(r)
	default:
		if r.halted {
			return nil, nil, resilience.ErrStopped
		}
		if r.started {
			return nil, nil, nil
		}
	}
	r.started = true
	ref, err := actor.Spawn(actor.Config{Name: s.path, DiscardOnStop: true},
		func() actor.Behavior[message] { return &executor{s: s, r: r} })
	if err != nil {
		return nil, nil, err
	}
	if err := ref.Tell(start); err != nil { // a new, empty mailbox takes it
		_ = ref.Stop(context.Background())
		return nil, nil, err
	}
	r.ref.Store(ref)
	return r, ref, nil
}

// Stop stops the children in reverse start order, one at a time, each
// within the lesser of its StopTimeout and what is left of ctx, cancels
// pending restarts, and waits for the supervisor to exit. A child that does
// not stop in time is abandoned: its Stop keeps running in the background
// and the result holds a *ComponentError{Op: "stop"} for it wrapping a
// *resilience.TimeoutError (so errors.Is(err, resilience.ErrTimeout));
// children abandoned during earlier restarts are listed too. Failed stops
// are *ComponentErrors; all are joined. Stop returns nil after a clean stop
// or if the supervisor was not started (it then never starts: a later
// Start returns resilience.ErrStopped); it is safe to call more than once,
// later calls wait for the first until their own ctx ends.
//
// From the moment Stop is called no child starts any more in this run: a
// child Start in progress sees its context cancelled, restarts are dropped
// and a concurrent Start returns an error matching resilience.ErrStopped.
// When ctx ends, the children not yet stopped are asked to stop but not
// waited for, and reported as abandoned; if the supervisor had not even
// begun stopping (it was busy starting or restarting a child), the report
// names the supervisor itself and the stop continues in the background.
func (s *Supervisor) Stop(ctx context.Context) error {
	r, ref := s.haltNow()
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
		case <-r.done:
		case <-ctx.Done():
		}
		return err
	case <-r.done:
		return r.stopErr
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
			<-r.done
			return err
		case <-r.done:
			return r.stopErr
		}
	}
}

// Serve starts the supervisor, waits until ctx is done or the supervisor
// gives up, and then stops it. It returns Start's error, the failure that
// made the supervisor give up, or the result of Stop, which is bounded by
// the children's stop timeouts rather than by ctx. It makes a tree usable
// wherever a Serve(ctx) error function is expected (errgroup, suture).
func (s *Supervisor) Serve(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return s.Stop(context.WithoutCancel(ctx))
	case <-s.Done():
		return s.Err()
	}
}

// haltNow marks the current run stopped, so that nothing starts any
// more, and returns it and its actor (nil if it never started; Done is
// then closed).
func (s *Supervisor) haltNow() (*run, *actor.Actor[message]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cur.Load()
	r.halt()
	if !r.halted && !r.started {
		r.finish(nil, nil)
	}
	r.halted = true
	s.stopped = true
	return r, r.ref.Load()
}

func (s *Supervisor) abandonedSelf(begin time.Time) error {
	return abandonedErr("stop", s.path, time.Since(begin))
}

// Done returns a channel closed when the supervisor has exited: after
// Stop, after a failed Start, or after it gave up on too many restarts.
func (s *Supervisor) Done() <-chan struct{} { return s.cur.Load().done }

// Err returns nil while the supervisor runs and after a requested stop,
// and its failure once it has given up: an *IntensityError (or, for a bug
// in the supervisor itself, an *actor.PanicError).
func (s *Supervisor) Err() error {
	r := s.cur.Load()
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

// Children returns a snapshot of the children, in start order. It returns
// ctx.Err() if ctx ends first and resilience.ErrStopped once the supervisor has
// exited.
func (s *Supervisor) Children(ctx context.Context) ([]Status, error) {
	r := s.cur.Load()
	ref := r.ref.Load()
	if ref == nil {
		return nil, resilience.ErrStopped
	}
	reply := make(chan []Status, 1)
	if err := ref.Send(ctx, infoMsg{reply: reply}); err != nil {
		return nil, err
	}
	select {
	case st := <-reply:
		return st, nil
	case <-r.done:
		return nil, resilience.ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noteExit queues a child's exit for the actor and wakes it. It never
// blocks: a full mailbox means the actor has messages to handle and will
// look at the queue after each of them.
func (s *run) noteExit(n exitNote) {
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
func (s *run) takeExits() []exitNote {
	s.woken.Store(false)
	s.exitMu.Lock()
	defer s.exitMu.Unlock()
	n := s.exits
	s.exits = nil
	return n
}

// finish publishes the supervisor's outcome.
func (s *run) finish(err, stopErr error) {
	s.err, s.stopErr = err, stopErr
	close(s.done)
}

var _ Component = (*Supervisor)(nil)
