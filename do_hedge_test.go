package resilience_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/bulkhead"
	"github.com/llm-research-lab/resilience/hedge"
)

// conn is a result that holds a resource: Do must release it when it is
// discarded, and never when it is returned.
type conn struct {
	id       int
	released *atomic.Int32
}

func (c conn) Release() { c.released.Add(1) }

// conns hands out conns and counts each one's releases.
type conns struct {
	mu   sync.Mutex
	rel  map[int]*atomic.Int32
	made int
}

func (cs *conns) open(id int) conn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.rel == nil {
		cs.rel = map[int]*atomic.Int32{}
	}
	cs.rel[id] = new(atomic.Int32)
	cs.made++
	return conn{id: id, released: cs.rel[id]}
}

// releases returns each conn's release count.
func (cs *conns) releases() map[int]int32 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[int]int32{}
	for id, n := range cs.rel {
		out[id] = n.Load()
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newHedge(t *testing.T, cfg hedge.Config) *hedge.Policy {
	t.Helper()
	h, err := hedge.New(cfg)
	require.NoError(t, err)
	return h
}

func TestDoReturnsTheWinnersValueAndReleasesTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHedge(t, hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 4})
		var cs conns
		got, err := resilience.Do(t.Context(), h, func(ctx context.Context) (conn, error) {
			n := resilience.Attempt(ctx)
			switch n {
			case 1: // answers after the winner: cancelled, but its answer was on the way
				_ = sleepCtx(context.WithoutCancel(ctx), 100*time.Millisecond)
				return cs.open(n), nil
			case 2: // fails fast, with a value (a 503 with a body)
				return cs.open(n), errors.New("503")
			case 3: // the winner
				_ = sleepCtx(ctx, 5*time.Millisecond)
				return cs.open(n), nil
			}
			return conn{}, sleepCtx(ctx, time.Hour) // cancelled, no value
		})
		require.NoError(t, err)
		assert.Equal(t, 3, got.id, "the first success wins; the primary's later success is dropped")
		assert.Equal(t, map[int]int32{1: 1, 2: 1, 3: 0}, cs.releases(),
			"every discarded value is released once, the returned one never")
	})
}

func TestDoReturnsTheValueOfTheAttemptWhoseErrorEndsTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHedge(t, hedge.Config{Delay: 10 * time.Millisecond})
		var cs conns
		bad := resilience.Permanent(errors.New("400"))
		got, err := resilience.Do(t.Context(), h, func(ctx context.Context) (conn, error) {
			n := resilience.Attempt(ctx)
			if n == 2 {
				return cs.open(n), bad
			}
			_ = sleepCtx(ctx, time.Hour)
			return cs.open(n), ctx.Err() // returns after the Terminal one, with a value
		})
		assert.Same(t, bad, err)
		assert.Equal(t, 2, got.id, "the Terminal attempt's value, not the later loser's")
		assert.Equal(t, map[int]int32{1: 1, 2: 0}, cs.releases())
	})
}

// abandoning returns when ctx is done without waiting for fn, which goes on
// in a goroutine the test waits for.
type abandoning struct{ wg *sync.WaitGroup }

func (a abandoning) Run(ctx context.Context, fn func(context.Context) error) error {
	errc := make(chan error, 1)
	a.wg.Go(func() { errc <- fn(context.WithoutCancel(ctx)) })
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestDoReleasesAValueThatArrivesAfterItReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		var cs conns
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		got, err := resilience.Do(ctx, abandoning{&wg}, func(ctx context.Context) (conn, error) {
			time.Sleep(time.Second)
			return cs.open(1), nil
		})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, got.id, "the abandoned attempt's value is not returned")
		wg.Wait()
		assert.Equal(t, map[int]int32{1: 1}, cs.releases(), "and it is released when it arrives")
	})
}

// serial runs fn n times one after another and returns the last error,
// or nil at the first success.
type serial struct{ n int }

func (s serial) Run(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for k := 1; k <= s.n; k++ {
		if err = fn(resilience.WithAttempt(ctx, k)); err == nil {
			return nil
		}
	}
	return err
}

func TestDoKeepsBoundedValuesThroughALongLoop(t *testing.T) {
	var cs conns
	got, err := resilience.Do(context.Background(), serial{1000}, func(ctx context.Context) (conn, error) {
		return cs.open(resilience.Attempt(ctx)), errors.New("down")
	})
	require.Error(t, err)
	assert.Equal(t, 1000, got.id, "a serial policy's last attempt")
	rel := cs.releases()
	for id := 1; id < 1000; id++ {
		require.Equal(t, int32(1), rel[id], "attempt %d's value is released", id)
	}
	assert.Zero(t, rel[1000])
}

// uncomparable is an error whose dynamic type cannot be compared with ==.
type uncomparable []string

func (u uncomparable) Error() string { return "uncomparable" }

func TestDoMatchesUncomparableErrorsWithoutPanicking(t *testing.T) {
	got, err := resilience.Do(context.Background(), serial{3}, func(ctx context.Context) (int, error) {
		return resilience.Attempt(ctx), uncomparable{"x"}
	})
	assert.Equal(t, uncomparable{"x"}, err)
	assert.Equal(t, 3, got, "no error matches: the last attempt's value")
}

func TestDoReleasesNothingForZeroValues(t *testing.T) {
	calls := 0
	got, err := resilience.Do(context.Background(), serial{3}, func(ctx context.Context) (*ptrConn, error) {
		calls++
		if resilience.Attempt(ctx) < 3 {
			return nil, errors.New("down") // a nil *ptrConn: Release would panic
		}
		return &ptrConn{}, nil
	})
	require.NoError(t, err)
	assert.NotNil(t, got)
	assert.Equal(t, 3, calls)
}

type ptrConn struct{ closed bool }

func (p *ptrConn) Release() { p.closed = true }

func TestHedgeInThePipelineRunsEachAttemptThroughTheInnerStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, err := breaker.New(breaker.Config{Name: "db", FailureThreshold: 5, OpenTimeout: time.Minute})
		require.NoError(t, err)
		bh, err := bulkhead.New(bulkhead.Config{Name: "db", MaxConcurrent: 2})
		require.NoError(t, err)
		defer func() { _ = br.Stop(context.Background()); _ = bh.Stop(context.Background()) }()
		h := newHedge(t, hedge.Config{Delay: 20 * time.Millisecond, MaxAttempts: 3})
		p := &resilience.Pipeline{Name: "db", Retry: h, Breaker: br, Bulkhead: bh, AttemptTimeout: 30 * time.Millisecond}

		var mu sync.Mutex
		starts := map[int]time.Duration{}
		begin := time.Now()
		got, err := resilience.Do(t.Context(), p, func(ctx context.Context) (int, error) {
			n := resilience.Attempt(ctx)
			mu.Lock()
			starts[n] = time.Since(begin)
			mu.Unlock()
			if n == 3 {
				return n, nil
			}
			return n, sleepCtx(ctx, time.Hour)
		})
		require.NoError(t, err)
		assert.Equal(t, 3, got)
		// 1 at 0; 2 at 20ms (the delay); 1's attempt timeout at 30ms is a
		// failure, which starts 3 at once.
		assert.Equal(t, map[int]time.Duration{1: 0, 2: 20 * time.Millisecond, 3: 30 * time.Millisecond}, starts)
		m := br.Metrics()
		assert.Equal(t, uint64(1), m.Successes)
		assert.Equal(t, uint64(1), m.Failures, "the breaker counts attempt 1's timeout")
		assert.Equal(t, uint64(1), m.Ignored, "and does not count the cancelled loser as a failure")
		assert.Equal(t, 0, bh.Metrics().InFlight, "every attempt gave its slot back")
	})
}

func TestAFullBulkheadRefusesTheHedgeAndThePrimaryAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bh, err := bulkhead.New(bulkhead.Config{Name: "db", MaxConcurrent: 1})
		require.NoError(t, err)
		defer func() { _ = bh.Stop(context.Background()) }()
		h := newHedge(t, hedge.Config{Delay: 10 * time.Millisecond})
		p := &resilience.Pipeline{Retry: h, Bulkhead: bh}
		calls := 0
		got, err := resilience.Do(t.Context(), p, func(ctx context.Context) (string, error) {
			calls++
			return "primary", sleepCtx(ctx, 50*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, "primary", got)
		assert.Equal(t, 1, calls, "the hedge found no slot: a hedge never exceeds the bulkhead")
		assert.Equal(t, uint64(1), bh.Metrics().Rejected)
	})
}

func TestConcurrentCallersThroughAHedgedPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHedge(t, hedge.Config{Delay: 5 * time.Millisecond, MaxAttempts: 3, Quantile: 0.9})
		p := &resilience.Pipeline{Retry: h, AttemptTimeout: 40 * time.Millisecond}
		var wg sync.WaitGroup
		var wrong atomic.Int32
		for c := range 32 {
			wg.Go(func() {
				for i := range 20 {
					want := c*100 + i
					got, err := resilience.Do(t.Context(), p, func(ctx context.Context) (int, error) {
						// attempts take 1..60ms; some time out
						d := time.Duration((want*7+resilience.Attempt(ctx)*13)%60+1) * time.Millisecond
						return want, sleepCtx(ctx, d)
					})
					if err == nil && got != want {
						wrong.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.Zero(t, wrong.Load(), "every caller gets its own call's value")
	})
}

var errSame = errors.New("unavailable")

func TestDoReturnsTheLastValueWhenEveryAttemptReturnedTheSameError(t *testing.T) {
	got, err := resilience.Do(context.Background(), serial{3}, func(ctx context.Context) (int, error) {
		return resilience.Attempt(ctx), errSame
	})
	assert.Same(t, errSame, err)
	assert.Equal(t, 3, got, "the last attempt's value, as a retry loop ends with its last")
}

func TestAHedgedCallTakesOneLimiterPermit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &trace{}
		h := newHedge(t, hedge.Config{Delay: 10 * time.Millisecond, MaxAttempts: 3})
		p := &resilience.Pipeline{Limiter: &gate{name: "limit", t: tr}, Retry: h, Timeout: time.Second}
		calls := atomic.Int32{}
		_, err := resilience.Do(t.Context(), p, func(ctx context.Context) (int, error) {
			calls.Add(1)
			return 0, sleepCtx(ctx, time.Hour)
		})
		assert.ErrorIs(t, err, resilience.ErrTimeout, "the total timeout bounds every attempt")
		assert.Equal(t, int32(3), calls.Load())
		assert.Equal(t, "limit:in limit:fail", tr.String(), "one permit for the call, whatever its attempts")
	})
}

func TestAGoexitInAHedgedAttemptIsAFailureForEveryGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &trace{}
		h := newHedge(t, hedge.Config{Delay: time.Hour})
		p := &resilience.Pipeline{Limiter: &gate{name: "limit", t: tr}, Retry: h, Breaker: &gate{name: "breaker", t: tr}}
		_, err := resilience.Do(t.Context(), p, func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		var pe *resilience.PanicError
		require.ErrorAs(t, err, &pe, "the attempt's goroutine exited: the caller gets a PanicError")
		assert.Equal(t, "limit:in breaker:in breaker:panic limit:panic", tr.String(),
			"and no gate counts the attempt as a success")
	})
}
