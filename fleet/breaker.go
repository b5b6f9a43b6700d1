package fleet

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
)

var _ resilience.Gate = (*Breaker)(nil)

// Breaker is a fleet circuit breaker for one dependency: a
// [resilience.Gate] in front of a local [breaker.Breaker]. While the fleet
// has the dependency open, it refuses every call with the same
// [*resilience.RejectedError] (Reason [resilience.ErrOpen], Until the end
// of the fleet's open timeout) a local breaker returns; otherwise it
// passes the call to the local breaker. Deciding costs one atomic load;
// no call waits for Redis. Create it with [Agent.Breaker].
type Breaker struct {
	name    string
	local   *breaker.Breaker
	view    atomic.Pointer[view]
	refused atomic.Uint64 // calls refused by the fleet state

	calls, fails, probeFails uint64 // local's counts when the fleet breaker was made
}

// view is one fleet state as this replica applies it. Immutable once
// published.
type view struct {
	refuse bool // refuse every call with err
	owner  bool // this replica owns the half-open probe
	state  string
	gen    uint64
	until  time.Time // end of the open timeout (refuse) or of the probe lease
	err    *resilience.RejectedError
}

var localView = &view{state: "fleet closed"}

// Breaker returns the fleet breaker of the dependency name, in front of
// local, the replica's own breaker for it. The agent samples local's
// counters; local keeps its own trip rule, so a replica that alone sees
// failures still stops calling. Name the dependency the same on every
// replica: the name, not local's Config.Name, identifies it in the fleet
// (only its HMAC reaches Redis). Asking twice for one name returns the
// first Breaker if local is the same, a ConfigError otherwise; after Stop,
// resilience.ErrStopped.
func (a *Agent) Breaker(name string, local *breaker.Breaker) (*Breaker, error) {
	if local == nil {
		return nil, &resilience.ConfigError{Field: "local", Reason: "must not be nil"}
	}
	if name == "" {
		return nil, &resilience.ConfigError{Field: "name", Reason: "must not be empty"}
	}
	d, err := a.dependency(name)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.br != nil {
		if d.br.local != local {
			return nil, &resilience.ConfigError{Field: "name", Reason: "already has a fleet breaker with another local breaker"}
		}
		return d.br, nil
	}
	m := local.Metrics()
	b := &Breaker{name: name, local: local}
	b.calls, b.fails, b.probeFails = localCounts(m)
	b.view.Store(localView)
	d.br = b
	return b, nil
}

// Allow admits a call or refuses it, like [breaker.Breaker.Allow]: while
// the fleet is open it returns the fleet's refusal, otherwise the local
// breaker's answer. done must be called exactly once with the call's error.
func (b *Breaker) Allow(ctx context.Context) (done func(error), err error) {
	if v := b.view.Load(); v.refuse {
		b.refused.Add(1)
		return nil, v.err
	}
	return b.local.Allow(ctx)
}

// Run calls fn unless the fleet or the local breaker refuses, and returns
// fn's error or the refusal, like [breaker.Breaker.Run].
func (b *Breaker) Run(ctx context.Context, fn func(context.Context) error) error {
	if v := b.view.Load(); v.refuse {
		b.refused.Add(1)
		return v.err
	}
	return b.local.Run(ctx, fn)
}

// State returns the fleet state as this replica sees it: "fleet closed"
// (calls go to the local breaker), "fleet open", "fleet half-open" (another
// replica probes) or "probe owner" (this replica probes).
func (b *Breaker) State() string { return b.view.Load().state }

// publish installs the view for fleet state (gen, open, owner, until).
// A message (asOf 0) must carry a newer generation than the installed one.
// A flush reply, read from Redis at asOf (Redis ms), may carry the same
// one, or an older one if it was read after the installed generation
// began: Redis then no longer holds that state (it lost its data), and
// its answer is the truth.
func (b *Breaker) publish(a *Agent, gen uint64, open, owner bool, until time.Time, asOf int64) {
	cur := b.view.Load()
	fresh := gen > cur.gen || (asOf > 0 && (gen == cur.gen || uint64(asOf) > cur.gen))
	if !fresh || a.halted() {
		return
	}
	v := &view{gen: gen, state: "fleet closed", owner: owner, until: until}
	switch {
	case open && owner:
		v.state = "probe owner"
	case open && time.Now().Before(until):
		v.state, v.refuse = "fleet open", true
	case open:
		v.state, v.refuse = "fleet half-open", true
	}
	if v.refuse {
		v.err = &resilience.RejectedError{Name: b.name, Reason: resilience.ErrOpen, Until: until}
	}
	b.view.Store(v)
	if v.state != cur.state {
		a.emit(Event{Name: b.name, Change: v.state, Generation: gen, At: time.Now()})
	}
}

// expire is the degraded mode for one breaker: once a known open's
// deadline passes, or at once for a half-open run by another replica,
// calls go back to the local breaker.
func (b *Breaker) expire(a *Agent, now time.Time) {
	cur := b.view.Load()
	if !cur.refuse || (cur.state == "fleet open" && now.Before(cur.until) && !a.halted()) {
		return
	}
	b.view.Store(&view{gen: cur.gen, state: "fleet closed"})
	a.emit(Event{Name: b.name, Change: "fleet closed", Generation: cur.gen, At: now})
}

// dep is one dependency's fleet state kept by the agent: its breaker and
// budget, and what the agent has already flushed of their counters.
type dep struct {
	name string
	keys keys

	mu  sync.Mutex // guards br, bud and view changes
	br  *Breaker
	bud *Budget

	// Owned by the agent's loop.
	sample    sample   // counters at the last flush
	sampled   *Breaker // the breaker sample counts from
	probeBase sample   // counters when this replica became probe owner
	lastFlush time.Time
}

type sample struct {
	calls, fails, probeFails, refused, budgetCalls, budgetRetries uint64
}
