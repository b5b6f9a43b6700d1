package hedge_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/hedge"
	"github.com/llm-research-lab/resilience/retry"
)

func mustNew(t *testing.T, cfg hedge.Config) *hedge.Policy {
	t.Helper()
	p, err := hedge.New(cfg)
	require.NoError(t, err)
	return p
}

// log records when each attempt started and how its context ended.
type log struct {
	mu     sync.Mutex
	starts map[int]time.Duration // attempt → start, since the call began
	causes map[int]error         // attempt → context.Cause once it returned
	begin  time.Time
}

func newLog() *log {
	return &log{starts: map[int]time.Duration{}, causes: map[int]error{}, begin: time.Now()}
}

func (l *log) started(ctx context.Context) int {
	n := resilience.Attempt(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts[n] = time.Since(l.begin)
	return n
}

func (l *log) ended(ctx context.Context, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.causes[n] = context.Cause(ctx)
}

// wait sleeps d or until ctx is done, returning ctx's error then.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestHedgeStartsExactlyAtTheDelayAndTheWinnerCancelsTheLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 50 * time.Millisecond})
		l := newLog()
		err := p.Run(t.Context(), func(ctx context.Context) error {
			n := l.started(ctx)
			defer l.ended(ctx, n)
			if n == 1 {
				return wait(ctx, time.Hour) // a stalled primary
			}
			return wait(ctx, 10*time.Millisecond)
		})
		require.NoError(t, err, "the hedge's success is the call's answer")
		assert.Equal(t, map[int]time.Duration{1: 0, 2: 50 * time.Millisecond}, l.starts,
			"the hedge starts when the primary has run for exactly the delay")
		assert.Equal(t, 60*time.Millisecond, time.Since(l.begin), "Run returns when the hedge answers")
		require.Error(t, l.causes[1], "the losing primary's context is cancelled")
		assert.Contains(t, l.causes[1].Error(), "has its answer", "the cause says why")
		assert.NoError(t, l.causes[2], "the winner's context was live when it returned")
	})
}

func TestPrimaryAnsweringBeforeTheDelayStartsNoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan hedge.Event, 4)
		p := mustNew(t, hedge.Config{Delay: 50 * time.Millisecond, Events: events})
		l := newLog()
		err := p.Run(t.Context(), func(ctx context.Context) error {
			l.started(ctx)
			return wait(ctx, 49*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Len(t, l.starts, 1, "no hedge for an answer within the delay")
		assert.Empty(t, events)
	})
}

func TestFailedPrimaryStartsTheHedgeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan hedge.Event, 4)
		p := mustNew(t, hedge.Config{Name: "db", Delay: time.Second, MaxAttempts: 3, Events: events})
		l := newLog()
		boom := errors.New("503")
		err := p.Run(t.Context(), func(ctx context.Context) error {
			n := l.started(ctx)
			switch n {
			case 1:
				_ = wait(ctx, 10*time.Millisecond)
				return boom
			case 2:
				return wait(ctx, time.Hour)
			}
			return wait(ctx, 5*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, map[int]time.Duration{1: 0, 2: 10 * time.Millisecond, 3: 1010 * time.Millisecond}, l.starts,
			"a failure starts the next attempt at once; the next one waits the delay from there")
		require.Len(t, events, 2)
		assert.Equal(t, hedge.Event{Name: "db", Attempt: 2, Delay: time.Second, Err: boom}, <-events)
		assert.Equal(t, hedge.Event{Name: "db", Attempt: 3, Delay: time.Second}, <-events)
	})
}

func TestTerminalResultStopsEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 4})
		l := newLog()
		bad := resilience.Permanent(errors.New("400 bad request"))
		err := p.Run(t.Context(), func(ctx context.Context) error {
			n := l.started(ctx)
			defer l.ended(ctx, n)
			if n == 2 {
				return bad
			}
			return wait(ctx, time.Hour)
		})
		assert.Same(t, bad, err, "a Terminal result is the call's answer, as returned")
		assert.Len(t, l.starts, 2, "no hedge after a Terminal result")
		assert.Error(t, l.causes[1], "the primary is cancelled")
	})
}

func TestEveryAttemptFailingReturnsTheLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 3})
		errs := []error{errors.New("one"), errors.New("two"), errors.New("three")}
		l := newLog()
		err := p.Run(t.Context(), func(ctx context.Context) error {
			n := l.started(ctx)
			// attempt 1 is the last to fail, at 100ms; 2 fails at once, then 3.
			_ = wait(ctx, []time.Duration{100, 0, 5}[n-1]*time.Millisecond)
			return errs[n-1]
		})
		assert.Same(t, errs[0], err, "the error of the last attempt to return")
		assert.Len(t, l.starts, 3, "MaxAttempts attempts, no more")
	})
}

func TestThrottledRefusalLetsTheOthersGoOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		refusal := &resilience.RejectedError{Reason: resilience.ErrOpen}
		err := p.Run(t.Context(), func(ctx context.Context) error {
			if resilience.Attempt(ctx) == 2 {
				return refusal
			}
			return wait(ctx, 30*time.Millisecond)
		})
		assert.NoError(t, err, "the primary answers after the hedge was refused")
	})
}

func TestCustomClassifySeesResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		notFound := errors.New("404")
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, Classify: func(err error) resilience.Outcome {
			if errors.Is(err, notFound) {
				return resilience.Success // a definite answer
			}
			return resilience.Classify(err)
		}})
		calls := 0
		err := p.Run(t.Context(), func(context.Context) error { calls++; return notFound })
		assert.Same(t, notFound, err)
		assert.Equal(t, 1, calls, "a result classified Success ends the call")
	})
}

func TestBudgetRefusalStartsNoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := retry.NewBudget(1, 0)
		require.NoError(t, err)
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, Budget: b})
		var mu sync.Mutex
		attempts := 0
		slow := func(ctx context.Context) error {
			mu.Lock()
			attempts++
			mu.Unlock()
			return wait(ctx, 20*time.Millisecond)
		}
		require.NoError(t, p.Run(t.Context(), slow))
		assert.Equal(t, 2, attempts, "the budget's one token pays for one hedge")
		require.NoError(t, p.Run(t.Context(), slow))
		assert.Equal(t, 3, attempts, "an empty budget: the call goes on with its first attempt")
	})
}

func TestCallerCancellationEndsTheCallAndStartsNoHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(5*time.Millisecond, cancel)
		calls := 0
		err := p.Run(ctx, func(ctx context.Context) error { calls++; return wait(ctx, time.Hour) })
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, calls)

		err = p.Run(ctx, func(context.Context) error { calls++; return nil })
		assert.ErrorIs(t, err, context.Canceled, "a done ctx: fn is not called")
		assert.Equal(t, 1, calls)
	})
}

func TestDeadlineEndsEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 4})
		ctx, cancel := context.WithTimeout(t.Context(), 25*time.Millisecond)
		defer cancel()
		l := newLog()
		err := p.Run(ctx, func(ctx context.Context) error { l.started(ctx); return wait(ctx, time.Hour) })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Len(t, l.starts, 3, "hedges at 10ms and 20ms, none after the deadline")
		assert.Equal(t, 25*time.Millisecond, time.Since(l.begin))
	})
}

func TestPanicAndGoexitArriveAsPanicErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{Delay: 10 * time.Millisecond})
		cancelled := false
		err := p.Run(t.Context(), func(ctx context.Context) error {
			if resilience.Attempt(ctx) == 2 {
				panic("bug")
			}
			err := wait(ctx, time.Hour)
			cancelled = err != nil
			return err
		})
		var pe *resilience.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "bug", pe.Value)
		assert.Contains(t, string(pe.Stack), "hedge_test.go", "the stack is the panicking attempt's")
		assert.True(t, cancelled, "a panic ends the call: the primary is cancelled")

		err = p.Run(t.Context(), func(context.Context) error { runtime.Goexit(); return nil })
		require.ErrorAs(t, err, &pe)
		assert.Contains(t, pe.Value, "Goexit")
	})
}

func TestEventsAreDroppedNotBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan hedge.Event) // never read
		p := mustNew(t, hedge.Config{Delay: time.Millisecond, MaxAttempts: 4, Events: events})
		err := p.Run(t.Context(), func(ctx context.Context) error {
			if resilience.Attempt(ctx) < 4 {
				return wait(ctx, time.Hour)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, uint64(3), p.EventsDropped())
	})
}

func TestNilArguments(t *testing.T) {
	var ce *resilience.ConfigError
	require.ErrorAs(t, mustNew(t, hedge.Config{}).Run(context.Background(), nil), &ce)
	assert.Equal(t, "fn", ce.Field)
	var p *hedge.Policy
	require.ErrorAs(t, p.Run(context.Background(), func(context.Context) error { return nil }), &ce)
	assert.Equal(t, "hedge.Policy", ce.Field)
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name  string
		cfg   hedge.Config
		field string
	}{
		{"negative delay", hedge.Config{Delay: -1}, "hedge.Config.Delay"},
		{"negative quantile", hedge.Config{Quantile: -0.5}, "hedge.Config.Quantile"},
		{"quantile of 1", hedge.Config{Quantile: 1}, "hedge.Config.Quantile"},
		{"NaN quantile", hedge.Config{Quantile: nan()}, "hedge.Config.Quantile"},
		{"negative attempts", hedge.Config{MaxAttempts: -1}, "hedge.Config.MaxAttempts"},
		{"a hedge count of 0", hedge.Config{MaxAttempts: 1}, "hedge.Config.MaxAttempts"},
		{"too many hedges", hedge.Config{MaxAttempts: 12}, "hedge.Config.MaxAttempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hedge.New(tt.cfg)
			assert.Nil(t, p)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.NotEmpty(t, ce.Reason)
		})
	}
}

func TestZeroConfigDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustNew(t, hedge.Config{})
		assert.Equal(t, time.Second, p.Delay())
		l := newLog()
		require.NoError(t, p.Run(t.Context(), func(ctx context.Context) error {
			l.started(ctx)
			return wait(ctx, 3*time.Second)
		}))
		assert.Equal(t, map[int]time.Duration{1: 0, 2: time.Second}, l.starts, "one hedge after 1s")
	})
}

func nan() float64 { var z float64; return z / z }
