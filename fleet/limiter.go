package fleet

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/limit"
)

var _ resilience.Gate = (*Limiter)(nil)

// Limiter is a fleet rate limiter: every replica together admits at most
// PerSecond calls a second, with Burst, as one GCRA bucket kept in Redis.
// The agent takes tokens from that bucket in leases of a few tokens ahead
// of need, so Allow is one atomic operation on the replica's own tokens;
// unused tokens go back after a second. A fleet over its rate is told how
// long to wait, and Allow refuses locally until then, so refused calls
// cost Redis nothing. While Redis is unreachable (and before the agent
// starts, or after it stops) each replica admits its share of the rate
// with a local [limit.Rate]: PerSecond ÷ the replicas last seen (see
// Config.FallbackReplicas). Create it with [Agent.Limiter].
//
// Over any interval of length t, the fleet admits at most
// PerSecond × t + Burst + R × L calls, R the replicas and L the largest
// lease (PerSecond × 2 × TroubleInterval ÷ the replicas the agent knows of,
// at least 1, at most Burst): the last term is the tokens leased before
// the interval and spent in it.
type Limiter struct {
	a      *Agent
	cfg    limit.Config
	keys   keys
	period int64 // µs per token

	tokens   atomic.Int64
	deny     atomic.Pointer[resilience.RejectedError] // the fleet is over its rate until deny.Until
	empty    *resilience.RejectedError                // no token yet, none known to be denied
	fallback atomic.Pointer[limit.Rate]               // non-nil: local share only
	replicas atomic.Int64                             // the fleet's replicas, as last reported

	// Owned by the agent's loop.
	lease     int64
	grantedAt time.Time
	fallbackN int64
	share     *limit.Rate // the local share, made for fallbackN replicas
	seenAt    time.Time   // last lease: it also refreshes the replica count
}

// Limiter returns the fleet limiter named cfg.Name (required; every
// replica must give the same name and rate). cfg is validated as by
// limit.New; Smooth is not supported by a fleet limiter. Asking twice for
// one name returns the first Limiter.
func (a *Agent) Limiter(cfg limit.Config) (*Limiter, error) {
	if cfg.Name == "" {
		return nil, &resilience.ConfigError{Field: "limit.Config.Name", Reason: "must name the limited dependency"}
	}
	if cfg.Smooth {
		return nil, &resilience.ConfigError{Field: "limit.Config.Smooth", Reason: "is not supported by a fleet limiter"}
	}
	if _, err := limit.New(cfg); err != nil {
		return nil, err
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.PerSecond)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return nil, resilience.ErrStopped
	}
	if l, ok := a.limiters[cfg.Name]; ok {
		return l, nil
	}
	l := &Limiter{a: a, cfg: cfg, keys: newKeys(a.cfg.Namespace, a.hash.label("limiter", cfg.Name)),
		period: max(1, int64(math.Round(1e6/cfg.PerSecond))),
		empty:  &resilience.RejectedError{Name: cfg.Name, Reason: limit.ErrLimited}}
	l.replicas.Store(1)
	l.lease = l.leaseSize()
	l.degrade()
	a.limiters[cfg.Name] = l
	return l, nil
}

// Allow admits a call if this replica holds a token, and never waits. A
// refusal is a *resilience.RejectedError matching limit.ErrLimited, whose
// Until is when the fleet expects a token when it knows. done does
// nothing but must be called, as for every resilience.Gate.
func (l *Limiter) Allow(ctx context.Context) (done func(error), err error) {
	if f := l.fallback.Load(); f != nil {
		return f.Allow(ctx)
	}
	for {
		t := l.tokens.Load()
		if t <= 0 {
			break
		}
		if l.tokens.CompareAndSwap(t, t-1) {
			return nop, nil
		}
	}
	if d := l.deny.Load(); d != nil && time.Now().Before(d.Until) {
		return nil, d // the fleet is over its rate: nothing to ask the agent
	}
	select {
	case l.a.wake <- struct{}{}: // out of tokens: ask for a lease now
	default:
	}
	return nil, l.empty
}

// Run calls fn if the limiter admits it now, and returns fn's error or the
// refusal.
func (l *Limiter) Run(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return &resilience.ConfigError{Field: "fn", Reason: "must not be nil"}
	}
	done, err := l.Allow(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx)
	done(err)
	return err
}

func nop(error) {}

// leaseSize is two ticks of this replica's share of the rate.
func (l *Limiter) leaseSize() int64 {
	share := l.cfg.PerSecond * 2 * l.a.cfg.TroubleInterval.Seconds() / float64(l.replicas.Load())
	return min(int64(l.cfg.Burst), max(1, int64(share)))
}

// leaseAge is how long leased tokens stay unused before they go back.
func (l *Limiter) leaseAge() time.Duration { return max(time.Second, 10*l.a.cfg.TroubleInterval) }

// visit takes a new lease when this replica is low on tokens (and the
// fleet is not known to be over its rate), gives back tokens unused for
// leaseAge, and at least every QuietInterval tells the fleet this replica
// is alive and learns how many others are.
func (l *Limiter) visit(ctx context.Context, now time.Time) {
	t := l.tokens.Load()
	degraded := l.fallback.Load() != nil
	deny := l.deny.Load()
	need := (t <= l.lease/2 || degraded) && (deny == nil || !now.Before(deny.Until))
	aged := t > 0 && now.Sub(l.grantedAt) > l.leaseAge()
	stale := now.Sub(l.seenAt) >= l.a.cfg.QuietInterval
	if !need && !aged && !stale {
		return
	}
	var refund, want int64
	if aged {
		refund = max(0, l.tokens.Swap(0))
	}
	if need {
		want = max(0, l.lease-max(0, l.tokens.Load()))
	}
	var reply []int64
	err := l.a.call(ctx, func(ctx context.Context) error {
		var err error
		reply, err = leaseScript.Run(ctx, l.a.client, []string{l.keys.bucket, l.keys.replicaCounts},
			l.a.replica, l.period, l.cfg.Burst, want, refund, l.a.keyTTL().Milliseconds()).Int64Slice()
		return err
	})
	if err != nil || len(reply) != 3 {
		l.tokens.Add(refund) // not given back: keep them
		return
	}
	l.a.counts.leases.Add(1)
	l.seenAt = now
	l.granted(now, reply[0], reply[1], want, reply[2])
}

// granted applies a lease reply: k tokens, wait µs until the next one if
// fewer than want, active replicas.
func (l *Limiter) granted(now time.Time, k, wait, want, active int64) {
	if k > 0 {
		l.tokens.Add(k)
		l.grantedAt = now
	}
	if k < want {
		l.deny.Store(&resilience.RejectedError{Name: l.cfg.Name, Reason: limit.ErrLimited,
			Until: now.Add(time.Duration(wait) * time.Microsecond)})
	}
	if active >= 1 && active != l.replicas.Load() {
		l.replicas.Store(active)
		l.lease = l.leaseSize()
	}
	if !l.a.halted() {
		l.fallback.Store(nil)
	}
}

// degrade switches to the local share of the rate: PerSecond ÷ replicas.
func (l *Limiter) degrade() {
	n := l.replicas.Load()
	if l.a.cfg.FallbackReplicas > 0 {
		n = int64(l.a.cfg.FallbackReplicas)
	}
	if l.share == nil || n != l.fallbackN {
		r, err := limit.New(limit.Config{Name: l.cfg.Name, PerSecond: l.cfg.PerSecond / float64(n),
			Burst: max(1, l.cfg.Burst/int(n))})
		if err != nil {
			return // a rate too small to divide further: keep the current mode
		}
		l.share, l.fallbackN = r, n
	}
	l.fallback.Store(l.share) // kept across outages, so a flapping Redis does not refill its burst
}
