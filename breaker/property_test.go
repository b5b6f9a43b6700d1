package breaker

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llm-research-lab/resilience"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// held is a call admitted and not yet finished.
type held struct {
	p permit
}

// model is what the property test knows independently of the breaker.
type model struct {
	cfg       Config
	violation string                          // the first invariant broken, if any
	calls     uint64                          // admission attempts
	held      []held                          // admitted, unfinished
	outcomes  map[uint64][]resilience.Outcome // probe outcomes reported, by half-open generation
}

// TestProperties drives random sequences of calls, outcomes, cancellations,
// manual commands and clock advances, and checks after every step:
//   - no half-open generation ever has more than HalfOpenMaxRequests probes
//     in flight;
//   - the breaker closes from half-open only after SuccessThreshold probe
//     successes in a row and fewer than HalfOpenFailureThreshold failures
//     in that generation or, with HalfOpenSuccessRatio, after
//     SuccessThreshold probe results meeting the ratio;
//   - it reopens from half-open only when the failures reach
//     HalfOpenFailureThreshold or the ratio is missed;
//   - the generation's counts never exceed the lifetime ones, and its
//     requests are its successes plus its failures;
//   - a result from an older generation changes neither state nor
//     generation;
//   - every call is exactly one of success, failure, ignored, rejected, or
//     still in flight.
func TestProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := Config{
			FailureThreshold:         rapid.IntRange(1, 4).Draw(rt, "failureThreshold"),
			SuccessThreshold:         rapid.IntRange(1, 3).Draw(rt, "successThreshold"),
			HalfOpenMaxRequests:      rapid.IntRange(1, 3).Draw(rt, "halfOpenMax"),
			OpenTimeout:              time.Second,
			OpenBackoff:              rapid.SampledFrom([]float64{0, 2}).Draw(rt, "backoff"),
			HalfOpenFailureThreshold: rapid.IntRange(0, 3).Draw(rt, "halfOpenFailures"),
			HalfOpenSuccessRatio:     rapid.SampledFrom([]float64{0, 0, 0.5, 0.75, 1}).Draw(rt, "ratio"),
		}
		steps := rapid.SliceOfN(rapid.IntRange(0, 99), 50, 300).Draw(rt, "steps")
		var violation string
		synctest.Test(t, func(t *testing.T) {
			violation = runModel(t, cfg, steps)
		})
		if violation != "" {
			rt.Fatal(violation) // outside the bubble, so rapid can shrink
		}
	})
}

// runModel runs one sequence and returns the first broken invariant.
func runModel(t *testing.T, cfg Config, steps []int) string {
	events := make(chan Event, 1024)
	cfg.Events = events
	b, err := New(cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Stop(context.Background())) }()
	m := &model{cfg: *b.cfg, outcomes: map[uint64][]resilience.Outcome{}}
	for _, s := range steps {
		switch {
		case s < 40:
			m.admit(b)
		case s < 85 && len(m.held) > 0:
			m.finish(b, s%len(m.held), resilience.Outcome(s%3))
		case s < 95:
			time.Sleep(time.Duration(s%3) * 600 * time.Millisecond)
		case s < 96:
			require.NoError(t, b.ForceOpen(context.Background()))
		case s < 97:
			require.NoError(t, b.ForceHalfOpen(context.Background()))
		case s < 98:
			require.NoError(t, b.ForceClose(context.Background()))
		default:
			require.NoError(t, b.Reset(context.Background()))
		}
		synctest.Wait()
		m.check(b, events)
		if m.violation != "" {
			return m.violation
		}
	}
	for len(m.held) > 0 {
		m.finish(b, 0, resilience.Success)
	}
	synctest.Wait()
	m.check(b, events)
	return m.violation
}

func (m *model) fail(format string, args ...any) {
	if m.violation == "" {
		m.violation = fmt.Sprintf(format, args...)
	}
}

func (m *model) admit(b *Breaker) {
	m.calls++
	p, err := b.acquire(b.snap.Load())
	if err != nil {
		return
	}
	m.held = append(m.held, held{p: p})
	if p.probe {
		n := 0
		for _, h := range m.held {
			if h.p.probe && h.p.s.gen == p.s.gen {
				n++
			}
		}
		if n > m.cfg.HalfOpenMaxRequests {
			m.fail("%d probes in flight in generation %d", n, p.s.gen)
		}
	}
}

func (m *model) finish(b *Breaker, i int, o resilience.Outcome) {
	h := m.held[i]
	m.held = append(m.held[:i], m.held[i+1:]...)
	before := b.snap.Load()
	stale := before.gen != h.p.s.gen
	if h.p.probe && !stale {
		m.outcomes[h.p.s.gen] = append(m.outcomes[h.p.s.gen], o)
	}
	b.finish(context.Background(), h.p, [...]error{nil, errBoom, context.Canceled}[o])
	synctest.Wait()
	if stale {
		after := b.snap.Load()
		if before.gen != after.gen || before.state != after.state {
			m.fail("a stale result moved %v/%d to %v/%d", before.state, before.gen, after.state, after.gen)
		}
	}
}

func (m *model) check(b *Breaker, events <-chan Event) {
	for {
		select {
		case ev := <-events:
			if ev.From == HalfOpen && ev.To == Closed && ev.Reason == reasonProbesOK {
				m.checkVerdict(ev.Generation-1, Closed)
			}
			if ev.From == HalfOpen && ev.To == Open && ev.Reason != reasonForceOpen {
				m.checkVerdict(ev.Generation-1, Open)
			}
			continue
		default:
		}
		break
	}
	c := b.Metrics()
	accounted := c.Successes + c.Failures + c.Ignored + c.RejectedOpen + c.RejectedHalfOpen + uint64(len(m.held))
	if accounted != m.calls {
		m.fail("counters do not add up: %+v with %d in flight, %d calls", c, len(m.held), m.calls)
	}
	g := c.Generation
	if g.Requests != g.Successes+g.Failures || g.Successes > c.Successes || g.Failures > c.Failures ||
		g.ConsecutiveSuccesses > g.Successes || g.ConsecutiveFailures > g.Failures {
		m.fail("generation counts %+v do not fit the lifetime ones %+v", g, c)
	}
}

// checkVerdict verifies that the half-open generation gen earned its move
// to state to, judging its probe results as the configuration says.
func (m *model) checkVerdict(gen uint64, to State) {
	oks, bad, run := 0, 0, 0
	for _, o := range m.outcomes[gen] {
		switch o {
		case resilience.Success:
			oks++
			run++
		case resilience.Failure:
			bad++
			run = 0
		}
	}
	c := m.cfg
	failedOut := c.HalfOpenFailureThreshold > 0 && bad >= c.HalfOpenFailureThreshold
	var earned bool
	switch {
	case to == Open && failedOut:
		earned = true
	case failedOut:
		earned = false
	case c.HalfOpenSuccessRatio == 0:
		earned = to == Closed && run >= c.SuccessThreshold
	case oks+bad < c.SuccessThreshold:
		earned = false
	default:
		met := float64(oks) >= c.HalfOpenSuccessRatio*float64(oks+bad)
		earned = met == (to == Closed)
	}
	if !earned {
		m.fail("generation %d moved to %v after probes %v (config %+v)", gen, to, m.outcomes[gen], c)
	}
}
