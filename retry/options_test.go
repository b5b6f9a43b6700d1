package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-research-lab/resilience"
)

// Immediate retries at once with every Jitter, and still honours a
// server-directed wait.
func TestImmediateBackoff(t *testing.T) {
	for _, j := range []Jitter{FullJitter, NoJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter} {
		r := mustNew(t, Config{Backoff: Immediate, Jitter: j})
		for _, n := range []int{1, 2, 30, math.MaxInt} {
			require.Zero(t, r.Delay(n, errBoom, time.Second), "%v attempt %d", j, n)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{Backoff: Immediate, MaxAttempts: 3})
		start := time.Now()
		calls := 0
		err := r.Run(context.Background(), func(ctx context.Context) error {
			calls++
			if calls == 1 {
				return resilience.RetryAfter(errBoom, time.Second)
			}
			return errBoom
		})
		assert.Equal(t, 3, asError(t, err).Attempts)
		assert.Equal(t, time.Second, time.Since(start), "only the hinted wait is waited")
	})
}

// errSlowDown is an error that carries what a Delay function needs.
type errSlowDown struct{ factor int }

func (e *errSlowDown) Error() string { return "slow down" }

// Config.Delay sees each attempt's error, so the wait can depend on what
// the dependency said.
func TestDelaySeesTheError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []error
		r := mustNew(t, Config{MaxAttempts: 4, Delay: func(n int, err error, prev time.Duration) time.Duration {
			seen = append(seen, err)
			var s *errSlowDown
			if errors.As(err, &s) {
				return time.Duration(s.factor) * time.Second
			}
			return time.Millisecond
		}})
		errs := []error{&errSlowDown{factor: 2}, errBoom, &errSlowDown{factor: 5}, errBoom}
		start := time.Now()
		calls := 0
		err := r.Run(context.Background(), func(context.Context) error { calls++; return errs[calls-1] })
		require.Error(t, err)
		assert.Equal(t, errs[:3], seen, "Delay gets each failed attempt's own error")
		assert.Equal(t, 7*time.Second+time.Millisecond, time.Since(start))
	})
}

// ProportionalJitter draws from [d·(1−f), d·(1+f)], capped at MaxDelay,
// with the injected word deciding where.
func TestProportionalJitterTable(t *testing.T) {
	cases := []struct {
		name   string
		factor float64
		n      int
		u      uint64
		want   time.Duration
	}{
		{"default factor, lowest", 0, 1, 0, 50 * ms},
		{"default factor, highest", 0, 1, math.MaxUint64, 150 * ms},
		{"default factor, second attempt, lowest", 0, 2, 0, 100 * ms},
		{"factor 1, lowest", 1, 1, 0, 0},
		{"factor 1, highest", 1, 1, math.MaxUint64, 200 * ms},
		{"capped at MaxDelay", 0.5, 4, math.MaxUint64, 1000 * ms},
		{"low end below the cap", 0.5, 4, 0, 400 * ms},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, Config{Jitter: ProportionalJitter, JitterFactor: tc.factor, MaxDelay: time.Second})
			assert.Equal(t, tc.want, r.b.compute(tc.n, 0, tc.u))
		})
	}
}

// The mean of ProportionalJitter is the backoff delay, and every draw is
// within its band.
func TestProportionalJitterDistribution(t *testing.T) {
	r := mustNew(t, Config{Jitter: ProportionalJitter, JitterFactor: 0.25, InitialDelay: time.Second, MaxDelay: time.Minute,
		Rand: rand.NewPCG(3, 4)})
	const draws = 100_000
	var sum float64
	for range draws {
		d := r.Delay(1, nil, 0)
		require.GreaterOrEqual(t, d, 750*ms)
		require.LessOrEqual(t, d, 1250*ms)
		sum += float64(d)
	}
	mean := sum / draws
	sigma := float64(500*ms) / math.Sqrt(12) / math.Sqrt(draws)
	assert.InDelta(t, float64(time.Second), mean, 5*sigma, "the mean is the delay itself")
}

func TestNewOptionsRefused(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"factor above 1", Config{Jitter: ProportionalJitter, JitterFactor: 1.5}, "JitterFactor"},
		{"negative factor", Config{Jitter: ProportionalJitter, JitterFactor: -0.1}, "JitterFactor"},
		{"NaN factor", Config{Jitter: ProportionalJitter, JitterFactor: math.NaN()}, "JitterFactor"},
		{"factor without proportional jitter", Config{JitterFactor: 0.3}, "JitterFactor"},
		{"negative max elapsed", Config{MaxElapsed: -time.Second}, "MaxElapsed"},
		{"unknown backoff", Config{Backoff: Immediate + 1}, "Backoff"},
		{"unknown jitter", Config{Jitter: ProportionalJitter + 1}, "Jitter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "retry.Config."+tc.field, ce.Field)
		})
	}
}

// decide stops a wait that would end past MaxElapsed, and lets one that
// ends exactly at it start.
func TestDecideMaxElapsedTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := mustNew(t, Config{Jitter: NoJitter, MaxAttempts: 10})
	cases := []struct {
		name string
		end  time.Time
		stop bool
	}{
		{"no limit", time.Time{}, false},
		{"wait ends before the limit", now.Add(101 * ms), false},
		{"wait ends at the limit", now.Add(100 * ms), false},
		{"wait ends past the limit", now.Add(99 * ms), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := r.decide(nil, 1, errBoom, 0, now, time.Time{}, tc.end)
			assert.Equal(t, tc.stop, v.stop)
			if tc.stop {
				assert.ErrorIs(t, v.reason, resilience.ErrExhausted)
			}
		})
	}
}

// MaxElapsed counts from the start of the first attempt, through Run and
// through a Plan, and the stop matches ErrExhausted.
func TestMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustNew(t, Config{MaxAttempts: math.MaxInt, Backoff: Constant, Jitter: NoJitter,
			InitialDelay: time.Second, MaxElapsed: 10 * time.Second})
		start := time.Now()
		calls := 0
		err := r.Run(context.Background(), func(context.Context) error {
			calls++
			time.Sleep(time.Second) // each attempt takes a second of virtual time
			return errBoom
		})
		re := asError(t, err)
		assert.ErrorIs(t, err, resilience.ErrExhausted)
		assert.ErrorIs(t, err, errBoom)
		assert.Equal(t, 6, calls, "attempts at 0s, 2s, ... 10s; the wait after the sixth would end at 12s")
		assert.Equal(t, 11*time.Second, time.Since(start))
		assert.Equal(t, 11*time.Second, re.Elapsed, "timed from the start of the first attempt")
		assert.Contains(t, err.Error(), "max elapsed")

		s := r.Plan(context.Background())
		start = time.Now() // the plan starts its clock at Plan
		n := 0
		for {
			time.Sleep(time.Second)
			n++
			wait, again := s.Next(errBoom)
			if !again {
				break
			}
			time.Sleep(wait)
		}
		assert.Equal(t, 6, n, "a Plan stops where Run does")
		assert.Equal(t, 11*time.Second, time.Since(start))
		assert.ErrorIs(t, s.Err(), resilience.ErrExhausted)
	})
}

// MaxElapsed as large as a Duration goes does not overflow.
func TestMaxElapsedHuge(t *testing.T) {
	r := mustNew(t, Config{MaxAttempts: 3, Backoff: Immediate, MaxElapsed: math.MaxInt64})
	err := r.Run(context.Background(), func(context.Context) error { return errBoom })
	assert.Equal(t, 3, asError(t, err).Attempts)
	assert.Same(t, resilience.ErrExhausted, asError(t, err).Reason)
}

var errRefused = errors.New("connection refused")

// AttemptsFor sets the limit from the latest error; 0 falls back to
// MaxAttempts.
func TestAttemptsFor(t *testing.T) {
	limits := func(err error) int {
		if errors.Is(err, errRefused) {
			return 2
		}
		return 0
	}
	cases := []struct {
		name  string
		errs  []error // attempt k returns errs[min(k, len)-1]
		calls int
	}{
		{"limited error stops at its limit", []error{errRefused}, 2},
		{"other errors use MaxAttempts", []error{errBoom}, 6},
		{"the latest error decides", []error{errBoom, errBoom, errBoom, errRefused}, 4},
		{"a limited error then others", []error{errRefused, errBoom}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, Config{MaxAttempts: 6, Backoff: Immediate, AttemptsFor: limits})
			calls := 0
			err := r.Run(context.Background(), func(context.Context) error {
				calls++
				return tc.errs[min(calls, len(tc.errs))-1]
			})
			assert.Equal(t, tc.calls, calls)
			assert.Same(t, resilience.ErrExhausted, asError(t, err).Reason)
		})
	}
}
