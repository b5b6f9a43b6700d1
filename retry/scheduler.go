package retry

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/actor"
)

// defaultWorkers is the number of attempts a [Scheduler] runs at once when
// SchedulerConfig.Workers is zero.
const defaultWorkers = 16

// SchedulerConfig configures [NewScheduler]. The zero value means 16
// workers and a mailbox of 1024 messages.
type SchedulerConfig struct {
	// Workers bounds the attempts running at once. 0 means 16; negative
	// is rejected.
	Workers int
	// Mailbox is the scheduler actor's mailbox capacity: submissions,
	// results and cancellations waiting to be handled. 0 means 1024;
	// negative is rejected.
	Mailbox int
}

// Scheduler runs retried jobs asynchronously without a goroutine per job.
// Waiting jobs are entries in one actor's timer queue (a few hundred bytes
// each, against several KiB for a goroutine sleeping in [Policy.Run]);
// attempts run on a bounded set of workers the Scheduler owns. Every
// submitted job gets exactly one answer on its channel, including when the
// Scheduler stops.
//
// A Scheduler is safe for concurrent use. Its owner must call
// [Scheduler.Stop]. There is no useful zero value: use [NewScheduler].
type Scheduler struct {
	r       *Policy
	a       *actor.Actor[*job]
	work    chan *job          // actor → workers; closed by the actor when it stops
	halt    atomic.Bool        // set by Stop: workers answer instead of running
	live    atomic.Int32       // workers still running
	drained chan struct{}      // closed by the last worker to exit
	pending atomic.Int64       // jobs submitted and not yet answered
	epoch   time.Time          // origin of job.start
	w       watcher            // jobs to answer because their context ended
	quit    context.Context    // cancelled by Stop: bounds the workers' sends
	unquit  context.CancelFunc // cancels quit
}

// NewScheduler starts a scheduler that retries jobs with r's Config, and
// its workers. The caller owns them and must call [Scheduler.Stop]. An
// invalid argument is a [*resilience.ConfigError].
func NewScheduler(r *Policy, cfg SchedulerConfig) (*Scheduler, error) {
	switch {
	case r == nil:
		return nil, &resilience.ConfigError{Field: "retry.NewScheduler.r", Reason: "must not be nil"}
	case cfg.Workers < 0:
		return nil, &resilience.ConfigError{Field: "retry.SchedulerConfig.Workers", Reason: "must not be negative"}
	case cfg.Mailbox < 0:
		return nil, &resilience.ConfigError{Field: "retry.SchedulerConfig.Mailbox", Reason: "must not be negative"}
	}
	if cfg.Workers == 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.Mailbox == 0 {
		cfg.Mailbox = 1024
	}
	s := &Scheduler{r: r, work: make(chan *job, cfg.Workers), drained: make(chan struct{}), epoch: time.Now()}
	s.quit, s.unquit = context.WithCancel(context.Background())
	loop := &schedLoop{s: s, workers: cfg.Workers}
	a, err := actor.Spawn(actor.Config{Name: "retry-scheduler", Mailbox: cfg.Mailbox, DiscardOnStop: true},
		func() actor.Behavior[*job] { return loop })
	if err != nil {
		s.unquit()
		return nil, err
	}
	s.a = a
	s.live.Store(int32(cfg.Workers))
	for range cfg.Workers {
		go s.worker()
	}
	return s, nil
}

// Submit hands fn to the scheduler and returns the channel (capacity one)
// on which its outcome arrives exactly once: nil after a successful
// attempt, else an [*Error] as [Policy.Run] would return, with Reason
// [resilience.ErrStopped] if the scheduler stopped first. fn reads its
// attempt number with [resilience.Attempt]. A nil fn is answered with a
// [*resilience.ConfigError].
//
// Submit waits for room in the mailbox until ctx is done or the scheduler
// stops. ctx is also the job's context: attempts receive it, and its end
// answers a waiting job at once with ctx's error. Jobs sharing a context
// share one context.AfterFunc registration, so cancelling many of them
// does not start a goroutine per job.
//
// fn runs on a worker goroutine, and Config.Classify and Config.Delay on
// the scheduler's actor; a panic in any of them, or a runtime.Goexit in fn,
// is recovered and answers this job at once as a [*resilience.PanicError]:
// fn's as the Error's Last, a callback's as its Reason.
func (s *Scheduler) Submit(ctx context.Context, fn func(ctx context.Context) error) <-chan error {
	out := make(chan error, 1)
	if fn == nil {
		out <- errNilFunc
		return out
	}
	j := &job{fn: fn, ctx: ctx, out: out}
	s.pending.Add(1)
	if ctx.Done() != nil {
		s.watch(j)
	}
	if err := s.a.Send(ctx, j); err != nil {
		if ctx.Err() != nil {
			s.answer(j, newError(errLog{}, ctxReason(ctx), 0))
		} else { // the actor has stopped
			s.answer(j, newError(errLog{}, resilience.ErrStopped, 0))
		}
	}
	return out
}

// Pending returns the number of jobs the scheduler holds: waiting,
// queued for a worker or running. It is approximate while jobs move.
func (s *Scheduler) Pending() int { return int(s.pending.Load()) }

// Stop stops the scheduler: it refuses new jobs, answers every job waiting
// or queued with Reason [resilience.ErrStopped], lets running attempts finish (it does not
// cancel them; a successful one is answered nil), and waits for its actor
// and workers to exit or for ctx to end. It returns nil, ctx.Err() if ctx
// ended first (the workers then finish in the background and still answer
// their jobs), or the actor's failure if a user callback (Config.Classify
// or Config.Delay) called runtime.Goexit in it (a panic there only answers
// its job). Stop is idempotent.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.halt.Store(true)
	s.unquit()
	err := s.a.Stop(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case <-s.drained:
		return err // nil, or the actor's *resilience.PanicError after a Goexit
	case <-ctx.Done():
		return ctx.Err()
	}
}

// worker runs attempts until the actor closes s.work.
func (s *Scheduler) worker() {
	var cur *job // the job whose attempt is running
	defer func() {
		if cur != nil { // fn called runtime.Goexit: answer it, replace this worker
			cur.ok, cur.panicked = false, true
			cur.errs = cur.errs.add(&resilience.PanicError{Value: "runtime.Goexit called", Stack: debug.Stack()})
			go s.worker() // takes over this worker's place in live
			if s.a.Send(s.quit, cur) != nil {
				s.settleAfterStop(cur)
			}
			return
		}
		if s.live.Add(-1) == 0 {
			close(s.drained)
		}
	}()
	for j := range s.work {
		if s.halt.Load() {
			s.answer(j, s.stopped(j))
			continue
		}
		cur = j
		j.run()
		cur = nil
		if s.a.Send(s.quit, j) != nil {
			s.settleAfterStop(j) // the actor is stopping: answer here
		}
	}
}

// settleAfterStop answers a job whose attempt ended after the actor stopped.
func (s *Scheduler) settleAfterStop(j *job) {
	if j.ok {
		s.r.succeeded()
		s.answer(j, nil)
		return
	}
	s.answer(j, s.stopped(j))
}

func (s *Scheduler) stopped(j *job) error {
	return newError(j.errs, resilience.ErrStopped, s.elapsed(j))
}

func (s *Scheduler) now() int64 { return int64(time.Since(s.epoch)) }

func (s *Scheduler) elapsed(j *job) time.Duration {
	if j.errs.n == 0 {
		return 0
	}
	return time.Duration(s.now() - j.start)
}

// job is one submitted function and its retry state. Ownership moves with
// the pointer: the submitter, then the actor, a worker, the actor again...
// Only its owner touches its fields; the watcher only holds the pointer, and
// the actor reads timer, which only the actor writes.
type job struct {
	fn       func(context.Context) error
	ctx      context.Context
	out      chan<- error
	watched  bool              // registered with the watcher
	timer    actor.Timer[*job] // the pending wait, owned by the actor
	errs     errLog            // the attempts' errors, bounded
	start    int64             // scheduler clock at the first failure
	prev     time.Duration     // previous wait
	attempt  int32             // attempts started
	ran      bool              // a worker ran the latest attempt and has not been heard yet
	ok       bool              // that attempt succeeded
	panicked bool              // that attempt panicked or called runtime.Goexit: stop
}

// run makes one attempt, on a worker. A panic is recorded as the attempt's
// error, and ends the job.
func (j *job) run() {
	defer func() {
		if v := recover(); v != nil {
			j.ok, j.panicked = false, true
			j.errs = j.errs.add(&resilience.PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	j.ran = true
	ctx := j.ctx
	if j.attempt > 1 {
		ctx = resilience.WithAttempt(ctx, int(j.attempt))
	}
	err := j.fn(ctx)
	j.ok = err == nil
	if err != nil {
		j.errs = j.errs.add(err)
	}
}

// answer delivers j's one outcome. Its caller owns j.
func (s *Scheduler) answer(j *job, err error) {
	s.unwatch(j)
	select {
	case j.out <- err: // capacity one and a single answer: never blocks
	default:
	}
	s.pending.Add(-1)
}

// notStartedAgain answers a job whose context ended before its next
// attempt.
func (s *Scheduler) notStartedAgain(j *job) error {
	return newError(j.errs, ctxReason(j.ctx), s.elapsed(j))
}

// Start does nothing on a running scheduler: it runs from [NewScheduler].
// After [Scheduler.Stop] it returns [resilience.ErrStopped]; a stopped
// scheduler does not restart. With Stop, Done and Err it makes a Scheduler
// a lifecycle component.
func (s *Scheduler) Start(context.Context) error {
	if s.halt.Load() {
		return resilience.ErrStopped
	}
	return nil
}

// Done returns a channel closed once the scheduler has stopped and its
// workers have exited.
func (s *Scheduler) Done() <-chan struct{} { return s.drained }

// Err returns the failure of the scheduler's actor (a user callback that
// called runtime.Goexit on it), or nil.
func (s *Scheduler) Err() error { return s.a.Err() }
