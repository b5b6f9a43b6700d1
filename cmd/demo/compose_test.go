package main

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
	"github.com/llm-research-lab/resilience/breaker"
	"github.com/llm-research-lab/resilience/retry"
)

// These tests pin what docs/composition.md says about the two orders.
// They run on virtual time: while a retry sleeps, the breaker's actor
// handles its messages before the clock moves, so the trips are exact.

type composeFunc func(context.Context, *retry.Policy, *breaker.Breaker, *resilience.Pipeline, func(context.Context, int) (string, error)) (string, error)

var orders = []struct {
	name string
	run  composeFunc
}{
	{"breaker(retry(deadline))", breakerOutside[string]},
	{"retry(breaker(deadline))", retryOutside[string]},
}

var attempt = &resilience.Pipeline{Name: "payments", Timeout: 50 * time.Millisecond}

func newBreaker(t *testing.T, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := breaker.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Stop(context.Background())) })
	return b
}

func newRetrier(t *testing.T, cfg retry.Config) *retry.Policy {
	t.Helper()
	r, err := retry.New(cfg)
	require.NoError(t, err)
	return r
}

// script is an upstream whose i-th call (from 0) fails if fail(i).
type script struct {
	calls int
	fail  func(i int) bool
}

func (s *script) call(ctx context.Context, _ int) (string, error) {
	i := s.calls
	s.calls++
	if s.fail(i) {
		return "", errors.New("upstream failed")
	}
	return "ok", nil
}

func TestRetryOutsideWaitsForTheBreakersRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: 100 * time.Millisecond})
		r := newRetrier(t, retry.Config{MaxAttempts: 5, InitialDelay: time.Millisecond, MaxDelay: time.Second, Jitter: retry.NoJitter})
		up := &script{fail: func(i int) bool { return i < 2 }}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()

		start := time.Now()
		v, err := retryOutside(ctx, r, b, attempt, up.call)

		require.NoError(t, err, "the loop should wait out the open breaker and succeed on the probe")
		assert.Equal(t, "ok", v)
		assert.Equal(t, 3, up.calls, "the attempt that met the open breaker must not reach the upstream")
		assert.Equal(t, 102*time.Millisecond, time.Since(start), "two backoffs (1ms, 2ms), then the breaker's retry-after (98ms) and the probe margin")
		synctest.Wait() // the probe's success reaches the actor, which closes the breaker
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestRetryOutsideStopsAtOnceWhenRetryAfterIsPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, OpenTimeout: time.Minute})
		r := newRetrier(t, retry.Config{MaxAttempts: 10, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
		up := &script{fail: func(int) bool { return true }}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()

		start := time.Now()
		_, err := retryOutside(ctx, r, b, attempt, up.call)

		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, context.DeadlineExceeded, re.Reason, "the retry-after ends past the deadline")
		assert.ErrorIs(t, err, resilience.ErrOpen)
		assert.Equal(t, 2, up.calls, "only the attempts before the trip reach the upstream")
		assert.Equal(t, 3, re.Attempts)
		assert.Equal(t, 3*time.Millisecond, time.Since(start), "two backoffs (1ms, 2ms), then no sleep towards a retry-after the deadline cannot reach")
	})
}

func TestBreakerOutsideRefusesBeforeAnyAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(t, breaker.Config{FailureThreshold: 2, OpenTimeout: time.Minute})
		r := newRetrier(t, retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
		up := &script{fail: func(int) bool { return true }}
		ctx := context.Background()

		for range 2 {
			_, err := breakerOutside(ctx, r, b, attempt, up.call)
			require.Error(t, err)
		}
		synctest.Wait() // let the actor open the breaker
		require.Equal(t, breaker.Open, b.State(), "two failed retried calls open a threshold-2 breaker")
		require.Equal(t, 6, up.calls, "each retried call made its three attempts")

		_, err := breakerOutside(ctx, r, b, attempt, up.call)
		assert.ErrorIs(t, err, resilience.ErrOpen)
		assert.Equal(t, 6, up.calls, "an open breaker outside the retry makes no attempt")
	})
}

func TestWhatTheBreakerSeesOfAbsorbedFailures(t *testing.T) {
	// Every call's first attempt fails and its retry succeeds.
	for _, tc := range []struct {
		order    string
		run      composeFunc
		failures uint64
	}{
		{"breaker(retry(deadline))", breakerOutside[string], 0},
		{"retry(breaker(deadline))", retryOutside[string], 10},
	} {
		t.Run(tc.order, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{FailureThreshold: 2})
				r := newRetrier(t, retry.Config{MaxAttempts: 2, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
				up := &script{fail: func(i int) bool { return i%2 == 0 }}
				for range 10 {
					_, err := tc.run(context.Background(), r, b, attempt, up.call)
					require.NoError(t, err)
				}
				m := b.Metrics()
				assert.Equal(t, tc.failures, m.Failures, "failures the breaker counted")
				assert.Equal(t, uint64(10), m.Successes)
				assert.Equal(t, breaker.Closed, m.State, "alternating results never make a streak of two")
			})
		})
	}
}

func TestEachAttemptGetsItsOwnDeadline(t *testing.T) {
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker(t, breaker.Config{})
				r := newRetrier(t, retry.Config{MaxAttempts: 2, InitialDelay: time.Millisecond, Jitter: retry.NoJitter})
				var attempts int
				hangFirst := func(ctx context.Context, attempt int) (string, error) {
					attempts++
					if attempt == 1 {
						<-ctx.Done() // the upstream hangs; the attempt's deadline ends it
						return "", ctx.Err()
					}
					return "ok", nil
				}
				start := time.Now()
				v, err := o.run(context.Background(), r, b, attempt, hangFirst)
				require.NoError(t, err)
				assert.Equal(t, "ok", v)
				assert.Equal(t, 2, attempts)
				assert.Equal(t, attempt.Timeout+time.Millisecond, time.Since(start), "the hung attempt is cut at its own limit")
			})
		})
	}
}
