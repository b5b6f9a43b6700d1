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
)

var errBoom = errors.New("boom")

func mustNew(t testing.TB, cfg Config) *Retrier {
	t.Helper()
	r, err := New(cfg)
	require.NoError(t, err)
	return r
}

// failN fails the first n attempts with errBoom and records the attempt
// numbers and times it saw.
type failN struct {
	n        int
	attempts []int
	at       []time.Time
}

func (f *failN) call(_ context.Context, attempt int) error {
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

func TestDoFirstSuccess(t *testing.T) {
	f := &failN{}
	require.NoError(t, mustNew(t, Config{}).Do(context.Background(), f.call))
	assert.Equal(t, []int{1}, f.attempts)
}

func TestDoSucceedsAfterFailuresWithExactDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failN{n: 3}
		start := time.Now()
		require.NoError(t, mustNew(t, Config{Jitter: NoJitter}).Do(context.Background(), f.call))
		assert.Equal(t, []int{1, 2, 3, 4}, f.attempts, "fn sees its attempt number")
		var gaps []time.Duration
		for _, at := range f.at {
			gaps = append(gaps, at.Sub(start))
			start = at
		}
		assert.Equal(t, []time.Duration{0, 100 * ms, 200 * ms, 400 * ms}, gaps)
	})
}

func TestDoExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failN{n: 100}
		err := mustNew(t, Config{MaxAttempts: 3, Jitter: NoJitter}).Do(context.Background(), f.call)
		re := asError(t, err)
		assert.Equal(t, 3, re.Attempts)
		assert.Len(t, re.Errors, 3, "every attempt's error is kept")
		assert.Equal(t, CauseExhausted, re.Cause)
		assert.Equal(t, 300*ms, re.Elapsed, "elapsed counts the waits (virtual time)")
		assert.ErrorIs(t, err, errBoom)
		assert.ErrorIs(t, err, ErrExhausted)
		assert.EqualError(t, re.Last(), "attempt 3: boom")
		assert.Contains(t, err.Error(), "3 attempts")
		assert.Contains(t, err.Error(), "exhausted")
	})
}

func TestDoPermanentStopsAtOnce(t *testing.T) {
	calls := 0
	err := mustNew(t, Config{}).Do(context.Background(), func(context.Context, int) error {
		calls++
		return Permanent(errBoom)
	})
	re := asError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, CausePermanent, re.Cause)
	assert.Same(t, errBoom, re.Errors[0], "the Permanent wrapper is removed")
	assert.NoError(t, Permanent(nil))
}

func TestDoPermanentDeepInChain(t *testing.T) {
	err := mustNew(t, Config{}).Do(context.Background(), func(context.Context, int) error {
		return fmt.Errorf("ctx: %w", errors.Join(errors.New("x"), Permanent(errBoom)))
	})
	assert.Equal(t, CausePermanent, asError(t, err).Cause)
	assert.ErrorIs(t, err, errBoom)
}

func TestDoRetryIf(t *testing.T) {
	errFatal := errors.New("fatal")
	calls := 0
	r := mustNew(t, Config{RetryIf: func(err error) bool { return !errors.Is(err, errFatal) }, Jitter: NoJitter, InitialDelay: 1})
	err := r.Do(context.Background(), func(_ context.Context, n int) error {
		calls++
		if n == 2 {
			return errFatal
		}
		return errBoom
	})
	re := asError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, CausePermanent, re.Cause)
}

func TestDoCancelInterruptsSleepAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := mustNew(t, Config{Jitter: NoJitter, InitialDelay: time.Hour, MaxDelay: time.Hour})
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- r.Do(ctx, func(context.Context, int) error { return errBoom }) }()
		time.Sleep(time.Minute) // virtual: the loop is now sleeping for an hour
		cancel()
		err := <-done
		assert.Equal(t, time.Minute, time.Since(start), "the sleep ends at the cancel, not at its end")
		re := asError(t, err)
		assert.Equal(t, CauseContext, re.Cause)
		assert.Equal(t, 1, re.Attempts)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestDoCancelCauseIsKept(t *testing.T) {
	errWhy := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errWhy)
	calls := 0
	err := mustNew(t, Config{}).Do(ctx, func(context.Context, int) error { calls++; return nil })
	assert.Zero(t, calls, "a done context runs no attempt")
	re := asError(t, err)
	assert.Equal(t, CauseContext, re.Cause)
	assert.Zero(t, re.Attempts)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errWhy)
	assert.Contains(t, err.Error(), "shutting down")
}

func TestDoStopsBeforeSleepingPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*ms)
		defer cancel()
		f := &failN{n: 100}
		start := time.Now()
		err := mustNew(t, Config{Jitter: NoJitter}).Do(ctx, f.call)
		re := asError(t, err)
		// waits 100ms, 200ms would end at 300ms > 250ms: stop after 2 attempts at 100ms.
		assert.Equal(t, 2, re.Attempts)
		assert.Equal(t, CauseDeadline, re.Cause)
		assert.Equal(t, 100*ms, time.Since(start), "it stops now instead of sleeping into the deadline")
		assert.ErrorIs(t, err, ErrDeadline)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "callers checking DeadlineExceeded still match")
		assert.NoError(t, ctx.Err(), "the context itself has not expired yet")
	})
}

func TestDoHonoursRetryAfterClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failN{}
		start := time.Now()
		var waits []time.Duration
		r := mustNew(t, Config{MaxDelay: 2 * time.Second, OnRetry: func(e Event) { waits = append(waits, e.Delay) }})
		err := r.Do(context.Background(), func(ctx context.Context, n int) error {
			switch n {
			case 1:
				return After(errBoom, 1500*ms)
			case 2:
				return After(errBoom, time.Hour) // hostile: clamped to MaxDelay
			case 3:
				return After(errBoom, -time.Hour) // nonsense: clamped to 0
			}
			return f.call(ctx, n)
		})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{1500 * ms, 2 * time.Second, 0}, waits)
		assert.Equal(t, 3500*ms, time.Since(start))
	})
}

func TestDoOpenWhenItCannotWait(t *testing.T) {
	open := After(errors.New("breaker: open"), 30*time.Second)
	cases := []struct {
		name    string
		cfg     Config
		timeout time.Duration
		reason  error
	}{
		{"deadline too close", Config{}, time.Second, ErrDeadline},
		{"no attempts left", Config{MaxAttempts: 1}, 0, ErrExhausted},
		{"classifier refuses", Config{RetryIf: func(error) bool { return false }}, 0, nil},
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
				err := mustNew(t, tc.cfg).Do(ctx, func(context.Context, int) error { return open })
				re := asError(t, err)
				assert.Equal(t, CauseOpen, re.Cause)
				assert.Equal(t, 1, re.Attempts)
				assert.Zero(t, time.Since(start), "an open dependency stops the loop at once")
				if tc.reason != nil {
					assert.ErrorIs(t, err, tc.reason)
				}
			})
		})
	}
}

func TestDoBudget(t *testing.T) {
	b, err := NewBudget(BudgetConfig{Tokens: 2, Refill: 1})
	require.NoError(t, err)
	r := mustNew(t, Config{Budget: b, MaxAttempts: 10, Policy: PolicyFunc(func(int, time.Duration) (time.Duration, bool) { return 0, true })})
	calls := 0
	err = r.Do(context.Background(), func(context.Context, int) error { calls++; return errBoom })
	re := asError(t, err)
	assert.Equal(t, CauseBudget, re.Cause)
	assert.Equal(t, 3, calls, "two tokens: the first attempt and two retries")
	assert.ErrorIs(t, err, ErrBudget)
	assert.Zero(t, b.Tokens())

	require.NoError(t, r.Do(context.Background(), func(context.Context, int) error { return nil }))
	assert.Equal(t, 1.0, b.Tokens(), "a success refills")
	for range 5 {
		require.NoError(t, r.Do(context.Background(), func(context.Context, int) error { return nil }))
	}
	assert.Equal(t, 2.0, b.Tokens(), "never above capacity")
}

func TestDoHooksSeeEveryRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []Event
		r := mustNew(t, Config{Jitter: NoJitter, MaxAttempts: 3, OnRetry: func(e Event) { events = append(events, e) }})
		f := &failN{n: 5}
		_ = r.Do(context.Background(), f.call)
		require.Len(t, events, 2, "two retries after three attempts")
		assert.Equal(t, 1, events[0].Attempt)
		assert.Equal(t, 100*ms, events[0].Delay)
		assert.EqualError(t, events[1].Err, "attempt 2: boom")
		assert.Equal(t, 200*ms, events[1].Delay)
	})
}

func TestDoValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{})
		v, err := DoValue(context.Background(), r, func(_ context.Context, n int) (string, error) {
			if n < 3 {
				return "partial", errBoom
			}
			return fmt.Sprint("ok on ", n), nil
		})
		require.NoError(t, err)
		assert.Equal(t, "ok on 3", v)

		v, err = DoValue(context.Background(), r, func(context.Context, int) (string, error) { return "x", errBoom })
		assert.Empty(t, v, "a failed call returns the zero value")
		assert.Equal(t, 5, asError(t, err).Attempts)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = DoValue(ctx, r, func(context.Context, int) (int, error) { return 1, nil })
		assert.Equal(t, CauseContext, asError(t, err).Cause)
	})
}

func TestDoManyAttemptsKeepsFirstAndLastErrors(t *testing.T) {
	r := mustNew(t, Config{MaxAttempts: 20, Policy: PolicyFunc(func(int, time.Duration) (time.Duration, bool) { return 0, true })})
	err := r.Do(context.Background(), func(_ context.Context, n int) error { return fmt.Errorf("e%d", n) })
	re := asError(t, err)
	assert.Equal(t, 20, re.Attempts)
	var got []string
	for _, e := range re.Errors {
		got = append(got, e.Error())
	}
	assert.Equal(t, []string{"e1", "e13", "e14", "e15", "e16", "e17", "e18", "e19", "e20"}, got)
	require.Len(t, re.Unwrap(), 2, "the last attempt's error and the stop reason")
	assert.EqualError(t, re.Unwrap()[0], "e20")
	assert.Same(t, ErrExhausted, re.Unwrap()[1])
}

func TestPolicyCanStop(t *testing.T) {
	r := mustNew(t, Config{MaxAttempts: 100, Policy: PolicyFunc(func(n int, _ time.Duration) (time.Duration, bool) { return 0, n < 2 })})
	err := r.Do(context.Background(), func(context.Context, int) error { return errBoom })
	re := asError(t, err)
	assert.Equal(t, 2, re.Attempts)
	assert.Equal(t, CauseExhausted, re.Cause)
}

func TestDoSharedAcrossGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{})
		errs := make(chan error, 50)
		for range 50 {
			go func() {
				f := &failN{n: 2}
				errs <- r.Do(context.Background(), f.call)
			}()
		}
		for range 50 {
			require.NoError(t, <-errs)
		}
	})
}

func TestDoFirstSuccessAllocatesNothing(t *testing.T) {
	r := mustNew(t, Config{})
	ctx := context.Background()
	fn := func(context.Context, int) error { return nil }
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = r.Do(ctx, fn) }), "the hot path must not allocate")
	b, err := NewBudget(BudgetConfig{})
	require.NoError(t, err)
	rb := mustNew(t, Config{Budget: b})
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = rb.Do(ctx, fn) }), "nor with a budget")
}

func TestDecideTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hinted := After(errBoom, 2*time.Second)
	r := mustNew(t, Config{Jitter: NoJitter, MaxAttempts: 3, MaxDelay: 10 * time.Second})
	cases := []struct {
		name     string
		ctxErr   error
		n        int
		err      error
		deadline time.Time
		cause    Cause
		delay    time.Duration
	}{
		{"retry with backoff", nil, 1, errBoom, time.Time{}, 0, 100 * ms},
		{"retry with hint", nil, 1, hinted, time.Time{}, 0, 2 * time.Second},
		{"context first", context.Canceled, 1, Permanent(errBoom), time.Time{}, CauseContext, 0},
		{"permanent", nil, 1, Permanent(errBoom), time.Time{}, CausePermanent, 0},
		{"exhausted", nil, 3, errBoom, time.Time{}, CauseExhausted, 0},
		{"exhausted on a hint is open", nil, 3, hinted, time.Time{}, CauseOpen, 0},
		{"wait ends at the deadline", nil, 1, errBoom, now.Add(100 * ms), CauseDeadline, 0},
		{"wait ends before the deadline", nil, 1, errBoom, now.Add(101 * ms), 0, 100 * ms},
		{"hint past the deadline is open", nil, 1, hinted, now.Add(time.Second), CauseOpen, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := r.decide(tc.ctxErr, tc.n, tc.err, 0, now, tc.deadline)
			assert.Equal(t, tc.cause, v.cause)
			assert.Equal(t, tc.delay, v.delay)
			assert.ErrorIs(t, v.err, errBoom)
		})
	}
}

func TestErrorMessages(t *testing.T) {
	var log errLog
	log = log.add(errBoom)
	e := newError(log, CauseBudget, ErrBudget, 1500*ms)
	assert.Equal(t, "retry: stopped after 1 attempts in 1.5s (budget): boom", e.Error())
	e = newError(errLog{}, CauseContext, context.Canceled, 0)
	assert.Equal(t, "retry: stopped after 0 attempts in 0s (context): context canceled", e.Error())
	assert.NoError(t, e.Last())
}

func TestNilFuncIsAnError(t *testing.T) {
	r := mustNew(t, Config{})
	assert.ErrorIs(t, r.Do(context.Background(), nil), ErrNilFunc)
	_, err := DoValue[int](context.Background(), r, nil)
	assert.ErrorIs(t, err, ErrNilFunc)
}

// openError stands in for the breaker's open error: retry must recognise it
// through the Hint interface alone, without importing the breaker.
type openError struct{ wait time.Duration }

func (e *openError) Error() string             { return "breaker: open" }
func (e *openError) RetryAfter() time.Duration { return e.wait }

func TestDoRecognisesForeignHintDeepInChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		err := mustNew(t, Config{MaxAttempts: 2}).Do(context.Background(), func(context.Context, int) error {
			return fmt.Errorf("payments: %w", &openError{wait: 3 * time.Second})
		})
		re := asError(t, err)
		assert.Equal(t, CauseOpen, re.Cause, "the last answer was 'open'")
		assert.Equal(t, 3*time.Second, time.Since(start), "the one retry waited what the dependency asked")
		var oe *openError
		assert.ErrorAs(t, err, &oe, "the caller can still reach the dependency's error")
	})
}
