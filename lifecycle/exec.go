package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// message is the closed set of messages a supervisor's actor handles.
type message interface{ isMessage() }

type (
	// startMsg starts every child in order (once, from Start).
	startMsg struct {
		ctx   context.Context
		reply chan<- error // capacity 1
	}
	// stopMsg stops every child in reverse order and ends the actor.
	stopMsg struct {
		ctx   context.Context
		reply chan<- error  // capacity 1
		began chan struct{} // closed when the actor begins this stop
	}
	// dueMsg says restart batch token is due (from a Self.Schedule timer).
	dueMsg struct{ token uint64 }
	// wakeMsg says child exits are queued.
	wakeMsg struct{}
	// infoMsg asks for a snapshot of the children.
	infoMsg struct {
		reply chan<- []Status // capacity 1
	}
)

func (startMsg) isMessage() {}
func (stopMsg) isMessage()  {}
func (dueMsg) isMessage()   {}
func (wakeMsg) isMessage()  {}
func (infoMsg) isMessage()  {}

// executor is the supervisor's actor behaviour: it owns the decision state
// and the children, feeds events to decide and carries out its actions.
type executor struct {
	s    *Supervisor
	r    *run // the run this actor carries out
	st   state
	kids []kid
	rep  report // what stops have left behind so far
	fail error  // the supervisor's failure, once it gave up
}

// kid is the executor's view of one child.
type kid struct {
	spec    Spec
	path    string
	index   int       // its place in the start order
	child   Component // the current incarnation; nil when none runs
	gen     uint64    // incarnation number
	starts  int
	lastErr error
}

// Receive handles one message, then any child exits queued meanwhile.
func (x *executor) Receive(self *actor.Self[message], m message) {
	switch m := m.(type) {
	case startMsg:
		err := x.startAll(m.ctx)
		m.reply <- err
		if err != nil {
			self.Stop()
			return
		}
	case stopMsg:
		close(m.began)
		x.apply(self, m.ctx, event{kind: evStop})
		x.drainExits(self) // decide ignores exits once stopping
		m.reply <- x.rep.err()
		self.Stop()
		return
	case dueMsg:
		if x.r.haltCtx.Err() == nil { // after Stop, restarts are dropped
			x.apply(self, context.Background(), event{kind: evDue, token: m.token})
		}
	case infoMsg:
		m.reply <- x.status()
	case wakeMsg:
	}
	x.drainExits(self)
}

// startAll starts every child in order; on a failure it stops the started
// ones in reverse order and returns the failure.
func (x *executor) startAll(ctx context.Context) error {
	x.kids = make([]kid, len(x.s.specs))
	restarts := make([]Restart, len(x.s.specs))
	for j, sp := range x.s.specs {
		x.kids[j] = kid{spec: sp, path: x.s.path + "/" + sp.Name, index: j}
		restarts[j] = sp.Restart
	}
	for j := range x.kids {
		if err := x.startKid(ctx, j); err != nil {
			failure := &ComponentError{Op: "start", Name: x.kids[j].path, Err: err}
			x.st.stopping = true
			for i := j - 1; i >= 0; i-- {
				x.stopKid(context.Background(), i)
			}
			return errors.Join(failure, x.rep.err())
		}
	}
	x.st = newState(policy{
		strategy:    x.s.cfg.Strategy,
		maxRestarts: x.s.cfg.MaxRestarts,
		period:      x.s.cfg.Period,
		backoff:     x.s.cfg.Backoff,
		maxBackoff:  x.s.cfg.MaxBackoff,
		quiet:       x.s.cfg.QuietPeriod,
	}, restarts, time.Now())
	return nil
}

// apply feeds one event to decide and carries out the actions in order.
// Stops run within ctx and each child's StopTimeout; starts run within
// each child's StartTimeout and end as soon as Stop is called.
func (x *executor) apply(self *actor.Self[message], ctx context.Context, ev event) {
	var acts []action
	x.st, acts = decide(x.st, ev, time.Now())
	for _, a := range acts {
		switch a.kind {
		case actStop:
			for _, j := range a.children {
				x.stopKid(ctx, j)
			}
		case actSchedule:
			self.Schedule(a.delay, dueMsg{token: a.token})
		case actStart:
			x.startBatch(x.r.haltCtx, a.children)
		case actGiveUp:
			k := x.kids[a.children[0]]
			x.fail = &IntensityError{Supervisor: x.s.path, Child: k.path,
				Restarts: x.s.cfg.MaxRestarts, Period: x.s.cfg.Period, Last: k.lastErr}
			self.Stop()
		}
	}
}

// startBatch restarts children in order. A child that fails to start is
// queued as a failed exit, judged once the whole batch has been started.
func (x *executor) startBatch(ctx context.Context, batch []int) {
	for _, j := range batch {
		if err := x.startKid(ctx, j); err != nil {
			x.r.noteExit(exitNote{child: j, gen: x.kids[j].gen, err: err, startFailed: true})
		}
	}
}

// drainExits turns every queued, current exit into an evExit.
func (x *executor) drainExits(self *actor.Self[message]) {
	for {
		notes := x.r.takeExits()
		if len(notes) == 0 {
			return
		}
		for _, n := range notes {
			k := &x.kids[n.child]
			if n.gen != k.gen || (k.child == nil && !n.startFailed) {
				continue // an older incarnation, or one we stopped
			}
			k.lastErr = n.err
			x.detach(k)
			if x.r.haltCtx.Err() != nil {
				continue // stopping: nothing restarts
			}
			x.apply(self, context.Background(), event{kind: evExit, child: n.child, failed: n.err != nil})
		}
	}
}

// startKid builds and starts a new incarnation of child j.
func (x *executor) startKid(ctx context.Context, j int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := &x.kids[j]
	k.gen++
	gen := k.gen
	c, err := build(k.spec)
	if err != nil {
		return err
	}
	start := c.Start
	if sub, ok := c.(*Supervisor); ok {
		sub.path = k.path
		start = sub.restart
	}
	n, notifies := c.(exitNotifier)
	if notifies {
		n.onExit(func(err error) { x.r.noteExit(exitNote{child: j, gen: gen, err: err}) })
	}
	var given time.Duration
	timedOut := false
	if _, direct := c.(prompt); direct {
		err = safeRun(ctx, start) // does not block: no timer needed
	} else {
		given, err, timedOut = call(ctx, k.spec.StartTimeout, false, start)
	}
	if timedOut {
		// It may still come up: ask it to stop, within its stop timeout.
		k.child = c
		x.stopKid(context.Background(), j)
		return fmt.Errorf("did not start within %v: %w", given, context.DeadlineExceeded)
	}
	if err != nil {
		return err
	}
	k.child = c
	k.starts++
	if !notifies {
		x.r.watch.add(j, gen, c)
	}
	return nil
}

// stopsPromptly reports whether c's Stop returns once its ctx is done, so
// it can be called directly. A Supervisor's does (its Start may not).
func stopsPromptly(c Component) bool {
	_, p := c.(prompt)
	_, s := c.(*Supervisor)
	return p || s
}

// build returns spec.Component, or calls spec.New, turning a panic or a
// nil component into an error.
func build(spec Spec) (c Component, err error) {
	if spec.Component != nil {
		return spec.Component, nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	c, err = spec.New()
	if err == nil && c == nil {
		err = errors.New("Spec.New returned a nil Component")
	}
	return c, err
}

// stopKid stops child j's current incarnation within its stop timeout (and
// ctx), recording a failure or an abandonment in the report.
func (x *executor) stopKid(ctx context.Context, j int) {
	k := &x.kids[j]
	c := k.child
	if c == nil {
		return
	}
	x.detach(k)
	given, err, timedOut := call(ctx, k.spec.StopTimeout, stopsPromptly(c), c.Stop)
	if timedOut {
		x.rep.add(abandonedErr("stop", k.path, given))
		return
	}
	x.rep.absorb("stop", k.path, err)
}

// detach forgets k's current incarnation.
func (x *executor) detach(k *kid) {
	k.child = nil
	x.r.watch.remove(k.index)
}

// status returns a snapshot of the children.
func (x *executor) status() []Status {
	out := make([]Status, len(x.kids))
	for j, k := range x.kids {
		out[j] = Status{Name: k.spec.Name, Path: k.path, Running: k.child != nil,
			Restarts: max(k.starts-1, 0), LastErr: k.lastErr}
	}
	return out
}

// Stopped runs last on the actor's goroutine: it stops whatever still runs
// (only after a panic in the executor), waits for the watcher goroutines
// and publishes the outcome.
func (x *executor) Stopped(cause error) {
	for j := len(x.kids) - 1; j >= 0; j-- {
		x.stopKid(context.Background(), j)
	}
	x.r.watch.stop()
	err := x.fail
	if cause != nil {
		err = cause
	}
	x.r.finish(err, x.rep.err())
}

// call runs fn within timeout (and ctx). A direct call runs on the calling
// goroutine (fn honours its ctx); otherwise fn runs on a new goroutine that
// is abandoned if it does not return in time. It returns fn's error and
// whether it ran out of time, and then how long it was given.
func call(ctx context.Context, timeout time.Duration, direct bool, fn func(context.Context) error) (given time.Duration, err error, timedOut bool) {
	begin := time.Now()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if direct {
		err = safeRun(cctx, fn)
	} else {
		res := make(chan error, 1)
		go func() { res <- safeRun(cctx, fn) }()
		select {
		case err = <-res:
		case <-cctx.Done():
			select {
			case err = <-res:
			default:
				err = cctx.Err()
			}
		}
	}
	if !expired(cctx, err) {
		return 0, err, false
	}
	deadline, _ := cctx.Deadline()
	return max(min(time.Since(begin), deadline.Sub(begin)), 0), err, true
}

// expired reports whether err is fn giving up because its ctx ended (a
// report of parts that fn itself abandoned is not).
func expired(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && !errors.Is(err, resilience.ErrTimeout) &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}
