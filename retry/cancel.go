package retry

import (
	"context"
	"sync"
	"sync/atomic"
)

// watcher tells the scheduler actor which jobs' contexts ended, without a
// goroutine per job: jobs that share a context (more precisely its Done
// channel) share one context.AfterFunc registration, and its callback only
// moves them to a list under a lock and wakes the actor without blocking.
type watcher struct {
	mu      sync.Mutex
	watches map[<-chan struct{}]*watch // live registrations, by Done channel
	fired   []*job                     // jobs whose context ended, not yet handled
	nfired  atomic.Int32               // len(fired), read by the actor without the lock
	woken   atomic.Bool                // a wake-up message is in the mailbox
}

// watch is one context.AfterFunc registration and the jobs it covers.
type watch struct {
	stop func() bool
	jobs map[*job]struct{}
}

// wakeUp is the message that makes the actor handle the fired list. It
// carries nothing and is never answered.
var wakeUp = &job{}

// watch registers j for cancellation when its context ends.
func (s *Scheduler) watch(j *job) {
	done := j.ctx.Done()
	w := &s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watches == nil {
		w.watches = make(map[<-chan struct{}]*watch)
	}
	wt := w.watches[done]
	if wt == nil {
		wt = &watch{jobs: make(map[*job]struct{})}
		w.watches[done] = wt
		wt.stop = context.AfterFunc(j.ctx, func() { s.fire(done) }) // runs after we unlock
	}
	wt.jobs[j] = struct{}{}
	j.watched = true
}

// unwatch forgets j, and its context's registration when j was the last
// job using it. It runs when j is answered.
func (s *Scheduler) unwatch(j *job) {
	if !j.watched {
		return
	}
	done := j.ctx.Done()
	w := &s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := w.watches[done]
	if wt == nil {
		return
	}
	delete(wt.jobs, j)
	if len(wt.jobs) == 0 {
		wt.stop()
		delete(w.watches, done)
	}
}

// fire runs on the goroutine context.AfterFunc starts when a context ends:
// it moves that context's jobs to the fired list and wakes the actor. It
// never blocks on the actor.
func (s *Scheduler) fire(done <-chan struct{}) {
	w := &s.w
	w.mu.Lock()
	if wt := w.watches[done]; wt != nil {
		delete(w.watches, done)
		for j := range wt.jobs {
			w.fired = append(w.fired, j)
		}
		w.nfired.Store(int32(len(w.fired)))
	}
	w.mu.Unlock()
	s.wake()
}

// wake puts one wake-up message in the mailbox unless one is there. If the
// mailbox is full the actor is busy and checks the fired list before every
// message anyway; if it is stopping, Stop answers every job.
func (s *Scheduler) wake() {
	if s.w.woken.CompareAndSwap(false, true) && s.a.Tell(wakeUp) != nil {
		s.w.woken.Store(false)
	}
}

// takeFired empties the fired list; the actor calls it.
func (s *Scheduler) takeFired() []*job {
	w := &s.w
	w.woken.Store(false) // before taking: a later fire sends a new wake-up
	w.mu.Lock()
	defer w.mu.Unlock()
	jobs := w.fired
	w.fired = nil
	w.nfired.Store(0)
	return jobs
}
