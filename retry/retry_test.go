package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

var errBoom = errors.New("boom")

func mustNew(t testing.TB, cfg Config) *Policy {
	t.Helper()
	r, err := New(cfg)
	require.NoError(t, err)
	return r
}

// zeroDelay retries at once.
func zeroDelay(int, error, time.Duration) time.Duration { return 0 }

// failN fails the first n attempts with errBoom and records the attempt
// numbers and times it saw.
type failN struct {
	n        int
	attempts []int
	at       []time.Time
}

func (f *failN) call(ctx context.Context) error {
	attempt := resilience.Attempt(ctx)
	f.attempts = append(f.attempts, attempt)
	f.at = append(f.at, time.Now())
	if attempt <= f.n {
		return fmt.Errorf("attempt %d: %w", attempt, errBoom)
	}
	return nil
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var re *Error
	require.True(t, errors.As(err, &re), "want a *retry.Error, got %T %v", err, err)
	return re
}

func TestRunFirstSuccess(t *testing.T) {
	f := &failN{}
	require.NoError(t, mustNew(t, Config{}).Run(context.Background(), f.call))
	assert.Equal(t, []int{1}, f.attempts)
}

func TestRunSucceedsAfterFailuresWithExactDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failN{n: 3}
		start := time.Now()
		require.NoError(t, mustNew(t, Config{Jitter: NoJitter}).Run(context.Background(), f.call))
		assert.Equal(t, []int{1, 2, 3, 4}, f.attempts, "fn sees its attempt number")
		var gaps []time.Duration
		for _, at := range f.at {
			gaps = append(gaps, at.Sub(start))
			start = at
		}
		assert.Equal(t, []time.Duration{0, 100 * ms, 200 * ms, 400 * ms}, gaps)
	})
}

func TestAttemptNumberInAPipeline(t *testing.T) {
	f := &failN{n: 2}
	p := &resilience.Pipeline{Retry: mustNew(t, Config{Delay: zeroDelay})}
	require.NoError(t, p.Run(context.Background(), f.call))
	assert.Equal(t, []int{1, 2, 3}, f.attempts)
}

func TestRunExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failN{n: 100}
		err := mustNew(t, Config{MaxAttempts: 3, Jitter: NoJitter}).Run(context.Background(), f.call)
		re := asError(t, err)
		assert.Equal(t, 3, re.Attempts)
		assert.Len(t, re.Errors, 3, "every attempt's error is kept")
		assert.Same(t, resilience.ErrExhausted, re.Reason)
		assert.Equal(t, 300*ms, re.Elapsed, "elapsed counts the waits (virtual time)")
		assert.ErrorIs(t, err, errBoom)
		assert.ErrorIs(t, err, resilience.ErrExhausted)
		assert.EqualError(t, re.Last, "attempt 3: boom")
		assert.Contains(t, err.Error(), "3 attempts")
		assert.Contains(t, err.Error(), "exhausted")
	})
}

func TestRunTerminalStopsAtOnce(t *testing.T) {
	calls := 0
	err := mustNew(t, Config{}).Run(context.Background(), func(context.Context) error {
		calls++
		return resilience.Permanent(errBoom)
	})
	re := asError(t, err)
	assert.Equal(t, 1, calls)
	assert.NoError(t, re.Reason, "the error itself said stop")
	assert.ErrorIs(t, err, errBoom)
	assert.Equal(t, "boom", re.Last.Error())
}

func TestRunPermanentDeepInChain(t *testing.T) {
	calls := 0
	err := mustNew(t, Config{}).Run(context.Background(), func(context.Context) error {
		calls++
		return fmt.Errorf("ctx: %w", resilience.Permanent(errBoom))
	})
	assert.Equal(t, 1, calls)
	assert.NoError(t, asError(t, err).Reason)
	assert.ErrorIs(t, err, errBoom)
}

func TestRunClassify(t *testing.T) {
	errFatal := errors.New("fatal")
	calls := 0
	r := mustNew(t, Config{Classify: func(err error) resilience.Outcome {
		if errors.Is(err, errFatal) {
			return resilience.Terminal
		}
		return resilience.Failure
	}, Delay: zeroDelay})
	err := r.Run(context.Background(), func(ctx context.Context) error {
		calls++
		if resilience.Attempt(ctx) == 2 {
			return errFatal
		}
		return errBoom
	})
	re := asError(t, err)
	assert.Equal(t, 2, calls)
	assert.NoError(t, re.Reason)
	assert.Same(t, errFatal, re.Last)
}

func TestRunStopsOnIgnoredAndSuccessOutcomes(t *testing.T) {
	for _, o := range []resilience.Outcome{resilience.Ignored, resilience.Success, resilience.Terminal} {
		calls := 0
		r := mustNew(t, Config{Classify: func(error) resilience.Outcome { return o }, Delay: zeroDelay})
		err := r.Run(context.Background(), func(context.Context) error { calls++; return errBoom })
		assert.Equal(t, 1, calls, o.String())
		assert.ErrorIs(t, err, errBoom, o.String())
	}
}

func TestRunCancelInterruptsSleepAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := mustNew(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour})
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- r.Run(ctx, func(context.Context) error { return errBoom }) }()
		time.Sleep(time.Minute) // virtual: the loop is now sleeping for an hour
		cancel()
		err := <-done
		assert.Equal(t, time.Minute, time.Since(start), "the sleep ends at the cancel, not at its end")
		re := asError(t, err)
		assert.ErrorIs(t, re.Reason, context.Canceled)
		assert.Equal(t, 1, re.Attempts)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestRunCancelCauseIsKept(t *testing.T) {
	errWhy := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errWhy)
	calls := 0
	err := mustNew(t, Config{}).Run(ctx, func(context.Context) error { calls++; return nil })
	assert.Zero(t, calls, "a done context runs no attempt")
	re := asError(t, err)
	assert.Zero(t, re.Attempts)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errWhy)
	assert.Contains(t, err.Error(), "shutting down")
}

func TestRunStopsBeforeSleepingPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*ms)
		defer cancel()
		f := &failN{n: 100}
		start := time.Now()
		err := mustNew(t, Config{Jitter: NoJitter}).Run(ctx, f.call)
		re := asError(t, err)
		// waits 100ms, 200ms would end at 300ms > 250ms: stop after 2 attempts at 100ms.
		assert.Equal(t, 2, re.Attempts)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 100*ms, time.Since(start), "it stops now instead of sleeping into the deadline")
		assert.ErrorIs(t, err, context.DeadlineExceeded, "callers checking DeadlineExceeded still match")
		assert.NoError(t, ctx.Err(), "the context itself has not expired yet")
	})
}

func TestRunHonoursRetryAfterClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		events := make(chan Event, 8)
		r := mustNew(t, Config{MaxDelay: 2 * time.Second, Events: events})
		err := r.Run(context.Background(), func(ctx context.Context) error {
			switch resilience.Attempt(ctx) {
			case 1:
				return resilience.RetryAfter(errBoom, 1500*ms)
			case 2:
				return resilience.RetryAfter(errBoom, time.Hour) // hostile: clamped to MaxDelay
			}
			return nil
		})
		require.NoError(t, err)
		close(events)
		var waits []time.Duration
		for e := range events {
			waits = append(waits, e.Delay)
		}
		assert.Equal(t, []time.Duration{1500 * ms, 2 * time.Second}, waits)
		assert.Equal(t, 3500*ms, time.Since(start))
	})
}

func TestRunWaitsOutABreakersRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		r := mustNew(t, Config{Jitter: NoJitter, MaxDelay: 10 * time.Second})
		err := r.Run(context.Background(), func(context.Context) error {
			if calls++; calls == 1 {
				return &resilience.RejectedError{Reason: resilience.ErrOpen, Until: time.Now().Add(3 * time.Second)}
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3*time.Second, time.Since(start), "the wait is the refusal's RetryAfter")
	})
}

func TestRunThrottledWithoutHintUsesBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		r := mustNew(t, Config{Jitter: NoJitter})
		err := r.Run(context.Background(), func(context.Context) error {
			if calls++; calls == 1 {
				return &resilience.RejectedError{Reason: resilience.ErrFull} // no Until: wait unknown
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 100*ms, time.Since(start), "an unknown wait is not a zero wait")
	})
}

func TestRunStopsAtOnceWhenItCannotWait(t *testing.T) {
	open := &resilience.RejectedError{Reason: resilience.ErrOpen}
	hinted := resilience.RetryAfter(open, 30*time.Second)
	cases := []struct {
		name    string
		cfg     Config
		timeout time.Duration
		reason  error
	}{
		{"deadline too close", Config{}, time.Second, context.DeadlineExceeded},
		{"no attempts left", Config{MaxAttempts: 1}, 0, resilience.ErrExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tc.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				start := time.Now()
				err := mustNew(t, tc.cfg).Run(ctx, func(context.Context) error { return hinted })
				re := asError(t, err)
				assert.Equal(t, 1, re.Attempts)
				assert.Zero(t, time.Since(start), "an open dependency stops the loop at once")
				assert.ErrorIs(t, err, tc.reason)
				assert.ErrorIs(t, err, resilience.ErrOpen, "the caller sees the dependency was open")
			})
		})
	}
}

func TestRunBudget(t *testing.T) {
	b, err := NewBudget(2, 1)
	require.NoError(t, err)
	r := mustNew(t, Config{Budget: b, MaxAttempts: 10, Delay: zeroDelay})
	calls := 0
	err = r.Run(context.Background(), func(context.Context) error { calls++; return errBoom })
	re := asError(t, err)
	assert.Same(t, errBudget, re.Reason)
	assert.Equal(t, 3, calls, "two tokens: the first attempt and two retries")
	assert.ErrorIs(t, err, resilience.ErrExhausted, "the budget ran out")
	assert.ErrorIs(t, err, resilience.ErrRejected, "the budget refused the retry")
	assert.ErrorIs(t, err, errBoom)
	assert.Zero(t, b.Tokens())

	require.NoError(t, r.Run(context.Background(), func(context.Context) error { return nil }))
	assert.Equal(t, 1.0, b.Tokens(), "a success refills")
	for range 5 {
		require.NoError(t, r.Run(context.Background(), func(context.Context) error { return nil }))
	}
	assert.Equal(t, 2.0, b.Tokens(), "never above capacity")
}

func TestRunEventsSeeEveryRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan Event, 8)
		r := mustNew(t, Config{Jitter: NoJitter, MaxAttempts: 3, Events: events})
		f := &failN{n: 5}
		_ = r.Run(context.Background(), f.call)
		require.Len(t, events, 2, "two retries after three attempts")
		e := <-events
		assert.Equal(t, 1, e.Attempt)
		assert.Equal(t, 100*ms, e.Delay)
		e = <-events
		assert.EqualError(t, e.Err, "attempt 2: boom")
		assert.Equal(t, 200*ms, e.Delay)
		assert.Zero(t, r.EventsDropped())
	})
}

func TestRunEventsNeverBlockAndDropsAreCounted(t *testing.T) {
	events := make(chan Event, 1) // nobody reads it
	r := mustNew(t, Config{MaxAttempts: 5, Delay: zeroDelay, Events: events})
	err := r.Run(context.Background(), func(context.Context) error { return errBoom })
	assert.Equal(t, 5, asError(t, err).Attempts)
	assert.Len(t, events, 1)
	assert.Equal(t, uint64(3), r.EventsDropped(), "four retries, one buffered, three dropped")
}

func TestDoReturnsTheValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{})
		v, err := resilience.Do(context.Background(), r, func(ctx context.Context) (string, error) {
			if n := resilience.Attempt(ctx); n < 3 {
				return "partial", errBoom
			}
			return fmt.Sprint("ok on ", resilience.Attempt(ctx)), nil
		})
		require.NoError(t, err)
		assert.Equal(t, "ok on 3", v)

		v, err = resilience.Do(context.Background(), r, func(context.Context) (string, error) { return "x", errBoom })
		assert.Equal(t, "x", v, "the failed attempt's value comes back with its error")
		assert.Equal(t, 5, asError(t, err).Attempts)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = resilience.Do(ctx, r, func(context.Context) (int, error) { return 1, nil })
		assert.ErrorIs(t, asError(t, err).Reason, context.Canceled)
	})
}

func TestRunManyAttemptsKeepsFirstAndLastErrors(t *testing.T) {
	r := mustNew(t, Config{MaxAttempts: 20, Delay: zeroDelay})
	err := r.Run(context.Background(), func(ctx context.Context) error { return fmt.Errorf("e%d", resilience.Attempt(ctx)) })
	re := asError(t, err)
	assert.Equal(t, 20, re.Attempts)
	var got []string
	for _, e := range re.Errors {
		got = append(got, e.Error())
	}
	assert.Equal(t, []string{"e1", "e13", "e14", "e15", "e16", "e17", "e18", "e19", "e20"}, got)
	require.Len(t, re.Unwrap(), 2, "the last attempt's error and the stop reason")
	assert.EqualError(t, re.Unwrap()[0], "e20")
	assert.Same(t, resilience.ErrExhausted, re.Unwrap()[1])
}

func TestRunSharedAcrossGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{})
		errs := make(chan error, 50)
		for range 50 {
			go func() {
				f := &failN{n: 2}
				errs <- r.Run(context.Background(), f.call)
			}()
		}
		for range 50 {
			require.NoError(t, <-errs)
		}
	})
}

func TestRunFirstSuccessAllocatesNothing(t *testing.T) {
	r := mustNew(t, Config{})
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = r.Run(ctx, fn) }), "the hot path must not allocate")
	b, err := NewBudget(10, 0.1)
	require.NoError(t, err)
	rb := mustNew(t, Config{Budget: b})
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = rb.Run(ctx, fn) }), "nor with a budget")
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = resilience.Do(ctx, r, func(context.Context) (int, error) { return 1, nil })
	})
	assert.LessOrEqual(t, allocs, 2.0, "resilience.Do adds only its closure and result")
}

func TestDecideTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hinted := resilience.RetryAfter(errBoom, 2*time.Second)
	r := mustNew(t, Config{Jitter: NoJitter, MaxAttempts: 3, MaxDelay: 10 * time.Second})
	cases := []struct {
		name     string
		ctxErr   error
		n        int
		err      error
		deadline time.Time
		stop     bool
		reason   error
		delay    time.Duration
	}{
		{"retry with backoff", nil, 1, errBoom, time.Time{}, false, nil, 100 * ms},
		{"retry with hint", nil, 1, hinted, time.Time{}, false, nil, 2 * time.Second},
		{"context first", context.Canceled, 1, resilience.Permanent(errBoom), time.Time{}, true, context.Canceled, 0},
		{"terminal", nil, 1, resilience.Permanent(errBoom), time.Time{}, true, nil, 0},
		{"ignored", nil, 1, context.Canceled, time.Time{}, true, nil, 0},
		{"exhausted", nil, 3, errBoom, time.Time{}, true, resilience.ErrExhausted, 0},
		{"exhausted on a hint", nil, 3, hinted, time.Time{}, true, resilience.ErrExhausted, 0},
		{"wait ends at the deadline", nil, 1, errBoom, now.Add(100 * ms), true, context.DeadlineExceeded, 0},
		{"wait ends before the deadline", nil, 1, errBoom, now.Add(101 * ms), false, nil, 100 * ms},
		{"hint past the deadline", nil, 1, hinted, now.Add(time.Second), true, context.DeadlineExceeded, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := r.decide(tc.ctxErr, tc.n, tc.err, 0, now, tc.deadline, time.Time{})
			assert.Equal(t, tc.stop, v.stop)
			assert.Equal(t, tc.reason, v.reason)
			assert.Equal(t, tc.delay, v.delay)
		})
	}
}

func TestErrorMessages(t *testing.T) {
	var log errLog
	log = log.add(errBoom)
	e := newError(log, errBudget, 1500*ms)
	assert.Equal(t, "retry: stopped after 1 attempts in 1.5s (resilience: retry budget: rejected: resilience: retries exhausted): boom", e.Error())
	e = newError(errLog{}, context.Canceled, 0)
	assert.Equal(t, "retry: stopped after 0 attempts in 0s (context canceled)", e.Error())
	assert.NoError(t, e.Last)
}

func TestBadInputIsAConfigError(t *testing.T) {
	r := mustNew(t, Config{})
	var ce *resilience.ConfigError
	require.ErrorAs(t, r.Run(context.Background(), nil), &ce)
	assert.Equal(t, "fn", ce.Field)
	_, err := resilience.Do[int](context.Background(), r, nil)
	require.ErrorAs(t, err, &ce)
	var nilPolicy *Policy
	require.ErrorAs(t, nilPolicy.Run(context.Background(), func(context.Context) error { return nil }), &ce)
	assert.Equal(t, "retry.Policy", ce.Field)
}

// openError stands in for a foreign dependency's "not now" error: retry
// must recognise its RetryAfter method alone, whatever the error's type.
type openError struct{ wait time.Duration }

func (e *openError) Error() string             { return "breaker: open" }
func (e *openError) RetryAfter() time.Duration { return e.wait }

func TestRunRecognisesForeignHintDeepInChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := mustNew(t, Config{MaxAttempts: 2}).Run(context.Background(), func(context.Context) error {
			return fmt.Errorf("payments: %w", errors.Join(errors.New("x"), &openError{wait: 3 * time.Second}))
		})
		re := asError(t, err)
		assert.Same(t, resilience.ErrExhausted, re.Reason)
		assert.Equal(t, 3*time.Second, time.Since(start), "the one retry waited what the dependency asked")
		var oe *openError
		assert.ErrorAs(t, err, &oe, "the caller can still reach the dependency's error")
	})
}
