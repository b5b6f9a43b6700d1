package breaker

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/llm-research-lab/resilience"
)

// Metrics.Generation counts the calls of the current generation and starts
// again from zero at every state change; the lifetime counters do not.
func TestGenerationCounts(t *testing.T) {
	never := func(Counts) bool { return false }
	t.Run("with a trip rule", func(t *testing.T) { generationCounts(t, never, false) })
	t.Run("consecutive rule only", func(t *testing.T) { generationCounts(t, nil, true) })
}

// generationCounts runs TestGenerationCounts with rule as ReadyToTrip;
// runsLost says that ConsecutiveSuccesses reads 0 after the first failure
// (see Counts).
func generationCounts(t *testing.T, rule func(Counts) bool, runsLost bool) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := newTest(t, Config{FailureThreshold: 3, SuccessThreshold: 1, OpenTimeout: time.Second, ReadyToTrip: rule})
		calls := []struct {
			fn   func(context.Context) error
			want Counts
		}{
			{succeed, Counts{Requests: 1, Successes: 1, ConsecutiveSuccesses: 1}},
			{succeed, Counts{Requests: 2, Successes: 2, ConsecutiveSuccesses: 2}},
			{fail, Counts{Requests: 3, Successes: 2, Failures: 1, ConsecutiveFailures: 1}},
			{func(context.Context) error { return context.Canceled }, Counts{Requests: 3, Successes: 2, Failures: 1, ConsecutiveFailures: 1}},
			{fail, Counts{Requests: 4, Successes: 2, Failures: 2, ConsecutiveFailures: 2}},
			{succeed, Counts{Requests: 5, Successes: 3, Failures: 2, ConsecutiveSuccesses: 1}},
			{succeed, Counts{Requests: 6, Successes: 4, Failures: 2, ConsecutiveSuccesses: 2}},
		}
		for i, c := range calls {
			_ = b.Run(ctx, c.fn)
			if runsLost && i >= 2 {
				c.want.ConsecutiveSuccesses = 0
			}
			require.Equal(t, c.want, b.Metrics().Generation, "after call %d", i+1)
		}
		failN(t, b, 3)
		synctest.Wait()
		m := b.Metrics()
		require.Equal(t, Open, m.State)
		assert.Equal(t, Counts{}, m.Generation, "a trip starts a new generation")
		assert.Equal(t, uint64(5), m.Failures, "the lifetime counters go on")

		time.Sleep(time.Second + probeMargin)
		synctest.Wait()
		require.Equal(t, HalfOpen, b.State())
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		m = b.Metrics()
		require.Equal(t, Closed, m.State)
		assert.Equal(t, Counts{}, m.Generation, "closing starts another")
		assert.Equal(t, uint64(5), m.Successes)
	})
}

// Half-open probes are counted in the half-open generation.
func TestGenerationCountsInHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := newTest(t, Config{SuccessThreshold: 3, HalfOpenFailureThreshold: 3})
		require.NoError(t, b.ForceHalfOpen(ctx))
		require.NoError(t, b.Run(ctx, succeed))
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		synctest.Wait()
		assert.Equal(t, Counts{Requests: 3, Successes: 1, Failures: 2, ConsecutiveFailures: 2}, b.Metrics().Generation)
	})
}

// readyToTrip is gobreaker's documented example rule: at least 3 requests
// and a failure ratio of at least 0.6.
func readyToTrip(c Counts) bool {
	return c.Requests >= 3 && float64(c.Failures)/float64(c.Requests) >= 0.6
}

func TestReadyToTrip(t *testing.T) {
	cases := []struct {
		name  string
		calls []bool // true: success
		trips int    // the call after which the breaker is open; 0 for none
	}{
		{"two failures are not enough requests", []bool{false, false}, 0},
		{"third failure trips", []bool{false, false, false}, 3},
		{"ratio below 0.6 holds", []bool{true, true, false, false}, 0},
		{"ratio reaches 0.6", []bool{true, true, false, false, false}, 5},
		{"successes never trip", []bool{false, false, true, true, true, true}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			events := make(chan Event, 4)
			b := newTest(t, Config{ReadyToTrip: readyToTrip, Events: events})
			for i, ok := range tc.calls {
				fn := fail
				if ok {
					fn = succeed
				}
				err := b.Run(ctx, fn)
				require.NotErrorIs(t, err, resilience.ErrOpen, "call %d", i+1)
				if i+1 == tc.trips {
					require.Equal(t, Open, b.State(), "open as the tripping call returns")
					require.Equal(t, reasonTripRule, (<-events).Reason)
				}
			}
			if tc.trips == 0 {
				assert.Equal(t, Closed, b.State())
			}
		})
	}
}

// With ReadyToTrip set and no FailureThreshold, consecutive failures alone
// do not trip; with both, either does.
func TestReadyToTripReplacesTheDefaultThreshold(t *testing.T) {
	never := func(Counts) bool { return false }
	b := newTest(t, Config{ReadyToTrip: never})
	failN(t, b, 20)
	assert.Equal(t, Closed, b.State())
	b = newTest(t, Config{ReadyToTrip: never, FailureThreshold: 2})
	failN(t, b, 2)
	assert.Equal(t, Open, b.State())
}

// The failure that makes the rule true returns only once the breaker is
// open, however the goroutines interleave.
func TestReadyToTripRejectsTheNextSequentialCall(t *testing.T) {
	tripsBeforeReturning(t, Config{ReadyToTrip: readyToTrip}, 2, 3, 500)
}

// A panicking trip rule does not kill the breaker: the panic is raised
// again in the failing caller, as a *resilience.PanicError, and the
// breaker goes on.
func TestReadyToTripPanic(t *testing.T) {
	ctx := context.Background()
	panics := true
	b := newTest(t, Config{ReadyToTrip: func(c Counts) bool {
		if panics {
			panic("bad rule")
		}
		return c.Failures >= 2
	}})
	var got any
	func() {
		defer func() { got = recover() }()
		_ = b.Run(ctx, fail)
	}()
	var pe *resilience.PanicError
	require.True(t, errors.As(asError(got), &pe), "the caller gets a *PanicError, got %v", got)
	assert.Equal(t, "bad rule", pe.Value)
	assert.NotEmpty(t, pe.Stack)
	assert.Equal(t, Closed, b.State(), "a panicking rule does not trip")
	assert.NoError(t, b.Err(), "nor does it stop the breaker")

	panics = false
	require.ErrorIs(t, b.Run(ctx, fail), errBoom)
	assert.Equal(t, Open, b.State(), "the rule judges the next failure")
	assert.Equal(t, uint64(2), b.Metrics().Failures)
}

func asError(v any) error {
	err, _ := v.(error)
	return err
}

// ForceHalfOpen lets probes through at once, from any state, and their
// results decide as after an open timeout.
func TestForceHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		events := make(chan Event, 8)
		b := newTest(t, Config{SuccessThreshold: 1, OpenTimeout: time.Hour, Events: events})
		require.NoError(t, b.ForceOpen(ctx))
		require.NoError(t, b.ForceHalfOpen(ctx))
		<-events
		ev := <-events
		assert.Equal(t, Event{Name: "breaker", From: Open, To: HalfOpen, Reason: reasonForceHalfOpen, Generation: 3, At: ev.At}, ev)
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		synctest.Wait()
		assert.Equal(t, Open, b.State(), "a probe failure reopens")
		assert.Equal(t, reasonProbeFailed, (<-events).Reason)

		require.NoError(t, b.ForceHalfOpen(ctx))
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		assert.Equal(t, Closed, b.State(), "a probe success closes")

		require.NoError(t, b.Stop(ctx))
		var re *resilience.RejectedError
		require.ErrorAs(t, b.ForceHalfOpen(ctx), &re)
		assert.ErrorIs(t, re, resilience.ErrStopped)
	})
}

// A half-open success ratio through real calls: 3 of 4 probes succeed
// against a ratio of 0.75, so the breaker closes after the fourth.
func TestHalfOpenSuccessRatio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := newTest(t, Config{HalfOpenSuccessRatio: 0.75, SuccessThreshold: 4, HalfOpenMaxRequests: 1})
		require.NoError(t, b.ForceHalfOpen(ctx))
		for _, fn := range []func(context.Context) error{succeed, fail, succeed} {
			_ = b.Run(ctx, fn)
			synctest.Wait()
			require.Equal(t, HalfOpen, b.State())
		}
		require.NoError(t, b.Run(ctx, succeed))
		synctest.Wait()
		assert.Equal(t, Closed, b.State())

		require.NoError(t, b.ForceHalfOpen(ctx))
		for _, fn := range []func(context.Context) error{succeed, fail, fail, succeed} {
			_ = b.Run(ctx, fn)
			synctest.Wait()
		}
		assert.Equal(t, Open, b.State(), "2 of 4 is below 0.75")
	})
}

// failureLog is pure: a table of failure counts and ages.
func TestFailureLogTable(t *testing.T) {
	s := time.Second
	cases := []struct {
		name  string
		obs   [][2]int64 // running failure count, age in seconds
		trips []bool
	}{
		{"three within the period", [][2]int64{{1, 0}, {2, 4}, {3, 10}}, []bool{false, false, true}},
		{"three spread too far", [][2]int64{{1, 0}, {2, 4}, {3, 11}}, []bool{false, false, false}},
		{"the oldest slides out", [][2]int64{{1, 0}, {2, 4}, {3, 11}, {4, 12}}, []bool{false, false, false, true}},
		{"a burst seen at once", [][2]int64{{3, 7}}, []bool{true}},
		{"more than the threshold at once", [][2]int64{{1000, 7}}, []bool{true}},
		{"counts never go back", [][2]int64{{2, 0}, {1, 5}, {3, 9}}, []bool{false, false, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newFailureLog(Config{FailurePeriod: 10 * s, FailureThreshold: 3})
			for i, o := range tc.obs {
				assert.Equal(t, tc.trips[i], l.observe(uint64(o[0]), time.Duration(o[1])*s), "observation %d", i)
			}
		})
	}
}

// FailurePeriod: three failures within ten seconds open the breaker,
// successes in between or not; three spread over more do not.
func TestFailurePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		events := make(chan Event, 4)
		b := newTest(t, Config{FailureThreshold: 3, FailurePeriod: 10 * time.Second, Events: events})
		for range 3 {
			require.ErrorIs(t, b.Run(ctx, fail), errBoom)
			require.NoError(t, b.Run(ctx, succeed))
			time.Sleep(5500 * time.Millisecond)
		}
		require.Equal(t, Closed, b.State(), "failures 5.5s apart: never three within 10s")
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		require.NoError(t, b.Run(ctx, succeed))
		time.Sleep(4 * time.Second)
		require.ErrorIs(t, b.Run(ctx, fail), errBoom)
		assert.Equal(t, Open, b.State(), "three failures within 9.5s, with successes between")
		assert.Equal(t, reasonFailurePeriod, (<-events).Reason)
	})
}

func TestFailurePeriodRejectsTheNextSequentialCall(t *testing.T) {
	tripsBeforeReturning(t, Config{FailureThreshold: 3, FailurePeriod: time.Hour}, 1, 3, 500)
}

func TestNewOptionsAreValidated(t *testing.T) {
	rule := func(Counts) bool { return false }
	cases := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"ratio above 1", Config{HalfOpenSuccessRatio: 1.5}, "HalfOpenSuccessRatio"},
		{"negative ratio", Config{HalfOpenSuccessRatio: -0.5}, "HalfOpenSuccessRatio"},
		{"NaN ratio", Config{HalfOpenSuccessRatio: math.NaN()}, "HalfOpenSuccessRatio"},
		{"negative half-open failures", Config{HalfOpenFailureThreshold: -1}, "HalfOpenFailureThreshold"},
		{"negative period", Config{FailurePeriod: -time.Second}, "FailurePeriod"},
		{"period without a threshold", Config{FailurePeriod: time.Second, ReadyToTrip: rule}, "FailurePeriod"},
		{"period with a huge threshold", Config{FailurePeriod: time.Second, FailureThreshold: 1 << 20}, "FailureThreshold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var ce *resilience.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "breaker.Config."+tc.field, ce.Field)
		})
	}
}

// The refusal of a breaker whose actor died matches ErrStopped and reaches
// the failure through one chain: no error on the way wraps two.
func TestStoppedRefusalChainIsSingle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{FailureThreshold: 1})
		require.NoError(t, err)
		crash(t, b)
		err = b.Run(context.Background(), succeed)
		assert.ErrorIs(t, err, resilience.ErrStopped)
		assert.ErrorIs(t, err, resilience.ErrRejected)
		var pe *resilience.PanicError
		assert.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, errCrash)
		for e := err; e != nil; e = errors.Unwrap(e) {
			_, multi := e.(interface{ Unwrap() []error })
			require.False(t, multi, "%T wraps several errors", e)
		}
		assert.Contains(t, err.Error(), "stopped")
		assert.Contains(t, err.Error(), errCrash.Error())
	})
}

// failureLog against a model that keeps every failure's time: the log
// trips exactly when the last FailureThreshold failures fit in the period.
func TestFailureLogProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		threshold := rapid.IntRange(1, 6).Draw(rt, "threshold")
		period := time.Duration(rapid.IntRange(1, 20).Draw(rt, "period"))
		l := newFailureLog(Config{FailurePeriod: period, FailureThreshold: threshold})
		var times []time.Duration // every failure, as the model places it
		var now time.Duration
		steps := rapid.SliceOfN(rapid.IntRange(0, 4), 1, 60).Draw(rt, "steps")
		for _, s := range steps {
			now += time.Duration(rapid.IntRange(0, 8).Draw(rt, "advance"))
			for range s { // s failures seen at once
				times = append(times, now)
			}
			want := len(times) >= threshold && now-times[len(times)-threshold] <= period
			if got := l.observe(uint64(len(times)), now); got != want {
				rt.Fatalf("at %v with failures at %v: got %v, want %v", now, times, got, want)
			}
		}
	})
}
