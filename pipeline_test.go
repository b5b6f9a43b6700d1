package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/llm-research-lab/resilience"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// trace records what the stages of a pipeline did, in order.
type trace struct {
	mu     sync.Mutex
	events []string
}

func (t *trace) add(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, fmt.Sprintf(format, args...))
}

func (t *trace) String() string { return strings.Join(t.events, " ") }

// gate admits calls until refuse is set, and records admissions and results.
type gate struct {
	name   string
	t      *trace
	refuse error
}

func (g *gate) Allow(context.Context) (func(error), error) {
	if g.refuse != nil {
		g.t.add("%s:refused", g.name)
		return nil, g.refuse
	}
	g.t.add("%s:in", g.name)
	return func(err error) {
		var pe *resilience.PanicError
		switch {
		case errors.As(err, &pe):
			g.t.add("%s:panic", g.name)
		case err != nil:
			g.t.add("%s:fail", g.name)
		default:
			g.t.add("%s:ok", g.name)
		}
	}, nil
}

func (g *gate) Run(ctx context.Context, fn func(context.Context) error) error {
	_, err := resilience.Do(ctx, g, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// loop retries up to n attempts while the classifier says Failure.
type loop struct{ n int }

func (l loop) Run(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for range l.n {
		if err = fn(ctx); resilience.Classify(err) != resilience.Failure {
			return err
		}
	}
	return err
}

func TestZeroAndNilPipelineCallFnDirectly(t *testing.T) {
	for _, p := range []*resilience.Pipeline{nil, {}} {
		calls := 0
		err := p.Run(context.Background(), func(context.Context) error { calls++; return nil })
		require.NoError(t, err)
		assert.Equal(t, 1, calls, "a pipeline with no policies calls fn exactly once")
	}
}

func TestNilFunctionIsAConfigError(t *testing.T) {
	var ce *resilience.ConfigError
	err := (&resilience.Pipeline{}).Run(context.Background(), nil)
	require.ErrorAs(t, err, &ce)
	_, err = resilience.Do[int](context.Background(), nil, nil)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "fn", ce.Field)
}

func TestStagesRunInTheDocumentedOrder(t *testing.T) {
	tr := &trace{}
	p := &resilience.Pipeline{
		Limiter:  &gate{name: "limiter", t: tr},
		Retry:    loop{n: 3},
		Breaker:  &gate{name: "breaker", t: tr},
		Bulkhead: &gate{name: "bulkhead", t: tr},
	}
	errBusy := errors.New("busy")
	v, err := resilience.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		n := resilience.Attempt(ctx)
		tr.add("fn#%d", n)
		if n < 2 {
			return n, errBusy
		}
		return n, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, v, "Do returns the value of the attempt whose error it returns")
	assert.Equal(t, "limiter:in breaker:in bulkhead:in fn#1 bulkhead:fail breaker:fail "+
		"breaker:in bulkhead:in fn#2 bulkhead:ok breaker:ok limiter:ok", tr.String(),
		"one limiter permit per call, breaker and bulkhead per attempt, breaker outside bulkhead")
}

func TestAnOpenBreakerSpendsNoBulkheadSlot(t *testing.T) {
	tr := &trace{}
	open := &resilience.RejectedError{Name: "db", Reason: resilience.ErrOpen}
	p := &resilience.Pipeline{
		Breaker:  &gate{name: "breaker", t: tr, refuse: open},
		Bulkhead: &gate{name: "bulkhead", t: tr},
	}
	err := p.Run(context.Background(), func(context.Context) error {
		t.Fatal("fn must not run behind an open breaker")
		return nil
	})
	require.ErrorIs(t, err, resilience.ErrOpen)
	require.ErrorIs(t, err, resilience.ErrRejected)
	assert.Equal(t, "breaker:refused", tr.String())
}

func TestAPanicIsAFailureForEveryGateAndReachesTheCaller(t *testing.T) {
	tr := &trace{}
	p := &resilience.Pipeline{
		Limiter: &gate{name: "limiter", t: tr},
		Breaker: &gate{name: "breaker", t: tr},
	}
	require.PanicsWithValue(t, "boom", func() {
		_ = p.Run(context.Background(), func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, "limiter:in breaker:in breaker:panic limiter:panic", tr.String())

	tr.events = nil
	require.PanicsWithValue(t, "boom", func() {
		_, _ = resilience.Do(context.Background(), p.Breaker, func(context.Context) (int, error) { panic("boom") })
	})
	assert.Equal(t, "breaker:in breaker:panic", tr.String(), "a lone gate settles a panic too")
}

func TestTotalTimeoutNamesThePipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &resilience.Pipeline{Name: "payments", Timeout: time.Second, Retry: loop{n: 100}}
		start := time.Now()
		err := p.Run(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		var te *resilience.TimeoutError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, "payments", te.Op)
		assert.Equal(t, time.Second, te.Limit)
		assert.ErrorIs(t, err, resilience.ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "the total timeout bounds every attempt")
		assert.Contains(t, err.Error(), "payments timed out after 1s")
	})
}

func TestAttemptTimeoutBoundsEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &resilience.Pipeline{AttemptTimeout: 100 * time.Millisecond, Retry: loop{n: 3}}
		start := time.Now()
		calls := 0
		err := p.Run(context.Background(), func(ctx context.Context) error {
			calls++
			<-ctx.Done()
			return ctx.Err()
		})
		require.ErrorIs(t, err, resilience.ErrTimeout)
		assert.Equal(t, 3, calls, "a timed-out attempt is a failure, so it is retried")
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
	})
}

func TestCallerCancellationIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		p := &resilience.Pipeline{Timeout: time.Second}
		err := p.Run(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		var te *resilience.TimeoutError
		assert.False(t, errors.As(err, &te), "the caller's own deadline is reported as the caller's: %v", err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

// timer counts the contexts it makes.
type timer struct{ n int }

func (tm *timer) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	tm.n++
	return context.WithTimeout(ctx, d)
}

func TestTimerMakesBothTimeouts(t *testing.T) {
	tm := &timer{}
	p := &resilience.Pipeline{Timeout: time.Minute, AttemptTimeout: time.Second, Retry: loop{n: 2}, Timer: tm}
	err := p.Run(context.Background(), func(context.Context) error { return errors.New("x") })
	require.Error(t, err)
	assert.Equal(t, 3, tm.n, "one total timeout and one per attempt")
}

func TestNestedPipelinesPutTheBreakerOutsideRetry(t *testing.T) {
	tr := &trace{}
	inner := &resilience.Pipeline{Retry: loop{n: 3}}
	outer := &resilience.Pipeline{Breaker: &gate{name: "breaker", t: tr}}
	err := outer.Run(context.Background(), func(ctx context.Context) error {
		return inner.Run(ctx, func(context.Context) error { tr.add("fn"); return errors.New("down") })
	})
	require.Error(t, err)
	assert.Equal(t, "breaker:in fn fn fn breaker:fail", tr.String(), "the breaker judges the whole retried call once")
}
