package hedge

import (
	"context"
	"errors"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/internal/events"
)

// Policy runs an idempotent operation and, when the answer is slow to
// come or an attempt fails, runs it again alongside, taking the first
// acceptable answer. It is a [resilience.Policy] that fills the Retry
// slot of a [resilience.Pipeline], so each attempt passes the pipeline's
// breaker, bulkhead and attempt timeout on its own. A Policy is safe for
// concurrent use and meant to be shared by the calls to one dependency;
// there is no useful zero value: use [New].
type Policy struct {
	cfg     Config // validated, defaults filled
	lat     *latencies
	dropped atomic.Uint64
}

var _ resilience.Policy = (*Policy)(nil)

// New returns a Policy for cfg, or a [*resilience.ConfigError] naming the
// first invalid field.
func New(cfg Config) (*Policy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Policy{cfg: cfg}
	if cfg.Quantile > 0 {
		p.lat = newLatencies(cfg.Quantile)
	}
	return p, nil
}

// Delay returns the delay a call started now would wait before its first
// hedge: Config.Delay, or the Quantile of recent latencies once there are
// enough of them.
func (p *Policy) Delay() time.Duration {
	if p.lat == nil {
		return p.cfg.Delay
	}
	return p.lat.delay(p.cfg.Delay)
}

// EventsDropped returns how many events were dropped because
// Config.Events was full.
func (p *Policy) EventsDropped() uint64 { return p.dropped.Load() }

var (
	errNilFunc   = &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}
	errNilPolicy = &resilience.ConfigError{Field: "hedge.Policy", Reason: "is nil; build one with hedge.New"}
	// errLost is the cause of the context of an attempt cancelled because
	// the call had its answer.
	errLost = errors.New("hedge: the call has its answer")
)

// Run calls fn, then again each time the latest attempt has run for the
// delay without an answer or an attempt fails, up to MaxAttempts
// attempts in all, and returns the error of the attempt that ends the
// call. An attempt classified Success, Terminal or Ignored ends it; when
// every attempt fails, the call ends with the error of the last one to
// return.
//
// Every attempt runs on a goroutine of its own, with a context derived
// from ctx that carries its number ([resilience.Attempt]: 1, 2, ...).
// When the call has its answer, Run cancels the other attempts' context
// (its cause says why) and waits for them to return before it returns
// itself: no attempt outlives Run, so fn must honour ctx promptly, or a
// slow loser delays the answer. Their results are discarded;
// [resilience.Do] releases their values (see its documentation).
//
// If ctx is done before the first attempt, fn is not called and Run
// returns ctx's error; once ctx is done no hedge starts. A panic or a
// runtime.Goexit in fn ends the call like a Terminal result: Run returns
// a [*resilience.PanicError] with the attempt's stack. A nil fn is a
// [*resilience.ConfigError].
func (p *Policy) Run(ctx context.Context, fn func(context.Context) error) error {
	switch {
	case fn == nil:
		return errNilFunc
	case p == nil:
		return errNilPolicy
	case ctx.Err() != nil:
		return ctx.Err()
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(errLost)
	c := &call{p: p, ctx: actx, fn: fn, delay: p.Delay(), done: make(chan result, p.cfg.MaxAttempts)}
	ok, err := c.run()
	cancel(errLost)
	c.drain(ok)
	if p.cfg.Budget != nil {
		p.cfg.Budget.Done(ok)
	}
	return err
}

// result is how one attempt ended.
type result struct {
	n        int // the attempt's number, from 1
	err      error
	panicked bool          // fn panicked or called runtime.Goexit
	elapsed  time.Duration // measured only when a Quantile is tracked
}

// call is one call to Run: its attempts and the loop that starts them.
type call struct {
	p       *Policy
	ctx     context.Context // every attempt's parent, cancelled at the end
	fn      func(context.Context) error
	delay   time.Duration
	done    chan result // one buffered slot per attempt, so no sender blocks
	started int
	running int
}

// run starts the first attempt and waits for an answer, starting hedges
// on time and on failures. It returns whether the answer was a success,
// and its error; the attempts still running are the caller's to drain.
func (c *call) run() (bool, error) {
	c.start(nil)
	timer := time.NewTimer(c.delay)
	defer timer.Stop()
	var last error
	for c.running > 0 {
		var tick <-chan time.Time
		if c.started < c.p.cfg.MaxAttempts {
			tick = timer.C
		}
		select {
		case r := <-c.done:
			c.running--
			outcome := c.judge(r)
			if outcome != resilience.Failure && outcome != resilience.Throttled {
				return outcome == resilience.Success, r.err
			}
			last = r.err
			if c.hedge(r.err) {
				timer.Reset(c.delay)
			}
		case <-tick:
			if c.hedge(nil) {
				timer.Reset(c.delay)
			}
		}
	}
	return false, last
}

// judge classifies an attempt's result and records a first attempt's
// latency. A panic is Terminal, whatever Classify says.
func (c *call) judge(r result) resilience.Outcome {
	if r.panicked {
		return resilience.Terminal
	}
	outcome := c.p.cfg.Classify(r.err)
	if r.n == 1 && outcome == resilience.Success && c.p.lat != nil {
		c.p.lat.record(r.elapsed)
	}
	return outcome
}

// hedge starts the next attempt, if one is left, ctx is live and the
// budget allows, and reports whether it did. cause is the failure that
// prompted it, nil when the delay ran out.
func (c *call) hedge(cause error) bool {
	switch {
	case c.started >= c.p.cfg.MaxAttempts, c.ctx.Err() != nil:
		return false
	case c.p.cfg.Budget != nil && !c.p.cfg.Budget.Retry():
		c.started = c.p.cfg.MaxAttempts // no more hedges for this call
		return false
	}
	c.start(cause)
	return true
}

// start runs the next attempt on a goroutine of its own.
func (c *call) start(cause error) {
	c.started++
	c.running++
	n := c.started
	if n > 1 {
		c.p.publish(Event{Name: c.p.cfg.Name, Attempt: n, Delay: c.delay, Err: cause})
	}
	// Even the first attempt carries its number, so a Pipeline around
	// the policy does not number the attempts by the order in which their
	// goroutines reach it.
	ctx := resilience.WithAttempt(c.ctx, n)
	go c.attempt(ctx, n)
}

// attempt runs fn once and sends how it ended, a panic or a
// runtime.Goexit included.
func (c *call) attempt(ctx context.Context, n int) {
	r := result{n: n}
	var began time.Time
	if c.p.lat != nil && n == 1 {
		began = time.Now()
	}
	finished := false
	defer func() {
		if !finished {
			r.err, r.panicked = panicError(recover()), true
		}
		if !began.IsZero() {
			r.elapsed = time.Since(began)
		}
		c.done <- r
	}()
	r.err = c.fn(ctx)
	finished = true
}

// drain waits for the attempts still running, which were cancelled, and
// records the time a first attempt ran before a hedge beat it (won: the
// call ended with a success).
func (c *call) drain(won bool) {
	for ; c.running > 0; c.running-- {
		r := <-c.done
		if won && r.n == 1 && c.p.lat != nil {
			c.p.lat.record(r.elapsed)
		}
	}
}

// panicError is the error of an attempt that panicked with r, or called
// runtime.Goexit when r is nil.
func panicError(r any) *resilience.PanicError {
	if r == nil {
		r = "runtime.Goexit called"
	}
	return &resilience.PanicError{Value: r, Stack: debug.Stack()}
}

// publish sends ev on Config.Events without blocking, counting a drop.
func (p *Policy) publish(ev Event) { events.Send(p.cfg.Events, ev, &p.dropped) }
