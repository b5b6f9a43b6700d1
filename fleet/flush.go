package fleet

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/llm-research-lab/resilience/breaker"
)

// visit flushes d's counts if they are due: after FlushCalls calls, every
// QuietInterval, every TroubleInterval while there is trouble, and when a
// fleet open times out. A failed flush drops its counts, so nothing piles
// up while Redis is away and a recovered agent sends only fresh counts.
func (d *dep) visit(ctx context.Context, a *Agent, now time.Time) {
	d.mu.Lock()
	br, bud := d.br, d.bud
	d.mu.Unlock()
	if br != nil && d.sampled != br { // a new fleet breaker: count from when it was made
		d.sample.calls, d.sample.fails, d.sample.probeFails, d.sampled = br.calls, br.fails, br.probeFails, br
	}
	cur, localOpen := d.read(br, bud)
	delta := cur.minus(d.sample)
	v := localView
	if br != nil {
		v = br.view.Load()
	}
	since := now.Sub(d.lastFlush)
	trouble := delta.fails > 0 || localOpen || v.state != "fleet closed"
	due := delta.calls >= uint64(a.cfg.FlushCalls) || delta.budgetCalls >= uint64(a.cfg.FlushCalls) ||
		since >= a.cfg.QuietInterval || (trouble && since >= a.cfg.TroubleInterval)
	if !due {
		return
	}
	d.lastFlush = now
	d.sample = cur
	result := 0
	if v.owner && br != nil {
		result = d.probeResult(cur, a.cfg.ProbeSuccesses)
	}
	args := []any{a.replica, delta.calls, delta.fails, flag(localOpen), delta.budgetCalls, delta.budgetRetries,
		flag(delta.refused > 0), result}
	args = append(args, a.ruleArgs(d.keys.id, br != nil)...)
	var reply []int64
	err := a.call(ctx, func(ctx context.Context) error {
		var err error
		reply, err = flushScript.Run(ctx, a.client, []string{d.keys.state, d.keys.window, d.keys.probe}, args...).Int64Slice()
		return err
	})
	if err != nil || len(reply) != 8 {
		return
	}
	a.counts.flushes.Add(1)
	a.offsetMs.Store(time.Now().UnixMilli() - reply[3])
	if br != nil {
		d.apply(a, br, reply, cur)
	}
	if bud != nil {
		bud.refill(uint64(max(0, reply[5])), uint64(max(0, reply[6])), uint64(max(0, reply[7])), cur)
	}
}

// apply installs the state a flush reply carries.
func (d *dep) apply(a *Agent, br *Breaker, reply []int64, cur sample) {
	gen, open, owner := uint64(reply[0]), reply[1] == 1, reply[4] == 1
	now := time.Now()
	until := now.Add(time.Duration(reply[2]-reply[3]) * time.Millisecond)
	if open && !(reply[3] < reply[2]) {
		until = now.Add(a.probeLease())
	}
	was := br.view.Load().owner
	if owner && !was {
		d.probeBase = cur
	}
	br.publish(a, gen, open, owner, until, reply[3])
}

// probeResult says what the calls since this replica took the probe show:
// 2 after a failure, 1 after ProbeSuccesses successes, 0 not yet.
func (d *dep) probeResult(cur sample, need int) int {
	fails := cur.probeFails - d.probeBase.probeFails
	successes := (cur.calls - cur.fails) - (d.probeBase.calls - d.probeBase.fails)
	switch {
	case fails > 0:
		return 2
	case successes >= uint64(need):
		return 1
	}
	return 0
}

// read samples the counters of d's breaker and budget.
func (d *dep) read(br *Breaker, bud *Budget) (s sample, localOpen bool) {
	if br != nil {
		m := br.local.Metrics()
		s.calls, s.fails, s.probeFails = localCounts(m)
		s.refused = br.refused.Load()
		localOpen = m.State == breaker.Open
	}
	if bud != nil {
		s.budgetCalls, s.budgetRetries = bud.calls.Load(), bud.retries.Load()
	}
	return s, localOpen
}

// localCounts are the calls and failures a local breaker reports to the
// fleet: a call its open state refused counts as a failed call, since the
// replica judged the dependency down and its demand is still there.
func localCounts(m breaker.Metrics) (calls, fails, probeFails uint64) {
	refused := m.RejectedOpen + m.RejectedHalfOpen
	return m.Successes + m.Failures + refused, m.Failures + refused, m.Failures
}

// minus returns the counts since o. It saturates at zero: a Budget takes
// back a retry it counted and then refused, so its count may step back.
func (s sample) minus(o sample) sample {
	return sample{calls: sub(s.calls, o.calls), fails: sub(s.fails, o.fails), refused: sub(s.refused, o.refused),
		budgetCalls: sub(s.budgetCalls, o.budgetCalls), budgetRetries: sub(s.budgetRetries, o.budgetRetries)}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// ruleArgs are the flush script's arguments 9 to 20: the trip rule, the
// timings, the channel and the dependency's label.
func (a *Agent) ruleArgs(label string, hasBreaker bool) []any {
	c := a.cfg
	bucket := c.Window / 5
	return []any{c.MinimumCalls, ppm(c.FailureRate), c.Quorum, ppm(c.QuorumFraction),
		c.OpenTimeout.Milliseconds(), c.Window.Milliseconds(), max(1, bucket.Milliseconds()),
		a.keyTTL().Milliseconds(), a.probeLease().Milliseconds(), a.channel, label, flag(hasBreaker)}
}

// keyTTL is how long a dependency's keys outlive its last flush.
func (a *Agent) keyTTL() time.Duration {
	return 2*a.cfg.Window + 2*a.cfg.OpenTimeout
}

// probeLease is how long a probe owner holds the probe without result
// before another replica may take it.
func (a *Agent) probeLease() time.Duration {
	return max(time.Second, 20*a.cfg.TroubleInterval)
}

func ppm(f float64) int64 { return int64(f*1e6 + 0.5) }

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseMessage reads "label gen state until" from the state channel.
func parseMessage(s string) (label string, gen uint64, open bool, until int64, ok bool) {
	f := strings.Split(s, " ")
	if len(f) != 4 || len(f[0]) == 0 || len(f[0]) > 32 {
		return "", 0, false, 0, false
	}
	gen, err1 := strconv.ParseUint(f[1], 10, 64)
	state, err2 := strconv.Atoi(f[2])
	until, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || (state != 0 && state != 1) {
		return "", 0, false, 0, false
	}
	return f[0], gen, state == 1, until, true
}
