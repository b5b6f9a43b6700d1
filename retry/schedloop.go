package retry

import (
	"runtime/debug"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// schedLoop is the scheduler actor's behaviour. It owns every job that is
// neither running on a worker nor answered: new ones, waiting ones (as
// timers) and due ones waiting for a free worker (ready).
type schedLoop struct {
	s       *Scheduler
	workers int    // bound on busy
	busy    int    // jobs handed to workers and not yet heard back
	ready   []*job // due jobs waiting for a worker, FIFO from head
	head    int
	current *job // the job being decided, answered by Stopped if a callback calls runtime.Goexit
}

var (
	_ actor.Behavior[*job]              = (*schedLoop)(nil)
	_ interface{ Discard(*job, error) } = (*schedLoop)(nil)
	_ interface{ Stopped(error) }       = (*schedLoop)(nil)
)

// Receive handles one message about one job:
//   - before anything, jobs whose context ended: answer those waiting;
//   - a wake-up: nothing more;
//   - an attempt's result from a worker: answer it or schedule its retry;
//   - a new job or a wait that ended: start an attempt.
func (l *schedLoop) Receive(self *actor.Self[*job], j *job) {
	if l.s.w.nfired.Load() > 0 || j == wakeUp {
		l.cancelled(self, l.s.takeFired())
	}
	switch {
	case j == wakeUp:
		return
	case j.ran:
		l.busy--
		l.result(self, j)
	default:
		l.dispatch(j)
	}
	l.pump()
}

// cancelled answers the jobs among jobs that are waiting: on a timer, or
// for a worker. The others are running, in the mailbox or answered, and
// see their context's end when next handled.
func (l *schedLoop) cancelled(self *actor.Self[*job], jobs []*job) {
	var queued map[*job]bool
	for _, t := range jobs {
		if self.Cancel(t.timer) {
			l.s.answer(t, l.s.notStartedAgain(t))
		} else if l.head < len(l.ready) {
			if queued == nil {
				queued = make(map[*job]bool)
			}
			queued[t] = true
		}
	}
	if len(queued) == 0 {
		return
	}
	kept := l.ready[:l.head]
	for _, t := range l.ready[l.head:] {
		if queued[t] {
			l.s.answer(t, l.s.notStartedAgain(t))
		} else {
			kept = append(kept, t)
		}
	}
	clear(l.ready[len(kept):])
	l.ready = kept
}

// result handles the outcome of the attempt a worker just made.
func (l *schedLoop) result(self *actor.Self[*job], j *job) {
	j.ran = false
	if j.ok {
		l.s.r.succeeded()
		l.s.answer(j, nil)
		return
	}
	n := j.errs.n
	if n == 1 {
		j.start = l.s.now() // like Run, the first attempt is not timed
	}
	if j.panicked {
		l.s.answer(j, newError(j.errs, nil, l.s.elapsed(j)))
		return
	}
	l.current = j // decide runs user code, which may call runtime.Goexit
	v, pe := l.decide(j, n)
	l.current = nil
	if pe != nil {
		l.s.answer(j, newError(j.errs, pe, l.s.elapsed(j)))
		return
	}
	if v.stop {
		l.s.answer(j, newError(j.errs, v.reason, l.s.elapsed(j)))
		return
	}
	j.prev = v.delay
	j.timer = self.Schedule(v.delay, j)
}

// decide is the Policy's decision after j's attempt n failed. It runs
// user code (Config.Classify, Config.Delay, the Rand source); a panic there
// is returned as a *resilience.PanicError, so that it answers j and not the
// whole scheduler.
func (l *schedLoop) decide(j *job, n int) (v verdict, pe *resilience.PanicError) {
	defer func() {
		if p := recover(); p != nil {
			pe = &resilience.PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return l.s.r.next(j.ctx, n, j.errs.last(), j.prev), nil
}

// dispatch hands a due job to a worker, or queues it if all are busy.
func (l *schedLoop) dispatch(j *job) {
	if j.ctx.Err() != nil {
		l.s.answer(j, l.s.notStartedAgain(j))
		return
	}
	if l.busy >= l.workers {
		l.ready = append(l.ready, j)
		return
	}
	l.busy++
	j.attempt++
	l.s.work <- j // never blocks: at most workers jobs are in the buffer or running
}

// pump moves queued jobs to free workers.
func (l *schedLoop) pump() {
	for l.busy < l.workers && l.head < len(l.ready) {
		j := l.ready[l.head]
		l.ready[l.head] = nil
		l.head++
		l.dispatch(j)
	}
	if l.head == len(l.ready) {
		l.ready, l.head = l.ready[:0], 0
	} else if l.head > 1024 && l.head > len(l.ready)/2 {
		l.ready, l.head = append(l.ready[:0], l.ready[l.head:]...), 0
	}
}

// Discard answers what the actor accepted but will not handle: new jobs,
// waits and results. A result that was a success is answered as one.
// Wake-ups need nothing.
func (l *schedLoop) Discard(j *job, _ error) {
	switch {
	case j == wakeUp:
	case j.ran:
		l.s.settleAfterStop(j)
	default:
		l.s.answer(j, l.s.stopped(j))
	}
}

// Stopped answers the jobs waiting for a worker and the job whose decision
// called runtime.Goexit, then closes the workers' channel (the actor is its only
// sender).
func (l *schedLoop) Stopped(error) {
	for _, j := range l.ready[l.head:] {
		l.s.answer(j, l.s.stopped(j))
	}
	l.ready, l.head = nil, 0
	if l.current != nil {
		l.s.answer(l.current, l.s.stopped(l.current))
		l.current = nil
	}
	close(l.s.work)
}
